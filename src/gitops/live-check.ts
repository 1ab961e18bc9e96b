import { relative } from 'node:path';
import type { EventLog } from '../core/events-log.js';
import { InputError } from '../core/errors.js';
import type { Workspace } from '../forge/git-workspace.js';
import { landCommit } from './land-commit.js';
import type { CommitAuthor, Forge } from '../forge/types.js';
import { pointerPath } from '../registry/layout.js';
import { readPointer } from '../registry/pointer.js';
import { LIVE_REGRESSION_REQUESTER } from './deploy-commit.js';
import { classifyPointerCommit, latestDeployCommit } from './deploy-history.js';
import {
  liveRecordInMessage,
  readLiveRecord,
  type LiveRecordResult,
  type ServiceAccess,
} from './live-record.js';
import {
  decideLiveRegression,
  type LiveCheckDecision,
  type LiveRegressionPolicy,
} from './live-regression.js';
import { revertDeployCommit } from './revert.js';
import { trailer } from './trailers.js';
import type { Notification } from './notify.js';

export interface LiveCheckRequest {
  git: Workspace;
  /** The repository's work tree (the registry lives inside it). */
  repoDir: string;
  registry: string;
  service: ServiceAccess & { serviceUrl: string };
  policy: LiveRegressionPolicy;
  bot: CommitAuthor;
  branch: string;
  /**
   * Lands the revert on `branch` (land-commit.ts): signed through the GitHub API, or the local
   * forge. Without one (a command run by a person) the revert is pushed with git.
   */
  forge?: Forge;
  runUrl?: string;
  /** Where the decision is logged (`live_check`); null: not logged. */
  events: EventLog | null;
  /** Decide and report; revert nothing. */
  dryRun?: boolean;
}

export interface LiveCheckOutcome {
  modelId: string;
  decision: LiveCheckDecision;
  serving: LiveRecordResult;
  previousModelId: string | null;
  deployCommit: string | null;
  /** The revert commit pushed; null when the model is kept (or on a dry run). */
  revertSha: string | null;
  dryRun: boolean;
}

const PREVIOUS_TRAILER = 'Fleetcast-Previous-Model';

/**
 * One live check: reads the serving model from current.json, its live record from the service and
 * the previous model's from the deploy commit's trailer, decides (live-regression.ts), and on a
 * regression reverts the deploy commit through the same path as a rollback (revert.ts), so the
 * rollback-respect rule keeps automation from redeploying it. Logs the decision either way.
 */
export async function runLiveCheck(request: LiveCheckRequest): Promise<LiveCheckOutcome> {
  const { git, registry } = request;
  const pointer = await readPointer(registry);
  if (pointer === null)
    throw new InputError(`${pointerPath(registry)}: nothing is deployed, nothing to check`);
  const modelId = pointer.model_id;
  const serving = await readLiveRecord(modelId, request.service);

  const history = await git.history(relative(request.repoDir, pointerPath(registry)));
  const deploy = latestDeployCommit(history, modelId);
  let previous: { modelId: string; live: LiveRecordResult | undefined } | null = null;
  let heldBy = '';
  if (deploy !== undefined) {
    const previousId = trailer(deploy.message, PREVIOUS_TRAILER);
    if (previousId !== undefined && previousId !== 'none')
      previous = { modelId: previousId, live: liveRecordInMessage(deploy.message, previousId) };
  } else {
    const latest = history[0];
    const kind =
      latest === undefined
        ? 'none'
        : classifyPointerCommit(latest, new Map(history.map((c) => [c.sha, c]))).kind;
    heldBy =
      latest === undefined
        ? `${pointerPath(registry)} has no commit: there is no deploy commit to revert`
        : `${modelId} was put in service by ${latest.sha.slice(0, 12)} (${kind}, by ${latest.author.name}), not by a deploy commit; ` +
          "live-check reverts only automation's deploys, never a person's rollback or redeploy";
  }
  const decision = decideLiveRegression({
    modelId,
    serving,
    previous,
    revertible: deploy === undefined ? { heldBy } : { deployCommit: deploy.sha },
    policy: request.policy,
  });

  let revertSha: string | null = null;
  const dryRun = request.dryRun === true;
  if (decision.action === 'revert' && deploy !== undefined && !dryRun) {
    revertSha = await revertDeployCommit(
      git,
      deploy.sha,
      {
        from: modelId,
        reason: decision.reason,
        requestedBy: LIVE_REGRESSION_REQUESTER,
        live: serving,
        ...(request.runUrl ? { runUrl: request.runUrl } : {}),
      },
      request.bot,
      request.bot,
    );
    if (request.forge !== undefined) revertSha = await landCommit(request.forge, git, request.branch);
    else await git.push(request.branch, request.bot);
  }
  await request.events?.append({
    event: 'live_check',
    data: {
      model_id: modelId,
      action: decision.action,
      reason: decision.reason,
      comparisons: decision.comparisons,
      notes: decision.notes,
      live: 'record' in serving ? serving.record : { none: serving.none },
      previous_model_id: previous?.modelId ?? null,
      deploy_commit: deploy?.sha ?? null,
      revert_commit: revertSha,
      dry_run: dryRun,
    },
  });
  return {
    modelId,
    decision,
    serving,
    previousModelId: previous?.modelId ?? null,
    deployCommit: deploy?.sha ?? null,
    revertSha,
    dryRun,
  };
}

/** The Slack notice of a check: on a revert, or a regression left in place; null when all is well. */
export function liveCheckNotification(outcome: LiveCheckOutcome): Notification | null {
  const regressed = outcome.decision.comparisons.some((c) => c.regressed);
  if (!regressed) return null;
  if (outcome.revertSha !== null)
    return {
      kind: 'rollback',
      title: `Live regression: reverted the deploy of ${outcome.modelId}`,
      lines: [outcome.decision.reason, `revert commit ${outcome.revertSha.slice(0, 12)}`],
    };
  return {
    kind: 'failure',
    title: `Live regression of ${outcome.modelId}${outcome.dryRun ? ' (dry run: nothing reverted)' : ''}`,
    lines: [outcome.decision.reason],
  };
}

/** Machine output of `fleetcast live-check --json` and the action's summary. */
export function liveCheckJson(outcome: LiveCheckOutcome) {
  return {
    model_id: outcome.modelId,
    action: outcome.decision.action,
    reason: outcome.decision.reason,
    comparisons: outcome.decision.comparisons,
    notes: outcome.decision.notes,
    live: 'record' in outcome.serving ? outcome.serving.record : null,
    live_missing: 'none' in outcome.serving ? outcome.serving.none : null,
    previous_model_id: outcome.previousModelId,
    deploy_commit: outcome.deployCommit,
    revert_commit: outcome.revertSha,
    dry_run: outcome.dryRun,
  };
}
