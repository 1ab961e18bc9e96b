import type { LiveRecord, LiveRecordResult } from './live-record.js';

/**
 * The live regression rule (`fleetcast live-check`): revert the serving model's deploy commit when
 * its live q-risk, once scored long enough, is worse than the previous model's recorded live q-risk
 * or than seasonal naive on the same points by more than the configured ratios. A pure function:
 * every input is read before, every action is taken after.
 */
export interface LiveRegressionPolicy {
  enabled: boolean;
  maxRatioVsPrevious: number;
  maxRatioVsNaive: number;
  minLiveHours: number;
  minScoredPoints: number;
}

export interface LiveCheckFacts {
  modelId: string;
  /** The serving model's live record from the service. */
  serving: LiveRecordResult;
  /**
   * The model the serving one replaced and the live record its deploy commit carries (undefined:
   * the commit recorded none, e.g. one made before records existed); null on a first deploy.
   */
  previous: { modelId: string; live: LiveRecordResult | undefined } | null;
  /**
   * The deploy commit to revert, or why there is none to revert: the pointer was put where it is by
   * a rollback or a revert (a person's decision, which live-check never undoes).
   */
  revertible: { deployCommit: string } | { heldBy: string };
  policy: LiveRegressionPolicy;
}

export interface LiveComparison {
  against: 'previous' | 'naive';
  quantile: 'p50' | 'p90';
  /** The ratio measured: serving / previous q-risk, or model loss / naive loss on the same points. */
  ratio: number;
  max: number;
  serving: number | null;
  reference: number | null;
  regressed: boolean;
}

export interface LiveCheckDecision {
  action: 'revert' | 'keep';
  /** One sentence with the numbers: why revert, or why keep. */
  reason: string;
  comparisons: LiveComparison[];
  /** Comparisons that could not be made, and why. */
  notes: string[];
}

const QUANTILES = ['p50', 'p90'] as const;
const f3 = (v: number) => v.toFixed(3);

function thin(record: LiveRecord, policy: LiveRegressionPolicy): string | undefined {
  if (record.scored_points >= policy.minScoredPoints && record.scored_hours >= policy.minLiveHours)
    return undefined;
  return (
    `${record.scored_points} scored points over ${record.scored_hours.toFixed(1)} h ` +
    `(needs ≥ ${policy.minScoredPoints} points and ≥ ${policy.minLiveHours} h)`
  );
}

function vsPrevious(facts: LiveCheckFacts, serving: LiveRecord, notes: string[]): LiveComparison[] {
  const { previous, policy } = facts;
  if (previous === null) {
    notes.push('no previous model (first deploy): nothing to compare with');
    return [];
  }
  const live = previous.live;
  if (live === undefined) {
    notes.push(`the deploy commit recorded no live accuracy of the previous model ${previous.modelId}`);
    return [];
  }
  if ('none' in live) {
    notes.push(`the previous model ${previous.modelId} has no live record (${live.none})`);
    return [];
  }
  const short = thin(live.record, policy);
  if (short !== undefined) {
    notes.push(`the previous model ${previous.modelId}'s live record is too short to compare with: ${short}`);
    return [];
  }
  if (live.record.targets.join(',') !== serving.targets.join(',')) {
    notes.push(
      `the previous model ${previous.modelId} forecast other targets (${live.record.targets.join(', ')} vs ${serving.targets.join(', ')})`,
    );
    return [];
  }
  const out: LiveComparison[] = [];
  for (const q of QUANTILES) {
    const now = serving[q];
    const before = live.record[q];
    if (now === null || before === null || before <= 0) {
      notes.push(`${q.toUpperCase()} vs the previous model: a q-risk is missing`);
      continue;
    }
    const ratio = now / before;
    out.push({
      against: 'previous',
      quantile: q,
      ratio,
      max: policy.maxRatioVsPrevious,
      serving: now,
      reference: before,
      regressed: ratio > policy.maxRatioVsPrevious,
    });
  }
  return out;
}

function vsNaive(facts: LiveCheckFacts, serving: LiveRecord, notes: string[]): LiveComparison[] {
  const { policy } = facts;
  if (serving.naive_points < policy.minScoredPoints) {
    notes.push(
      `seasonal naive had a value on only ${serving.naive_points} points (needs ≥ ${policy.minScoredPoints}; ` +
        'it needs the value one day earlier in the service window)',
    );
    return [];
  }
  const out: LiveComparison[] = [];
  for (const q of QUANTILES) {
    const ratio = q === 'p50' ? serving.ratio_vs_naive_p50 : serving.ratio_vs_naive_p90;
    if (ratio === null) {
      notes.push(`${q.toUpperCase()} vs seasonal naive: no ratio reported`);
      continue;
    }
    out.push({
      against: 'naive',
      quantile: q,
      ratio,
      max: policy.maxRatioVsNaive,
      serving: serving[q],
      reference: q === 'p50' ? serving.naive_p50 : serving.naive_p90,
      regressed: ratio > policy.maxRatioVsNaive,
    });
  }
  return out;
}

/** `P50 q-risk 0.310 is 1.48× the previous model's 0.210 (max 1.25×)`. */
export function describeComparison(c: LiveComparison, previousId?: string): string {
  const q = c.quantile.toUpperCase();
  if (c.against === 'previous')
    return `${q} live q-risk ${f3(c.serving!)} is ${c.ratio.toFixed(2)}× the previous model${previousId ? ` ${previousId}` : ''}'s ${f3(c.reference!)} (max ${c.max}×)`;
  return `${q} loss is ${c.ratio.toFixed(2)}× seasonal naive's on the same points (max ${c.max}×)`;
}

export function decideLiveRegression(facts: LiveCheckFacts): LiveCheckDecision {
  const { modelId, policy } = facts;
  const keep = (reason: string, comparisons: LiveComparison[] = [], notes: string[] = []) =>
    ({ action: 'keep', reason, comparisons, notes }) as const;
  if (!policy.enabled) return keep('live_regression.enabled is false in the retrain config');
  if ('none' in facts.serving) return keep(`no live record of ${modelId} to judge: ${facts.serving.none}`);
  const serving = facts.serving.record;
  const short = thin(serving, policy);
  if (short !== undefined) return keep(`not enough live data yet for ${modelId}: ${short}`);

  const notes: string[] = [];
  const comparisons = [...vsPrevious(facts, serving, notes), ...vsNaive(facts, serving, notes)];
  const previousId = facts.previous?.modelId;
  const regressed = comparisons.filter((c) => c.regressed);
  const scored = `${serving.scored_points} points over ${serving.scored_hours.toFixed(1)} h`;
  if (regressed.length > 0) {
    const why = `live regression of ${modelId} (${scored}): ${regressed.map((c) => describeComparison(c, previousId)).join('; ')}`;
    if ('heldBy' in facts.revertible)
      return keep(`${why}; but it is not reverted: ${facts.revertible.heldBy}`, comparisons, notes);
    return { action: 'revert', reason: why, comparisons, notes };
  }
  if (comparisons.length === 0)
    return keep(
      `nothing to compare ${modelId}'s live accuracy with (${scored}): ${notes.join('; ')}`,
      [],
      notes,
    );
  return keep(
    `${modelId} is within bounds (${scored}): ${comparisons.map((c) => describeComparison(c, previousId)).join('; ')}`,
    comparisons,
    notes,
  );
}
