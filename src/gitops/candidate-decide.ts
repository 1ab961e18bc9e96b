import type { CandidatePolicy } from '../config/retrain-config.js';

/**
 * The candidate promotion rule (docs/candidate.md), pure: from the service's live comparison of
 * the candidate against the serving model on the same points, the registry's pointer and the
 * retrain config, wait, promote or roll back, with the reasons and the numbers behind them.
 * Level-triggered like the reconcile loop: the same comparison gives the same decision.
 */

/** One quantile's live q-risk of both models on the shared points. */
export interface QRiskPair {
  candidate: number | null;
  serving: number | null;
}

/** What the service reports about the candidate (`/status` → `candidate.comparison`). */
export interface CandidateComparison {
  candidateModelId: string;
  /** Null when the service could not say (it failed to load the candidate). */
  servingModelId: string | null;
  /** Null when the two models can be scored on the same points; else why not. */
  incomparable: string | null;
  /** Forecast steps (server × time) scored for both models. */
  sharedPoints: number;
  /** Hours from the first shared forecast to the newest actual. */
  liveHours: number;
  p50: QRiskPair;
  p90: QRiskPair;
}

/** A person's explicit choice the rule must not override. */
export interface PersonPin {
  /** What the person did, for the message ("rolled back to X in abc123 by Ann"). */
  what: string;
}

export interface CandidateDecisionInput {
  /** The pointer's serving model and candidate (the registry is the truth; the service may lag). */
  pointer: { servingModelId: string; candidateModelId: string };
  comparison: CandidateComparison | null;
  policy: CandidatePolicy;
  /** The serving model was put in place by a person's rollback: automation does not replace it. */
  servingPin: PersonPin | null;
  /** The candidate is a model a person rolled back (the rollback-respect rule); undefined if not. */
  candidateRefusal: string | undefined;
}

export type CandidateAction = 'wait' | 'promote' | 'rollback';

export interface CandidateDecision {
  decision: CandidateAction;
  /** One line, for the commit subject and the terminal. */
  summary: string;
  reasons: string[];
  /** What is still missing before a decision (wait for data only). */
  missing: { live_hours: number; shared_points: number } | null;
  /** Candidate ÷ serving q-risk per quantile (null: not computable yet). */
  ratios: { p50: number | null; p90: number | null };
}

/** Candidate ÷ serving; null when either is unknown; equal zeros are a tie (1). */
export function qRiskRatio(pair: QRiskPair): number | null {
  const { candidate, serving } = pair;
  if (candidate === null || serving === null) return null;
  if (serving === 0) return candidate === 0 ? 1 : Number.POSITIVE_INFINITY;
  return candidate / serving;
}

const fmt = (n: number | null, digits = 4) => (n === null ? 'n/a' : n.toFixed(digits));

export function decideCandidate(input: CandidateDecisionInput): CandidateDecision {
  const { pointer, comparison, policy } = input;
  const none = { p50: null, p90: null };
  const wait = (summary: string, reasons: string[], missing: CandidateDecision['missing'] = null) => ({
    decision: 'wait' as const,
    summary,
    reasons,
    missing,
    ratios: comparison === null ? none : { p50: qRiskRatio(comparison.p50), p90: qRiskRatio(comparison.p90) },
  });
  if (
    comparison === null ||
    comparison.candidateModelId !== pointer.candidateModelId ||
    (comparison.servingModelId !== null && comparison.servingModelId !== pointer.servingModelId)
  ) {
    const seen =
      comparison === null
        ? 'reports no candidate'
        : `compares ${comparison.candidateModelId} with ${comparison.servingModelId ?? 'an unknown model'}`;
    return wait(`the service has not loaded candidate ${pointer.candidateModelId} yet`, [
      `the pointer names candidate ${pointer.candidateModelId} beside ${pointer.servingModelId}, but the service ${seen}`,
    ]);
  }
  if (comparison.incomparable !== null) {
    return {
      decision: 'rollback',
      summary: `${pointer.candidateModelId} cannot be compared with ${pointer.servingModelId}`,
      reasons: [`the models cannot be scored on the same points: ${comparison.incomparable}`],
      missing: null,
      ratios: none,
    };
  }
  const missingHours = Math.max(0, policy.minLiveHours - comparison.liveHours);
  const missingPoints = Math.max(0, policy.minSharedPoints - comparison.sharedPoints);
  if (missingHours > 0 || missingPoints > 0) {
    const parts = [
      ...(missingHours > 0
        ? [
            `${fmt(comparison.liveHours, 1)} of ${policy.minLiveHours} live hours (${fmt(missingHours, 1)} h to go)`,
          ]
        : []),
      ...(missingPoints > 0
        ? [`${comparison.sharedPoints} of ${policy.minSharedPoints} shared points (${missingPoints} to go)`]
        : []),
    ];
    return wait(`not enough live data yet: ${parts.join(', ')}`, parts, {
      live_hours: missingHours,
      shared_points: missingPoints,
    });
  }
  const ratios = { p50: qRiskRatio(comparison.p50), p90: qRiskRatio(comparison.p90) };
  if (ratios.p50 === null || ratios.p90 === null)
    return wait('the service has no P50 and P90 q-risk for both models yet', [
      `P50 ratio ${fmt(ratios.p50)}, P90 ratio ${fmt(ratios.p90)}: both quantiles must be scored for both models`,
    ]);
  const limit = policy.maxQRiskRatioVsServing;
  const line = (name: 'p50' | 'p90') =>
    `${name.toUpperCase()} q-risk ${fmt(comparison[name].candidate)} vs serving ${fmt(comparison[name].serving)} ` +
    `(ratio ${fmt(ratios[name], 3)}, limit ${fmt(limit, 3)})`;
  const evidence = `${comparison.sharedPoints} shared points over ${fmt(comparison.liveHours, 1)} h`;
  const worse = (['p50', 'p90'] as const).filter((q) => ratios[q]! > limit);
  if (worse.length > 0) {
    return {
      decision: 'rollback',
      summary: `${pointer.candidateModelId} is worse than ${pointer.servingModelId} live (${worse.map((q) => q.toUpperCase()).join(', ')})`,
      reasons: [...worse.map(line), evidence],
      missing: null,
      ratios,
    };
  }
  const held = [
    ...(input.servingPin === null
      ? []
      : [
          `the serving model was pinned by a person (${input.servingPin.what}); promote it by hand if intended`,
        ]),
    ...(input.candidateRefusal === undefined ? [] : [input.candidateRefusal]),
  ];
  if (held.length > 0)
    return {
      decision: 'wait',
      summary: `${pointer.candidateModelId} meets the promotion rule, but automation does not promote it`,
      reasons: [line('p50'), line('p90'), evidence, ...held],
      missing: null,
      ratios,
    };
  return {
    decision: 'promote',
    summary: `${pointer.candidateModelId} is at least as accurate as ${pointer.servingModelId} live`,
    reasons: [line('p50'), line('p90'), evidence],
    missing: null,
    ratios,
  };
}
