import { MS_PER_DAY } from '../metrics/contract.js';
import { boundedValue, round2, type FleetServer } from '../fleet/assess.js';
import { proposeManifest, renderManifest, type Manifest } from '../fleet/manifest.js';
import type { RejectedServer } from '../metrics/summary.js';
import type { RetrainConfig } from '../config/retrain-config.js';
import type {
  DriftReport,
  DriftThresholds,
  NewServer,
  PendingServer,
  Priority,
  SilentServer,
  SunsetServer,
  UnknownRate,
  UnknownRateLevel,
} from './types.js';
import type { UnknownCounts } from './unknown-rate.js';
import type { ModelVocabulary } from './vocabulary.js';

/**
 * The drift engine's pure core. Definitions (docs/drift.md):
 * - new server: in the metrics, not in the model's vocabulary, eligible for training and not
 *   sunset-confirmed; not yet eligible → pending (listed with eligible_at, not counted).
 * - sunset server: in the vocabulary and sunset-confirmed, or with no metrics in the source.
 * - drift % = (new + sunset) / servers in the vocabulary × 100, rounded to 2 decimals; every
 *   threshold is compared with that rounded value, so the report and the decision agree.
 */

/** Fleet drift = (new + sunset) / known × 100: sets in, percentage (2 decimals) out. */
export function fleetDrift(
  current: Iterable<string>,
  model: Iterable<string>,
): {
  drift_pct: number;
  new_servers: string[];
  sunset_servers: string[];
  total_current: number;
  total_model: number;
} {
  const currentSet = new Set(current);
  const modelSet = new Set(model);
  const newServers = [...currentSet].filter((s) => !modelSet.has(s)).sort();
  const sunsetServers = [...modelSet].filter((s) => !currentSet.has(s)).sort();
  return {
    drift_pct: driftPercent(newServers.length + sunsetServers.length, modelSet.size),
    new_servers: newServers,
    sunset_servers: sunsetServers,
    total_current: currentSet.size,
    total_model: modelSet.size,
  };
}

export function driftPercent(changed: number, known: number): number {
  return known === 0 ? 0 : round2((changed / known) * 100);
}

/** Low from 10 % (inclusive), medium from 20 % to 35 % (both inclusive), high above 35 %. */
export function driftPriority(driftPct: number, t: DriftThresholds): Priority {
  if (driftPct > t.high_drift_above_pct) return 'high';
  if (driftPct >= t.medium_drift_pct) return 'medium';
  if (driftPct >= t.low_drift_pct) return 'low';
  return 'none';
}

/** Acceptable under 5 %, warning from 5 % to 15 % (both inclusive), critical above 15 %. */
export function unknownRateLevel(ratePct: number, t: DriftThresholds): UnknownRateLevel {
  if (ratePct > t.unknown_critical_above_pct) return 'critical';
  if (ratePct >= t.unknown_warning_pct) return 'warning';
  return 'acceptable';
}

export function unknownRate(counts: UnknownCounts, t: DriftThresholds): UnknownRate {
  const ratePct = counts.total === 0 ? 0 : round2((counts.unknown / counts.total) * 100);
  return {
    unknown: counts.unknown,
    total: counts.total,
    rate_pct: ratePct,
    level: unknownRateLevel(ratePct, t),
    source: counts.source,
  };
}

export function thresholdsOf(config: RetrainConfig): DriftThresholds {
  return {
    low_drift_pct: config.low_drift_pct,
    medium_drift_pct: config.medium_drift_pct,
    high_drift_above_pct: config.high_drift_above_pct,
    unknown_warning_pct: config.unknown_warning_pct,
    unknown_critical_above_pct: config.unknown_critical_above_pct,
    max_model_age_days: config.max_model_age_days,
    offline_hours: config.offline_hours,
    sunset_candidate_days: config.sunset_candidate_days,
    sunset_confirmed_days: config.sunset_confirmed_days,
    minimum_history_days: config.minimum_history_days,
    minimum_samples: config.minimum_samples,
  };
}

export function maxPriority(...priorities: Priority[]): Priority {
  const order: Priority[] = ['none', 'low', 'medium', 'high'];
  return priorities.reduce<Priority>((a, b) => (order.indexOf(b) > order.indexOf(a) ? b : a), 'none');
}

export interface DriftInput {
  now: Date;
  generatedAt: Date;
  source: string;
  configSource: string;
  fleet: readonly FleetServer[];
  rejected: readonly RejectedServer[];
  model: ModelVocabulary;
  unknownCounts: UnknownCounts | null;
  thresholds: DriftThresholds;
  /** The manifest file to compare with (path and content), if any. */
  currentManifest: { path: string; manifest: Manifest | null } | null;
  warnings?: string[];
}

const iso = (d: Date): string => d.toISOString();

export function computeDrift(input: DriftInput): DriftReport {
  const { now, fleet, model, thresholds: t } = input;
  const vocabulary = new Set(model.servers);
  const byName = new Map(fleet.map((s) => [s.name, s]));

  const newServers: NewServer[] = [];
  const pending: PendingServer[] = [];
  const silent: SilentServer[] = [];
  for (const s of fleet) {
    if (s.status === 'offline' || s.status === 'sunset_candidate')
      silent.push({
        name: s.name,
        profile: s.profile,
        last_seen: iso(s.lastSeen),
        days_silent: round2(s.daysSilent),
        status: s.status,
        in_model: vocabulary.has(s.name),
      });
    if (vocabulary.has(s.name) || s.status === 'sunset_confirmed') continue;
    const common = {
      name: s.name,
      profile: s.profile,
      first_seen: iso(s.firstSeen),
      samples: s.samples,
      history_days: round2(s.historyDays),
    };
    if (s.eligible) newServers.push(common);
    else
      pending.push({
        ...common,
        eligible_at: s.eligibleAt === null ? null : iso(s.eligibleAt),
        reason: s.pendingReasons.join('; '),
      });
  }
  const sunset: SunsetServer[] = [...vocabulary].sort().flatMap((name): SunsetServer[] => {
    const s = byName.get(name);
    if (s === undefined)
      return [{ name, profile: null, last_seen: null, days_silent: null, status: 'absent' }];
    if (s.status !== 'sunset_confirmed') return [];
    return [
      {
        name,
        profile: s.profile,
        last_seen: iso(s.lastSeen),
        days_silent: round2(s.daysSilent),
        status: 'sunset_confirmed',
      },
    ];
  });

  const driftPct = driftPercent(newServers.length + sunset.length, vocabulary.size);
  const driftLevel = model.deployed ? driftPriority(driftPct, t) : 'none';
  const rate = input.unknownCounts === null ? null : unknownRate(input.unknownCounts, t);
  const ageDays =
    model.trainedAt === null ? null : round2((now.getTime() - model.trainedAt.getTime()) / MS_PER_DAY);
  const fleetChanged = newServers.length + sunset.length > 0;
  const stale = ageDays !== null && ageDays > t.max_model_age_days && fleetChanged;

  const proposal = proposeManifest(input.currentManifest?.manifest ?? null, fleet);
  const manifestChanged =
    input.currentManifest === null
      ? null
      : input.currentManifest.manifest === null ||
        renderManifest(input.currentManifest.manifest) !== renderManifest(proposal.manifest);

  const counts = {
    total: fleet.length,
    active: 0,
    offline: 0,
    sunset_candidate: 0,
    sunset_confirmed: 0,
    eligible: fleet.filter((s) => s.eligible).length,
    pending: pending.length,
    rejected: input.rejected.length,
  };
  for (const s of fleet) counts[s.status]++;

  const { retrain, priority, reasons } = decide({
    model,
    vocabularySize: vocabulary.size,
    driftPct,
    driftLevel,
    newCount: newServers.length,
    sunsetCount: sunset.length,
    rate,
    ageDays,
    stale,
    fleetChanged,
    pending,
    trainable: proposal.manifest.servers.length,
    t,
    manifestChanged,
    manifestDelta: proposal,
    manifestPath: input.currentManifest?.path ?? null,
  });
  const warnings = [...(input.warnings ?? [])];
  if (input.rejected.length > 0)
    warnings.push(
      `${input.rejected.length} server name${input.rejected.length === 1 ? '' : 's'} in the metrics ` +
        `failed validation and ${input.rejected.length === 1 ? 'was' : 'were'} left out (see rejected_servers)`,
    );

  return {
    format_version: 1,
    generated_at: iso(input.generatedAt),
    now: iso(now),
    source: input.source,
    config_source: input.configSource,
    model: {
      id: model.id,
      source: model.source,
      deployed: model.deployed,
      servers: vocabulary.size,
      trained_at: model.trainedAt === null ? null : iso(model.trainedAt),
      age_days: ageDays,
    },
    fleet: counts,
    drift_pct: driftPct,
    drift_priority: driftLevel,
    priority,
    new_servers: newServers,
    sunset_servers: sunset,
    silent_servers: silent,
    pending_servers: pending,
    rejected_servers: input.rejected.map((r) => ({
      value: boundedValue(r.value),
      problem: r.problem,
      samples: r.samples,
    })),
    unknown_rate: rate,
    model_age_days: ageDays,
    stale,
    thresholds: t,
    decision: { retrain, priority, reasons },
    reasons,
    manifest: proposal.manifest,
    manifest_change: {
      compared_with: input.currentManifest?.path ?? null,
      changed: manifestChanged,
      added: proposal.added.map((s) => s.name),
      removed: proposal.removed.map((s) => s.name),
      profile_changed: proposal.changed.map(([, after]) => after.name),
    },
    warnings,
  };
}

interface DecisionFacts {
  model: ModelVocabulary;
  vocabularySize: number;
  driftPct: number;
  driftLevel: Priority;
  newCount: number;
  sunsetCount: number;
  rate: UnknownRate | null;
  ageDays: number | null;
  stale: boolean;
  fleetChanged: boolean;
  pending: PendingServer[];
  trainable: number;
  t: DriftThresholds;
  manifestChanged: boolean | null;
  manifestDelta: ReturnType<typeof proposeManifest>;
  manifestPath: string | null;
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

/** Every trigger, in words and numbers; retrain when any trigger fires. */
function decide(f: DecisionFacts): { retrain: boolean; priority: Priority; reasons: string[] } {
  const { t } = f;
  const reasons: string[] = [];
  let priority: Priority = 'none';

  if (!f.model.deployed) {
    priority = 'high';
    reasons.push(
      `No model is deployed (${f.model.source}): train the first model on the ${plural(f.trainable, 'eligible server')}.`,
    );
  } else {
    const band =
      f.driftLevel === 'high'
        ? `above ${t.high_drift_above_pct}%`
        : f.driftLevel === 'medium'
          ? `${t.medium_drift_pct}–${t.high_drift_above_pct}%`
          : f.driftLevel === 'low'
            ? `${t.low_drift_pct}–${t.medium_drift_pct}%`
            : `under the ${t.low_drift_pct}% low threshold`;
    const model = f.model.id === null ? 'the model' : `model ${f.model.id}`;
    reasons.push(
      `Fleet drift is ${pct(f.driftPct)}: (${plural(f.newCount, 'new server')} + ${plural(f.sunsetCount, 'sunset server')}) / ` +
        `${plural(f.vocabularySize, 'server')} in ${model}'s vocabulary, ${band}, so priority is ${f.driftLevel}: ${DRIFT_ACTION[f.driftLevel]}.`,
    );
    priority = maxPriority(priority, f.driftLevel);
  }

  if (f.rate !== null) {
    const ratePriority: Priority =
      f.rate.level === 'critical' ? 'high' : f.rate.level === 'warning' ? 'medium' : 'none';
    const band =
      f.rate.level === 'critical'
        ? `above the ${t.unknown_critical_above_pct}% critical threshold`
        : f.rate.level === 'warning'
          ? `between the ${t.unknown_warning_pct}% warning and ${t.unknown_critical_above_pct}% critical thresholds`
          : `under the ${t.unknown_warning_pct}% warning threshold`;
    reasons.push(
      `Unknown-server predictions are ${pct(f.rate.rate_pct)} (${f.rate.unknown.toLocaleString('en-US')} of ` +
        `${f.rate.total.toLocaleString('en-US')}, from ${f.rate.source}), ${band}: ${f.rate.level}.`,
    );
    priority = maxPriority(priority, ratePriority);
  }

  if (f.ageDays !== null) {
    if (f.stale) {
      reasons.push(
        `The model is ${f.ageDays.toFixed(1)} days old, more than the ${t.max_model_age_days}-day limit, and the fleet has changed since: the model is stale.`,
      );
      priority = maxPriority(priority, 'low');
    } else if (f.ageDays > t.max_model_age_days) {
      reasons.push(
        `The model is ${f.ageDays.toFixed(1)} days old (limit ${t.max_model_age_days}) but the fleet has not changed, so it is not stale.`,
      );
    }
  }

  if (f.pending.length > 0) {
    const dates = f.pending
      .map((p) => p.eligible_at)
      .filter((d): d is string => d !== null)
      .sort();
    const earliest = dates.length > 0 ? ` The earliest becomes eligible on ${dates[0]!.slice(0, 10)}.` : '';
    reasons.push(
      `${plural(f.pending.length, 'new server')} ${f.pending.length === 1 ? 'is' : 'are'} pending: not yet ` +
        `${t.minimum_history_days} days of history and ${t.minimum_samples.toLocaleString('en-US')} samples, so ` +
        `${f.pending.length === 1 ? 'it stays' : 'they stay'} out of the manifest and the drift count.${earliest}`,
    );
  }

  if (f.manifestChanged !== null && f.manifestPath !== null) {
    const d = f.manifestDelta;
    reasons.push(
      f.manifestChanged
        ? `The manifest ${f.manifestPath} would change: +${d.added.length} added, −${d.removed.length} removed, ${d.changed.length} profile changes (${d.manifest.servers.length} servers).`
        : `The manifest ${f.manifestPath} is up to date (${plural(d.manifest.servers.length, 'server')}).`,
    );
  }

  const retrain = priority !== 'none';
  if (!retrain) reasons.push('No trigger fired: no retraining needed.');
  return { retrain, priority, reasons };
}
