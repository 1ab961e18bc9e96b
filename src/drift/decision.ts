import { maxPriority } from './levels.js';
import type { ManifestProposal } from './manifest-proposal.js';
import type { DriftDecision, DriftThresholds, PendingServer, Priority, UnknownRate } from './types.js';
import type { ModelAge } from './model-age.js';
import type { ModelVocabulary } from './vocabulary.js';

/** Everything the retrain decision weighs, already measured. */
export interface DecisionFacts {
  model: ModelVocabulary;
  vocabularySize: number;
  driftPct: number;
  driftLevel: Priority;
  newCount: number;
  sunsetCount: number;
  rate: UnknownRate | null;
  age: ModelAge;
  stale: boolean;
  pending: PendingServer[];
  t: DriftThresholds;
  manifest: ManifestProposal;
}

const plural = (n: number, word: string): string =>
  `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
const pct = (n: number): string => `${n.toFixed(2)}%`;

const DRIFT_ACTION: Record<Priority, string> = {
  none: 'no retraining needed for drift',
  low: 'schedule retraining in the next maintenance window',
  medium: 'retrain within 24 hours',
  high: 'retrain immediately',
};

/** A trigger's verdict: the sentence for the report and the priority it asks for. */
type Finding = { reason: string; priority: Priority };

/** Every trigger, in words and numbers; retrain when any trigger fires. */
export function decide(f: DecisionFacts): DriftDecision {
  const findings = [
    driftFinding(f),
    unknownRateFinding(f),
    ageFinding(f),
    pendingFinding(f),
    manifestFinding(f),
  ].filter((x): x is Finding => x !== null);
  const reasons = findings.map((x) => x.reason);
  const priority = maxPriority(...findings.map((x) => x.priority));
  const retrain = priority !== 'none';
  if (!retrain) reasons.push('No trigger fired: no retraining needed.');
  return { retrain, priority, reasons };
}

function driftFinding(f: DecisionFacts): Finding {
  const { t } = f;
  if (!f.model.deployed) {
    const trainable = f.manifest.manifest.servers.length;
    return {
      reason: `No model is deployed (${f.model.source}): train the first model on the ${plural(trainable, 'eligible server')}.`,
      priority: 'high',
    };
  }
  const band =
    f.driftLevel === 'high'
      ? `above ${t.high_drift_above_pct}%`
      : f.driftLevel === 'medium'
        ? `${t.medium_drift_pct}–${t.high_drift_above_pct}%`
        : f.driftLevel === 'low'
          ? `${t.low_drift_pct}–${t.medium_drift_pct}%`
          : `under the ${t.low_drift_pct}% low threshold`;
  const model = f.model.id === null ? 'the model' : `model ${f.model.id}`;
  return {
    reason:
      `Fleet drift is ${pct(f.driftPct)}: (${plural(f.newCount, 'new server')} + ${plural(f.sunsetCount, 'sunset server')}) / ` +
      `${plural(f.vocabularySize, 'server')} in ${model}'s vocabulary, ${band}, so priority is ${f.driftLevel}: ${DRIFT_ACTION[f.driftLevel]}.`,
    priority: f.driftLevel,
  };
}

function unknownRateFinding(f: DecisionFacts): Finding | null {
  const { t, rate } = f;
  if (rate === null) return null;
  const band =
    rate.level === 'critical'
      ? `above the ${t.unknown_critical_above_pct}% critical threshold`
      : rate.level === 'warning'
        ? `between the ${t.unknown_warning_pct}% warning and ${t.unknown_critical_above_pct}% critical thresholds`
        : `under the ${t.unknown_warning_pct}% warning threshold`;
  const measured =
    `Unknown-server predictions are ${pct(rate.rate_pct)} (${rate.unknown.toLocaleString('en-US')} of ` +
    `${rate.total.toLocaleString('en-US')}, from ${rate.source}), ${band}: ${rate.level}`;
  if (rate.level !== 'acceptable' && learnableServers(f) === 0)
    // A retrain learns only the proposed manifest's servers; when the model knows them all, the
    // unknown predictions come from servers it cannot add yet (pending, or not in the fleet).
    return {
      reason: `${measured}, but every server of the proposed manifest is already in the model's vocabulary: a retrain would not change them (they come from servers that are not eligible yet or not in the fleet), so this trigger does not ask for one.`,
      priority: 'none',
    };
  return {
    reason: `${measured}.`,
    priority: rate.level === 'critical' ? 'high' : rate.level === 'warning' ? 'medium' : 'none',
  };
}

/** Servers of the proposed manifest that the deployed model does not know: what a retrain adds. */
function learnableServers(f: DecisionFacts): number {
  const known = new Set(f.model.servers);
  return f.manifest.manifest.servers.filter((s) => !known.has(s.name)).length;
}

function ageFinding(f: DecisionFacts): Finding | null {
  const { t } = f;
  const { ageDays, from, since, note } = f.age;
  if (ageDays === null)
    // Data (or creation) after now: no age, so the staleness rule cannot apply; say so.
    return note === null
      ? null
      : {
          reason: `Model age: ${note}; the ${t.max_model_age_days}-day staleness rule is not applied.`,
          priority: 'none',
        };
  const basis =
    from === 'created_at'
      ? `counted from its creation, ${since}: its training_info.json does not say when its data ends`
      : `counted from the end of its training data, ${since}`;
  if (f.stale)
    return {
      reason: `The model is ${ageDays.toFixed(1)} days old, more than the ${t.max_model_age_days}-day limit (${basis}), and the fleet has changed since: the model is stale.`,
      priority: 'low',
    };
  if (ageDays > t.max_model_age_days)
    return {
      reason: `The model is ${ageDays.toFixed(1)} days old (limit ${t.max_model_age_days}; ${basis}) but the fleet has not changed, so it is not stale.`,
      priority: 'none',
    };
  return null;
}

function pendingFinding(f: DecisionFacts): Finding | null {
  const { t, pending } = f;
  if (pending.length === 0) return null;
  const dates = pending
    .map((p) => p.eligible_at)
    .filter((d): d is string => d !== null)
    .sort();
  const earliest = dates.length > 0 ? ` The earliest becomes eligible on ${dates[0]!.slice(0, 10)}.` : '';
  return {
    reason:
      `${plural(pending.length, 'new server')} ${pending.length === 1 ? 'is' : 'are'} pending: not yet ` +
      `${t.minimum_history_days} days of history and ${t.minimum_samples.toLocaleString('en-US')} samples, so ` +
      `${pending.length === 1 ? 'it stays' : 'they stay'} out of the manifest and the drift count.${earliest}`,
    priority: 'none',
  };
}

function manifestFinding(f: DecisionFacts): Finding | null {
  const { delta, change, manifest } = f.manifest;
  if (delta.changed === null || delta.compared_with === null) return null;
  return {
    reason: delta.changed
      ? `The manifest ${delta.compared_with} would change: +${change.added.length} added, −${change.removed.length} removed, ${change.changed.length} profile changes (${manifest.servers.length} servers).`
      : `The manifest ${delta.compared_with} is up to date (${plural(manifest.servers.length, 'server')}).`,
    priority: 'none',
  };
}
