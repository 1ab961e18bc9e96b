import type { UnknownKnownInterval } from './unknown-interval.js';
import { z } from 'zod';
import type { ConvergenceReport } from './convergence.js';
import type { CoverageReport } from './coverage.js';
import { PEER_NAMES, QUANTILE_NAIVE } from './peer-request.js';
import type { PeerOutcome } from './peer-run.js';
import { findScore, type ScoreEntry, type ScoreGroup } from './scoring.js';

/**
 * Validation gates (docs/validation.md). Coverage is not configurable: anything under 100 % fails.
 * Ratios compare q-risk (lower is better): a gate `max_ratio 1.0` means "no worse than".
 * A `null` ratio reports the comparison without gating on it.
 */
const RatioByQuantile = z.record(
  z.string().regex(/^0\.\d+$/, 'quantile key like "0.5"'),
  z.number().positive().nullable(),
);

export const GateConfig = z.strictObject({
  convergence: z
    .strictObject({
      /** Best validation loss must be this fraction below the untrained model's (else epoch 1's). */
      min_improvement: z.number().min(0).max(1).default(0.05),
      min_epochs: z.number().int().min(1).default(1),
    })
    .prefault({}),
  accuracy: z
    .strictObject({
      /** Model q-risk / seasonal-naive (one day) q-risk, per target, over all scored servers. */
      max_ratio_vs_seasonal_naive: RatioByQuantile.default({ '0.5': 1.0, '0.9': 1.0 }),
      /** Model q-risk / deployed model q-risk on the same window, per target. */
      max_ratio_vs_deployed: RatioByQuantile.default({ '0.5': 1.1, '0.9': null }),
      /**
       * Model q-risk / a peer forecaster's (docs/peers.md), per peer, quantile and target, on the
       * same points: `{"gbm": {"0.5": 1.05}}`. Default: none gated (the peers are reported in the
       * table when run with --peers). A gated peer that failed or was not run fails its gate.
       */
      max_ratio_vs_peer: z.partialRecord(z.enum(PEER_NAMES), RatioByQuantile).default({}),
      /** Unknown-server (holdout) P50 q-risk / known-server P50 q-risk, per target; null: report only. */
      max_ratio_unknown_vs_known: z.number().positive().nullable().default(null),
      /** Targets the gates apply to; null: every target of the model. */
      targets: z.array(z.string()).nullable().default(null),
    })
    .prefault({}),
});
export type GateConfig = z.infer<typeof GateConfig>;

export const DEFAULT_GATES: GateConfig = GateConfig.parse({});

export interface GateResult {
  name: string;
  passed: boolean;
  /** false when the gate only reports (ratio null) or could not be evaluated for lack of data. */
  enforced: boolean;
  detail: string;
  ratio?: number | null;
  limit?: number | null;
}

export const MODEL = 'model';
export const SEASONAL_NAIVE = 'seasonal_naive';
export const DEPLOYED = 'deployed';

export interface GateInputs {
  coverage: CoverageReport;
  convergence: ConvergenceReport | null;
  scores: readonly ScoreEntry[];
  targets: readonly string[];
  quantiles: readonly number[];
  /** Whether a deployed model was scored on the same window. */
  deployedScored: boolean;
  /** The peers requested (--peers) and what became of each; empty or absent without --peers. */
  peers?: readonly PeerOutcome[];
  /** The unknown-vs-known ratios with their bootstrap intervals, said in the gate's detail. */
  unknownVsKnown?: readonly UnknownKnownInterval[];
}

/** Evaluates every gate; pure. The model passes when every enforced gate passes. */
export function evaluateGates(config: GateConfig, inputs: GateInputs): GateResult[] {
  const results: GateResult[] = [
    { name: 'coverage', passed: inputs.coverage.passed, enforced: true, detail: inputs.coverage.message },
  ];
  if (inputs.convergence)
    results.push({
      name: 'convergence',
      passed: inputs.convergence.passed,
      enforced: true,
      detail: inputs.convergence.message,
    });
  else
    results.push({
      name: 'convergence',
      passed: true,
      enforced: false,
      detail: 'no training record to check',
    });

  // No held-out data (validate without --metrics): the report says so; no accuracy gate lines.
  if (inputs.scores.length === 0) return results;
  const targets = config.accuracy.targets ?? inputs.targets;
  for (const t of targets)
    if (!inputs.targets.includes(t))
      throw new Error(`gate config: target ${t} is not a model target (${inputs.targets.join(', ')})`);

  const qnaiveScored = (inputs.peers ?? []).some((p) => p.peer === QUANTILE_NAIVE && p.status === 'scored');
  for (const [qKey, limit] of Object.entries(config.accuracy.max_ratio_vs_seasonal_naive))
    for (const target of targets) {
      const gate = ratioGate(
        `p${pct(qKey, inputs)} vs seasonal naive: ${target}`,
        inputs.scores,
        MODEL,
        SEASONAL_NAIVE,
        'all',
        'all',
        target,
        Number(qKey),
        limit,
      );
      // Seasonal naive is a point forecast: away from P50 it is an easy baseline. Say how the
      // model fares against the quantile-aware one when it was scored.
      const q = Number(qKey);
      const vsQnaive = ratioOf(inputs.scores, MODEL, QUANTILE_NAIVE, target, q);
      if (qnaiveScored && Math.abs(q - 0.5) > 1e-9 && vsQnaive !== null)
        gate.detail += `; seasonal naive is a point forecast: against qnaive (quantile-aware) the ratio is ${vsQnaive.toFixed(3)}`;
      results.push(gate);
    }

  if (inputs.deployedScored)
    for (const [qKey, limit] of Object.entries(config.accuracy.max_ratio_vs_deployed))
      for (const target of targets)
        results.push(
          ratioGate(
            `p${pct(qKey, inputs)} vs deployed model: ${target}`,
            inputs.scores,
            MODEL,
            DEPLOYED,
            'all',
            'all',
            target,
            Number(qKey),
            limit,
          ),
        );

  results.push(...peerGates(config, inputs, targets));

  const p50 = inputs.quantiles.find((q) => Math.abs(q - 0.5) < 1e-9);
  if (p50 !== undefined)
    for (const target of targets)
      results.push(
        withInterval(
          ratioGate(
            `p50 unknown vs known servers (same profile mix): ${target}`,
            inputs.scores,
            MODEL,
            MODEL,
            'unknown_profile_matched',
            'known_profile_matched',
            target,
            p50,
            config.accuracy.max_ratio_unknown_vs_known,
          ),
          inputs.unknownVsKnown?.find((i) => i.target === target),
        ),
      );
  return results;
}

/**
 * `max_ratio_vs_peer`: one line per configured peer, quantile and target. A peer that was not
 * scored (failed, left out, not in --peers) never passes: its gates fail when enforced and say
 * why when reported only. A requested peer that failed without a configured gate gets one
 * report-only line, so the failure is in the gate list too.
 */
function peerGates(config: GateConfig, inputs: GateInputs, targets: readonly string[]): GateResult[] {
  const results: GateResult[] = [];
  const outcomes = inputs.peers ?? [];
  const configured = config.accuracy.max_ratio_vs_peer;
  for (const peer of PEER_NAMES) {
    const limits = configured[peer];
    const outcome = outcomes.find((o) => o.peer === peer);
    if (!limits) {
      if (outcome && outcome.status !== 'scored')
        results.push({
          name: `peer ${peer}`,
          passed: false,
          enforced: false,
          detail: outcome.note ?? `peer ${peer}: ${outcome.status.replace('_', ' ')}`,
        });
      continue;
    }
    for (const [qKey, limit] of Object.entries(limits))
      for (const target of targets) {
        const name = `p${pct(qKey, inputs)} vs peer ${peer}: ${target}`;
        if (outcome?.status === 'scored') {
          results.push(
            ratioGate(name, inputs.scores, MODEL, peer, 'all', 'all', target, Number(qKey), limit),
          );
          continue;
        }
        const why = outcome
          ? (outcome.note ?? `peer ${peer}: ${outcome.status.replace('_', ' ')}`)
          : `peer ${peer} was not run (add it to --peers)`;
        results.push({ name, passed: false, enforced: limit !== null, ratio: null, limit, detail: why });
      }
  }
  return results;
}

export function gatesPassed(results: readonly GateResult[]): boolean {
  return results.every((r) => r.passed || !r.enforced);
}

function pct(qKey: string, inputs: GateInputs): string {
  const q = Number(qKey);
  if (!inputs.quantiles.some((m) => Math.abs(m - q) < 1e-9))
    throw new Error(`gate config: quantile ${qKey} is not a model quantile (${inputs.quantiles.join(', ')})`);
  return String(Math.round(q * 100));
}

function ratioGate(
  name: string,
  scores: readonly ScoreEntry[],
  modelA: string,
  modelB: string,
  groupA: ScoreGroup,
  groupB: ScoreGroup,
  target: string,
  quantile: number,
  limit: number | null,
): GateResult {
  const a = findScore(scores, modelA, groupA, target, quantile)?.q_risk ?? null;
  const b = findScore(scores, modelB, groupB, target, quantile)?.q_risk ?? null;
  if (a === null || b === null || b === 0)
    return {
      name,
      passed: true,
      enforced: false,
      ratio: null,
      limit,
      detail: 'not enough scored points to compare',
    };
  const ratio = a / b;
  const text = `q-risk ${a.toFixed(4)} vs ${b.toFixed(4)}: ratio ${ratio.toFixed(3)}`;
  if (limit === null)
    return { name, passed: true, enforced: false, ratio, limit, detail: `${text} (reported, not gated)` };
  const passed = ratio <= limit;
  return {
    name,
    passed,
    enforced: true,
    ratio,
    limit,
    detail: `${text} ${passed ? '≤' : '>'} limit ${limit}`,
  };
}

/** q-risk of `a` ÷ `b` on all servers, or null when either is missing or `b`'s is 0. */
function ratioOf(
  scores: readonly ScoreEntry[],
  a: string,
  b: string,
  target: string,
  quantile: number,
): number | null {
  const x = findScore(scores, a, 'all', target, quantile)?.q_risk ?? null;
  const y = findScore(scores, b, 'all', target, quantile)?.q_risk ?? null;
  return x !== null && y !== null && y > 0 ? x / y : null;
}

/**
 * Coverage and convergence enforced, accuracy reported only: for the `smoke` profile (a model
 * trained for a minute, for tests and demos), which is not expected to beat seasonal naive.
 */
export const REPORT_ONLY_ACCURACY_GATES: GateConfig = GateConfig.parse({
  accuracy: {
    max_ratio_vs_seasonal_naive: { '0.5': null, '0.9': null },
    max_ratio_vs_deployed: { '0.5': null, '0.9': null },
  },
});

/** The gate's detail with how sure the ratio is: its 95 % server-bootstrap interval. */
function withInterval(result: GateResult, interval: UnknownKnownInterval | undefined): GateResult {
  if (interval === undefined || result.ratio === null || result.ratio === undefined) return result;
  const span =
    interval.low !== null && interval.high !== null
      ? `95 % interval ${interval.low.toFixed(2)}–${interval.high.toFixed(2)}`
      : 'no interval: fewer than 2 servers in a group';
  return {
    ...result,
    detail: `${result.detail} (${span}, ${interval.unknown_servers} unknown vs ${interval.known_servers} known servers)`,
  };
}
