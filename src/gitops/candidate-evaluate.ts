import { relative } from 'node:path';
import type { CandidatePolicy } from '../config/retrain-config.js';
import { InputError } from '../core/errors.js';
import type { EventLog } from '../core/events-log.js';
import type { Workspace } from '../forge/git-workspace.js';
import type { CommitAuthor, Forge } from '../forge/types.js';
import { landCommit } from './land-commit.js';
import { modelDir, pointerPath } from '../registry/layout.js';
import { clearCandidate, readPointer, verifyModelDir } from '../registry/pointer.js';
import {
  candidateRollbackCommitMessage,
  promotionExtra,
  servingPin,
  type CandidateCommitFacts,
} from './candidate-commit.js';
import { decideCandidate, type CandidateComparison, type CandidateDecision } from './candidate-decide.js';
import { commitModelDeploy } from './deploy-model.js';
import { automatedDeployRefusal, rolledBackModels } from './deploy-history.js';

export interface CandidateEvaluateRequest {
  git: Workspace;
  /** The repository's work tree (the registry lives inside it). */
  repoDir: string;
  registry: string;
  /** The service's comparison; null when it reports no candidate. */
  comparison: CandidateComparison | null;
  policy: CandidatePolicy;
  bot: CommitAuthor;
  /** Who asked (a person, or the workflow): the commit's `Requested-by:`. */
  requestedBy: string;
  branch: string;
  /** Without a forge: push the commit to origin (default true). */
  push?: boolean;
  /**
   * Lands the promote or rollback commit on `branch` (land-commit.ts): signed through the GitHub
   * API, or the local forge (the workflow's way). Without one the commit is pushed with git.
   */
  forge?: Forge;
  events: EventLog | null;
  /** Fleet manifest in the work tree: a promoted model must cover it (default fleet/manifest.json). */
  manifest?: string;
  runUrl?: string;
}

export interface CandidateEvaluation extends CandidateDecision {
  candidate_model_id: string;
  serving_model_id: string;
  /** The model serving after this run. */
  model_id: string;
  comparison: CandidateComparison | null;
  /** The promote or rollback commit; null when waiting. */
  commit_sha: string | null;
}

/**
 * `fleetcast candidate evaluate`: reads the pointer's candidate and the history of current.json,
 * decides (candidate-decide.ts), and acts through git: a promotion is a deploy commit of the
 * candidate (deploy-model.ts, every deploy check included), a rollback a pointer commit that
 * removes the candidate. Every run is appended to the events log with its reasons and numbers.
 */
export async function evaluateCandidate(request: CandidateEvaluateRequest): Promise<CandidateEvaluation> {
  const { git, registry, repoDir } = request;
  const pointerRel = relative(repoDir, pointerPath(registry));
  const pointer = await readPointer(registry);
  if (pointer === null) throw new InputError(`${pointerRel}: nothing has been deployed`);
  const candidate = pointer.candidate;
  if (candidate === undefined)
    throw new InputError(`${pointerRel}: no candidate to evaluate (set one with fleetcast candidate set)`);
  const history = await git.history(pointerRel);
  const decision = decideCandidate({
    pointer: { servingModelId: pointer.model_id, candidateModelId: candidate.model_id },
    comparison: request.comparison,
    policy: request.policy,
    servingPin: servingPin(history),
    candidateRefusal: automatedDeployRefusal(candidate.model_id, rolledBackModels(history)),
  });
  const c = request.comparison;
  const facts: CandidateCommitFacts = {
    candidateModelId: candidate.model_id,
    servingModelId: pointer.model_id,
    decision,
    sharedPoints: c?.sharedPoints ?? 0,
    liveHours: c?.liveHours ?? 0,
    p50: c?.p50 ?? { candidate: null, serving: null },
    p90: c?.p90 ?? { candidate: null, serving: null },
    requestedBy: request.requestedBy,
    ...(request.runUrl ? { runUrl: request.runUrl } : {}),
  };

  let commitSha: string | null = null;
  let servingAfter = pointer.model_id;
  if (decision.decision === 'promote') {
    const verified = await verifyModelDir(registry, candidate.model_id);
    if (verified.digest !== candidate.sha256)
      throw new InputError(
        `${verified.dir}: SHA256SUMS changed since the candidate was set (${verified.digest.slice(0, 12)}… vs ${candidate.sha256.slice(0, 12)}…); refusing to promote`,
      );
    const result = await commitModelDeploy({
      git,
      repoDir,
      registry,
      modelDir: modelDir(registry, candidate.model_id),
      reason: `candidate promoted: ${decision.summary}`,
      bot: request.bot,
      branch: request.branch,
      ...(request.manifest === undefined ? {} : { manifest: request.manifest }),
      ...(request.runUrl ? { runUrl: request.runUrl } : {}),
      extra: promotionExtra(facts),
      push: request.push ?? true,
      ...(request.forge === undefined ? {} : { forge: request.forge }),
    });
    if (!result.deployed)
      throw new InputError(`${candidate.model_id} was not promoted: ${result.skippedReason}`);
    commitSha = result.commitSha;
    servingAfter = candidate.model_id;
  } else if (decision.decision === 'rollback') {
    await clearCandidate(registry);
    await git.commit([pointerRel], candidateRollbackCommitMessage(facts), request.bot);
    if (request.forge !== undefined) commitSha = await landCommit(request.forge, git, request.branch);
    else {
      if (request.push ?? true) await git.push(request.branch, request.bot);
      commitSha = await git.head();
    }
  }

  await request.events?.append({
    event: 'candidate_evaluated',
    data: {
      decision: decision.decision,
      candidate_model_id: candidate.model_id,
      serving_model_id: pointer.model_id,
      mode: candidate.mode,
      ...(candidate.share === undefined ? {} : { share: candidate.share }),
      summary: decision.summary,
      reasons: decision.reasons,
      missing: decision.missing,
      ratios: decision.ratios,
      shared_points: facts.sharedPoints,
      live_hours: facts.liveHours,
      p50: facts.p50,
      p90: facts.p90,
      commit_sha: commitSha,
    },
  });
  return {
    ...decision,
    candidate_model_id: candidate.model_id,
    serving_model_id: pointer.model_id,
    model_id: servingAfter,
    comparison: c,
    commit_sha: commitSha,
  };
}
