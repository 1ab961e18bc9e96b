import type { ReconcilePolicy } from '../config/retrain-config.js';
import type { FailedJob, Forge, Issue } from '../forge/types.js';
import { decide, isActive, runOf, settleAttempt } from './reconcile-decide.js';
import { normalizeBody } from './drift-bot.js';
import {
  parseReconcileState,
  RECONCILE_LABEL,
  reconcileIssueTitle,
  renderReconcileIssueBody,
  type Attempt,
  type ReconcileState,
  type ReconcileStatus,
} from './reconcile-issue.js';
import { observe, type ObserveSettings } from './reconcile-observe.js';

/**
 * The reconcile loop (docs/gitops.md, "The reconcile loop"): every scheduled drift run compares
 * the desired state (the manifest on the default branch) with the actual state (the deployed
 * model's vocabulary, and the model the service serves) and acts on the difference: it dispatches
 * the retrain workflow with exponential backoff and an attempt cap, never against a person's
 * rollback, and keeps one tracking issue up to date, closed once the two converge.
 */

export type IssueOperation = 'created' | 'updated' | 'unchanged' | 'closed' | 'reopened';

export interface ReconcileSettings extends ObserveSettings {
  policy: ReconcilePolicy;
  dryRun: boolean;
  now: Date;
}

export interface ReconcileOutcome {
  status: ReconcileStatus;
  converged: boolean;
  summary: string;
  notes: string[];
  /** The retrain dispatched in this run (or that a dry run would dispatch). */
  dispatched: Attempt | undefined;
  issue: { operation: IssueOperation; number: number | undefined; url: string | undefined };
  state: ReconcileState;
  missing: string[];
  modelId: string | null;
  dryRun: boolean;
}

export async function reconcile(forge: Forge, settings: ReconcileSettings): Promise<ReconcileOutcome> {
  const obs = await observe(forge, settings);
  const title = reconcileIssueTitle(settings.base);
  const issue = await forge.findIssue(RECONCILE_LABEL, title);
  let previous = issue === undefined ? undefined : parseReconcileState(issue.body);

  // Bring the last attempt up to date with its run before deciding.
  const last = previous?.log.at(-1);
  if (previous !== undefined && last !== undefined && previous.manifestSha256 === obs.manifestSha256) {
    const run = runOf(last, obs.runs);
    let jobs: FailedJob[] = [];
    if (run !== undefined && !isActive(run) && run.conclusion !== 'success' && last.outcome !== 'failed')
      jobs = await forge.failedJobs(run.id);
    // done: the model covers the manifest and its deploy, if a workflow made it, is verified
    const verified = obs.deployVerification === undefined || obs.deployVerification.state === 'success';
    const settled = settleAttempt(last, run, jobs, obs.missing.length === 0 && verified);
    previous = { ...previous, log: [...previous.log.slice(0, -1), settled] };
  }

  const decision = decide(obs, previous, settings.policy, settings.now);
  if (decision.dispatch !== undefined && decision.reverify !== undefined && !settings.dryRun) {
    await forge.dispatchWorkflow(settings.policy.workflow, settings.base, {
      reason: `reconcile: re-verify deploy ${decision.reverify.deployCommit.slice(0, 12)} (verify never finished)`,
      reconcile_attempt: decision.dispatch.id,
      verify_commit: decision.reverify.deployCommit,
      verify_model_id: decision.reverify.modelId,
    });
  } else if (decision.dispatch !== undefined && !settings.dryRun) {
    await forge.dispatchWorkflow(settings.policy.workflow, settings.base, {
      reason:
        `reconcile: deployed model ${obs.modelId ?? 'none'} misses ${obs.missing.length} manifest servers ` +
        `(attempt ${decision.state.attempts} of ${settings.policy.maxAttempts})`,
      reconcile_attempt: decision.dispatch.id,
    });
  }
  const body = renderReconcileIssueBody({
    state: decision.state,
    base: settings.base,
    manifestPath: settings.manifestPath,
    manifestServers: obs.manifestServers.length,
    modelId: obs.modelId,
    vocabularySize: obs.vocabularySize,
    missing: obs.missing,
    served: obs.served,
    maxAttempts: settings.policy.maxAttempts,
    summary: decision.summary,
    notes: decision.notes,
  });
  const converged = decision.state.status === 'converged';
  const written = await writeIssue(forge, issue, { title, body, converged, dryRun: settings.dryRun });
  return {
    status: decision.state.status,
    converged,
    summary: decision.summary,
    notes: decision.notes,
    dispatched: decision.dispatch,
    issue: written,
    state: decision.state,
    missing: obs.missing,
    modelId: obs.modelId,
    dryRun: settings.dryRun,
  };
}

/**
 * One tracking issue per base branch, found by label and title: created when the states diverge
 * and there is none, reopened (never duplicated) when there is a closed one, updated only when the
 * rendered body changed, and closed when they converge.
 */
async function writeIssue(
  forge: Forge,
  issue: Issue | undefined,
  want: { title: string; body: string; converged: boolean; dryRun: boolean },
): Promise<ReconcileOutcome['issue']> {
  const result = (operation: IssueOperation, found: Issue | undefined) => ({
    operation,
    number: found?.number,
    url: found?.url,
  });
  const changed = issue === undefined || normalizeBody(issue.body) !== normalizeBody(want.body);
  if (want.converged) {
    if (issue === undefined || issue.state === 'closed') return result('unchanged', issue);
    if (want.dryRun) return result('closed', issue);
    if (changed) await forge.updateIssue(issue.number, { body: want.body });
    await forge.closeIssue(issue.number);
    return result('closed', issue);
  }
  if (issue === undefined) {
    if (want.dryRun) return result('created', undefined);
    return result(
      'created',
      await forge.createIssue({ title: want.title, body: want.body, labels: [RECONCILE_LABEL] }),
    );
  }
  if (issue.state === 'closed') {
    if (want.dryRun) return result('reopened', issue);
    return result('reopened', await forge.updateIssue(issue.number, { body: want.body, state: 'open' }));
  }
  if (!changed) return result('unchanged', issue);
  if (want.dryRun) return result('updated', issue);
  return result('updated', await forge.updateIssue(issue.number, { body: want.body }));
}
