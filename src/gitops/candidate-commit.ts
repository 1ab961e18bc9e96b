import type { CommitInfo } from '../forge/types.js';
import { classifyPointerCommit } from './deploy-history.js';
import { isAutomaticRollback } from './deploy-commit.js';
import type { CandidateDecision, PersonPin } from './candidate-decide.js';
import { requestedBy } from './trailers.js';

/** Trailer naming the candidate a commit removed from evaluation (not a serving model: no rollback-respect). */
export const CANDIDATE_ROLLED_BACK_TRAILER = 'Fleetcast-Candidate-Rolled-Back';
/** Trailer with the decision of `fleetcast candidate evaluate` (promote | rollback). */
export const CANDIDATE_DECISION_TRAILER = 'Fleetcast-Candidate-Decision';

export interface CandidateCommitFacts {
  candidateModelId: string;
  servingModelId: string;
  decision: CandidateDecision;
  sharedPoints: number;
  liveHours: number;
  p50: { candidate: number | null; serving: number | null };
  p90: { candidate: number | null; serving: number | null };
  requestedBy: string;
  runUrl?: string;
}

const num = (n: number | null, digits = 6) => (n === null ? 'n/a' : String(Number(n.toFixed(digits))));

function numberTrailers(facts: CandidateCommitFacts): string[] {
  return [
    `Fleetcast-Live-Hours: ${num(facts.liveHours, 2)}`,
    `Fleetcast-Shared-Points: ${facts.sharedPoints}`,
    `Fleetcast-QRisk-P50: candidate ${num(facts.p50.candidate)} serving ${num(facts.p50.serving)} ratio ${num(facts.decision.ratios.p50, 4)}`,
    `Fleetcast-QRisk-P90: candidate ${num(facts.p90.candidate)} serving ${num(facts.p90.serving)} ratio ${num(facts.decision.ratios.p90, 4)}`,
  ];
}

function body(facts: CandidateCommitFacts, first: string): string[] {
  return [
    first,
    ...facts.decision.reasons.map((r) => `Reason: ${oneLine(r)}`),
    `Requested-by: ${oneLine(facts.requestedBy)}`,
    ...(facts.runUrl ? [`Run: ${facts.runUrl}`] : []),
  ];
}

/**
 * What a promotion adds to its deploy commit (deploy-commit.ts, the same path as every deploy, so
 * `fleetcast history` and the rollback-respect rule see it): the reasons and the live numbers.
 */
export function promotionExtra(facts: CandidateCommitFacts): { lines: string[]; trailers: string[] } {
  return {
    lines: [
      `Promoted by the live candidate evaluation: ${oneLine(facts.decision.summary)}.`,
      ...facts.decision.reasons.map((r) => `Evidence: ${oneLine(r)}`),
      `Requested-by: ${oneLine(facts.requestedBy)}`,
    ],
    trailers: [`${CANDIDATE_DECISION_TRAILER}: promote`, ...numberTrailers(facts)],
  };
}

/** A candidate taken out of evaluation; the serving model is unchanged. */
export function candidateRollbackCommitMessage(facts: CandidateCommitFacts): string {
  return [
    `candidate rollback: ${facts.candidateModelId} (${facts.servingModelId} keeps serving)`,
    '',
    ...body(facts, `Removes the candidate from current.json: ${oneLine(facts.decision.summary)}.`),
    '',
    `${CANDIDATE_ROLLED_BACK_TRAILER}: ${facts.candidateModelId}`,
    `${CANDIDATE_DECISION_TRAILER}: rollback`,
    ...numberTrailers(facts),
  ].join('\n');
}

/**
 * A person's pin of the serving model: the newest pointer commit that changed which model serves
 * is a person's rollback (a rollback commit or a revert of a deploy, not verify's automatic one).
 * Commits that change only the candidate are skipped. History newest first, as `git log` gives it.
 */
export function servingPin(historyNewestFirst: readonly CommitInfo[]): PersonPin | null {
  const bySha = new Map(historyNewestFirst.map((c) => [c.sha, c]));
  for (const commit of historyNewestFirst) {
    const event = classifyPointerCommit(commit, bySha);
    if (event.kind === 'other') continue;
    if ((event.kind === 'rollback' || event.kind === 'revert-deploy') && !isAutomaticRollback(commit.message))
      return {
        what: `${event.kind === 'rollback' ? 'rollback' : 'revert'} ${commit.sha.slice(0, 12)} by ${requestedBy(commit)}`,
      };
    return null;
  }
  return null;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 500);
}
