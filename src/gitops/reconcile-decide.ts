import type { ReconcilePolicy } from '../config/retrain-config.js';
import { listServers } from '../fleet/coverage.js';
import type { FailedJob, WorkflowRun } from '../forge/types.js';
import { MAX_LOGGED_ATTEMPTS, type Attempt, type ReconcileState } from './reconcile-issue.js';
import type { Observation } from './reconcile-observe.js';
import { VERIFY_STATUS_CONTEXT } from './verify-report.js';

/**
 * The reconcile loop's decision, pure: from what it sees now and the state the last run left, the
 * next state, whether to dispatch a retrain now, and what to say. Level-triggered: the same
 * difference gives the same action whatever happened in between, and a lost run loses nothing.
 */

export interface Decision {
  state: ReconcileState;
  /** The retrain to dispatch in this run (or, with `reverify`, the verify-only run). */
  dispatch: Attempt | undefined;
  /** Set when `dispatch` only re-verifies a deploy (retrain.yml's `verify_commit` input). */
  reverify?: { deployCommit: string; modelId: string };
  summary: string;
  notes: string[];
}

const MINUTE = 60_000;

/** Minutes to wait after the `attempts`-th dispatch (0: after first seeing the divergence). */
export function backoffMinutes(attempts: number, policy: ReconcilePolicy): number {
  return Math.min(policy.backoffInitialMinutes * 2 ** attempts, policy.backoffMaxMinutes);
}

export const isActive = (run: WorkflowRun) => run.status !== 'completed';

/** The run a dispatch started: its name carries the attempt id (retrain.yml `run-name`). */
export function runOf(attempt: Attempt, runs: readonly WorkflowRun[]): WorkflowRun | undefined {
  return runs.find((r) => r.title.includes(attempt.id));
}

/** Why a failed run failed, from its failed jobs (retrain.yml: train, deploy, verify). */
export function failureReason(run: WorkflowRun, jobs: readonly FailedJob[]): string {
  const names = jobs.map((j) => j.name.toLowerCase());
  if (names.some((n) => n.includes('verify')))
    return 'verify failed: the service did not serve the new model for every manifest server, and the deploy was reverted';
  if (names.some((n) => n.includes('deploy')))
    return 'deploy failed or its approval (environment production) was rejected';
  if (names.some((n) => n.includes('train')))
    return 'training or its validation gate failed (see the train-work artifact of the run)';
  if (jobs.length > 0) return jobs.map((j) => `job ${j.name} ${j.conclusion}`).join(', ');
  return `the run ended ${run.conclusion ?? 'without a conclusion'}`;
}

/** The last attempt brought up to date with its run. `jobs` are the failed jobs of a failed run. */
export function settleAttempt(
  attempt: Attempt,
  run: WorkflowRun | undefined,
  jobs: readonly FailedJob[],
  covered: boolean,
): Attempt {
  if (attempt.outcome === 'failed' || attempt.outcome === 'succeeded') return attempt;
  if (covered) return { ...attempt, outcome: 'succeeded', reason: null, ...runFields(run) };
  if (run === undefined) return attempt;
  if (isActive(run)) return { ...attempt, outcome: 'running', ...runFields(run) };
  const reason =
    run.conclusion === 'success'
      ? 'the run succeeded, but the deployed model still does not cover the manifest or its deploy is not verified (deploy skipped, verify could not report, or a later change)'
      : failureReason(run, jobs);
  return { ...attempt, outcome: 'failed', reason, ...runFields(run) };
}

function runFields(run: WorkflowRun | undefined): Pick<Attempt, 'runId' | 'runUrl'> | object {
  return run === undefined ? {} : { runId: run.id, runUrl: run.url };
}

function attemptId(obs: Observation, n: number, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').slice(0, 13); // 20260102T0304
  return `${obs.manifestSha256.slice(0, 8)}-${n}-${stamp}`;
}

export function decide(
  obs: Observation,
  previous: ReconcileState | undefined,
  policy: ReconcilePolicy,
  now: Date,
): Decision {
  const covered = obs.missing.length === 0;
  const sameEpisode =
    previous !== undefined &&
    previous.manifestSha256 === obs.manifestSha256 &&
    // Converged and still converged keeps its record; diverging again starts a new episode.
    (previous.status !== 'converged' || covered);
  const episode: ReconcileState = sameEpisode
    ? { ...previous }
    : {
        version: 1,
        status: 'waiting',
        manifestSha256: obs.manifestSha256,
        since: now.toISOString(),
        attempts: 0,
        nextTryAt: null,
        log: [],
      };
  const notes: string[] = [];
  const state = (status: ReconcileState['status'], nextTryAt: string | null = null): ReconcileState => ({
    ...episode,
    status,
    nextTryAt,
  });
  const model = obs.modelId ?? 'none';
  const active = obs.runs.find(isActive);
  const last = episode.log.at(-1);
  if (last?.outcome === 'failed' && last.reason !== null) notes.push(`last attempt failed: ${last.reason}`);

  if (covered) {
    const served = obs.served;
    const unserved =
      served !== undefined && ('error' in served || served.modelId !== obs.modelId) ? served : undefined;
    const verification = obs.deployVerification;
    if (unserved === undefined && verification !== undefined && verification.state !== 'success') {
      const said =
        verification.state === 'none'
          ? `has no ${VERIFY_STATUS_CONTEXT} status`
          : `has ${VERIFY_STATUS_CONTEXT} ${verification.state}`;
      const summary = `current.json names ${model}, which covers the manifest, but its deploy commit ${verification.sha.slice(0, 12)} ${said}: unverified deploy`;
      if (active === undefined && verification.state === 'failure')
        notes.push(
          `verify failed on ${verification.sha.slice(0, 12)} and did not revert it: revert it (Rollback workflow) or fix the service and re-run the verify job`,
        );
      else if (active === undefined && obs.modelId !== null)
        return reverify(
          episode,
          obs,
          { sha: verification.sha, modelId: obs.modelId },
          summary,
          notes,
          policy,
          now,
        );
      return {
        state: state(active === undefined ? 'unverified' : 'running'),
        dispatch: undefined,
        summary,
        notes,
      };
    }
    if (unserved === undefined)
      return {
        state: state('converged'),
        dispatch: undefined,
        summary: `the deployed model ${model} covers all ${obs.manifestServers.length} manifest servers`,
        notes,
      };
    const what = 'error' in unserved ? unserved.error : `/health reports ${unserved.modelId ?? 'no model'}`;
    notes.push(
      'the deploy commit was never verified as served (verify cancelled or timed out?): re-run the ' +
        "verify job of the deploy's Retrain run, or check the service; the loop does not retrain for this",
    );
    return {
      state: state(active === undefined ? 'unverified' : 'running'),
      dispatch: undefined,
      summary: `current.json names ${model}, which covers the manifest, but the service does not serve it (${what})`,
      notes,
    };
  }

  const gap = `the deployed model ${model} misses ${obs.missing.length} of ${obs.manifestServers.length} manifest servers (${listServers(obs.missing, 5)})`;
  if (obs.heldBy !== undefined) {
    notes.push(
      `${obs.heldBy.by} rolled back ${obs.heldBy.models.join(', ') || 'a deploy'} in ${obs.heldBy.sha.slice(0, 12)}; ` +
        "the loop never fights a person's rollback: it retrains again only after the manifest changes or a model is deployed by hand (Actions → Retrain, or the Rollback workflow with model_id)",
    );
    return {
      state: state('held'),
      dispatch: undefined,
      summary: `${gap}; held because a person rolled back`,
      notes,
    };
  }
  if (active !== undefined)
    return {
      state: state('running', episode.nextTryAt),
      dispatch: undefined,
      summary: `${gap}; retrain run ${active.id} is ${active.status}${active.status === 'waiting' ? ' (an approval?)' : ''}, waiting for it`,
      notes,
    };
  if (episode.attempts >= policy.maxAttempts) {
    notes.push(
      `reconcile_max_attempts (${policy.maxAttempts}) reached for this manifest: no more automatic retrains; ` +
        'fix the cause and dispatch Retrain by hand, or merge a new manifest (which starts a new count)',
    );
    return {
      state: state('gave-up'),
      dispatch: undefined,
      summary: `${gap}; gave up after ${episode.attempts} retrains`,
      notes,
    };
  }
  const due = nextTryDue(episode, policy);
  if (now < due)
    return {
      state: state('waiting', due.toISOString()),
      dispatch: undefined,
      summary: `${gap}; next retrain at ${due.toISOString()}`,
      notes,
    };
  const { attempt, state: dispatched } = withDispatch(episode, obs, 'dispatched', policy, now);
  return {
    state: dispatched,
    dispatch: attempt,
    summary: `${gap}; dispatched retrain attempt ${dispatched.attempts} of ${policy.maxAttempts}`,
    notes,
  };
}

/** When the next dispatch is due: the backoff after the last attempt (or the episode's start). */
function nextTryDue(episode: ReconcileState, policy: ReconcilePolicy): Date {
  const from = Date.parse(episode.log.at(-1)?.at ?? episode.since);
  return new Date(from + backoffMinutes(episode.attempts, policy) * MINUTE);
}

/** One more dispatched attempt in the episode: counted, logged, and the next try scheduled. */
function withDispatch(
  episode: ReconcileState,
  obs: Observation,
  status: ReconcileState['status'],
  policy: ReconcilePolicy,
  now: Date,
  idSuffix = '',
): { attempt: Attempt; state: ReconcileState } {
  const n = episode.attempts + 1;
  const attempt: Attempt = {
    id: `${attemptId(obs, n, now)}${idSuffix}`,
    at: now.toISOString(),
    runId: null,
    runUrl: null,
    outcome: 'dispatched',
    reason: null,
  };
  const next = new Date(now.getTime() + backoffMinutes(n, policy) * MINUTE);
  return {
    attempt,
    state: {
      ...episode,
      status,
      attempts: n,
      nextTryAt: n < policy.maxAttempts ? next.toISOString() : null,
      log: [...episode.log, attempt].slice(-MAX_LOGGED_ATTEMPTS),
    },
  };
}

/**
 * A deploy whose verify never finished (cancelled, timed out, could not report): verify is
 * idempotent, so the loop dispatches a verify-only run of the retrain workflow for that commit,
 * with the retrains' backoff and attempt cap. Never a retrain: the model covers the manifest.
 */
function reverify(
  episode: ReconcileState,
  obs: Observation,
  deploy: { sha: string; modelId: string },
  summary: string,
  notes: string[],
  policy: ReconcilePolicy,
  now: Date,
): Decision {
  const held = (nextTryAt: string | null): ReconcileState => ({
    ...episode,
    status: 'unverified',
    nextTryAt,
  });
  if (episode.attempts >= policy.maxAttempts) {
    notes.push(
      `reconcile_max_attempts (${policy.maxAttempts}) reached: no more automatic runs; re-run the verify job of the deploy's Retrain run by hand, or roll back`,
    );
    return { state: held(null), dispatch: undefined, summary, notes };
  }
  const due = nextTryDue(episode, policy);
  if (now < due) {
    notes.push(
      `the loop re-verifies ${deploy.sha.slice(0, 12)} at ${due.toISOString()} (verify-only run; no retrain)`,
    );
    return { state: held(due.toISOString()), dispatch: undefined, summary, notes };
  }
  const { attempt, state } = withDispatch(episode, obs, 'unverified', policy, now, '-verify');
  notes.push(
    `dispatched a verify-only run for ${deploy.sha.slice(0, 12)} (attempt ${state.attempts} of ${policy.maxAttempts})`,
  );
  return {
    state,
    dispatch: attempt,
    reverify: { deployCommit: deploy.sha, modelId: deploy.modelId },
    summary,
    notes,
  };
}
