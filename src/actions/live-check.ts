import { resolve } from 'node:path';
import * as core from '@actions/core';
import { z } from 'zod';
import { EventLog } from '../core/events-log.js';
import {
  candidatePolicyOf,
  liveRegressionPolicyOf,
  loadRetrainConfig,
  type CandidatePolicy,
} from '../config/retrain-config.js';
import { FORGE_INPUTS, ForgeSettings, gitToken, openForge } from '../forge/forge-settings.js';
import { GitWorkspace } from '../forge/git-workspace.js';
import type { CommitAuthor, Forge } from '../forge/types.js';
import { evaluateCandidate } from '../gitops/candidate-evaluate.js';
import { readCandidateComparison } from '../gitops/candidate-status.js';
import { readPointer } from '../registry/pointer.js';
import { liveCheckJson, liveCheckNotification, runLiveCheck } from '../gitops/live-check.js';
import { botOf, IDENTITY_INPUTS, IdentitySettings } from './common/identity.js';
import { BooleanInput, workspacePath } from './common/inputs.js';
import { setOutputs } from './common/outputs.js';
import { retryBaseMs } from './common/retry.js';
import { defineAction, runAction } from './common/run-action.js';
import { ACTION_SECRETS, SERVICE_INPUTS, ServiceSettings, serviceAccess } from './common/service.js';

/** Every input this action reads (action.yml declares exactly these). */
export const INPUTS = [
  ...SERVICE_INPUTS,
  'registry',
  'config',
  'branch',
  'dry_run',
  'evaluate_candidate',
  ...IDENTITY_INPUTS,
  ...FORGE_INPUTS,
] as const;

function settingsSchema(workspace: string) {
  return z
    .object({
      registry: workspacePath(workspace, 'registry').default(resolve(workspace, 'models-registry')),
      /** The retrain config with the live_regression block; default config/retrain_config.json if present. */
      config: workspacePath(workspace, 'config').optional(),
      branch: z.string().default('main'),
      dry_run: BooleanInput.default(false),
      /** Also run the pointer's candidate through the promotion rule (docs/candidate.md). */
      evaluate_candidate: BooleanInput.default(true),
    })
    .and(ServiceSettings.extend({ service_url: z.url() }))
    .and(IdentitySettings)
    .and(ForgeSettings);
}

/** `Requested-by:` of the workflow's promote and rollback commits. */
const CANDIDATE_WORKFLOW_REQUESTER = 'fleetcast live-check (workflow)';

const liveCheck = defineAction({
  inputs: INPUTS,
  secrets: ACTION_SECRETS,
  settings: settingsSchema,
  failureTitle: 'Live check failed',
});

/**
 * Automatic rollback on live regression (src/gitops/live-check.ts), then the pointer's candidate
 * through the promotion rule (src/gitops/candidate-evaluate.ts); the step fails only on errors.
 */
export function run(): Promise<void> {
  return runAction(liveCheck, async (settings, { workspace, context, notify }) => {
    const loaded = await loadRetrainConfig(settings.config, workspace);
    const bot = botOf(settings);
    const git = await GitWorkspace.create(workspace, { token: gitToken(settings) });
    const forge = settings.dry_run ? undefined : await openForge(settings, retryBaseMs());
    const events = settings.dry_run ? null : new EventLog(resolve(workspace, loaded.config.events_log));
    const service = serviceAccess(settings.service_url, settings.service_token);
    const outcome = await runLiveCheck({
      git,
      repoDir: workspace,
      registry: settings.registry,
      service,
      policy: liveRegressionPolicyOf(loaded.config),
      bot,
      branch: settings.branch,
      // the revert lands through the forge: signed on GitHub, a fast-forward under branch protection
      ...(forge === undefined ? {} : { forge }),
      ...(context.runUrl ? { runUrl: context.runUrl } : {}),
      // The runner's copy of the log goes with the job; the revert commit is the lasting record.
      events,
      dryRun: settings.dry_run,
    });
    const json = liveCheckJson(outcome);
    core.info(`${outcome.modelId}: ${outcome.decision.action} (${outcome.decision.reason})`);
    for (const note of outcome.decision.notes) core.info(`note: ${note}`);
    setOutputs({
      model_id: outcome.modelId,
      action: outcome.decision.action,
      reason: outcome.decision.reason,
      reverted: outcome.revertSha !== null,
      revert_sha: outcome.revertSha ?? '',
    });
    await core.summary
      .addHeading(
        `Live check of ${outcome.modelId}: ${outcome.revertSha !== null ? 'reverted' : json.action}`,
        2,
      )
      .addRaw(`${outcome.decision.reason}\n`, true)
      .addList(outcome.decision.notes)
      .write();
    const notice = liveCheckNotification(outcome);
    if (notice !== null && !outcome.dryRun) await notify(notice);

    const candidate = await candidateStep(settings, {
      reverted: outcome.revertSha !== null,
      service,
      git,
      workspace,
      forge,
      events,
      bot,
      policy: candidatePolicyOf(loaded.config),
      ...(context.runUrl ? { runUrl: context.runUrl } : {}),
    });
    setOutputs({ candidate_decision: candidate.decision, candidate_commit_sha: candidate.commitSha });
    if (candidate.line !== null) {
      core.info(candidate.line);
      await core.summary.addHeading('Candidate', 3).addRaw(`${candidate.line}\n`, true).write();
    }
  });
}

/** The pointer's candidate through the promotion rule, landed through the forge; skipped when there is nothing to do. */
async function candidateStep(
  settings: {
    registry: string;
    branch: string;
    dry_run: boolean;
    evaluate_candidate: boolean;
  },
  run: {
    reverted: boolean;
    service: { serviceUrl: string; token?: string };
    git: GitWorkspace;
    workspace: string;
    forge: Forge | undefined;
    events: EventLog | null;
    bot: CommitAuthor;
    policy: CandidatePolicy;
    runUrl?: string;
  },
): Promise<{ decision: string; commitSha: string; line: string | null }> {
  const skipped = (line: string | null) => ({ decision: '', commitSha: '', line });
  if (!settings.evaluate_candidate) return skipped(null);
  const pointer = await readPointer(settings.registry);
  if (pointer?.candidate === undefined) return skipped(null);
  const name = pointer.candidate.model_id;
  if (run.reverted) return skipped(`candidate ${name}: not evaluated after a revert; the next run does`);
  if (settings.dry_run) return skipped(`candidate ${name}: not evaluated in a dry run`);
  const result = await evaluateCandidate({
    git: run.git,
    repoDir: run.workspace,
    registry: settings.registry,
    comparison: await readCandidateComparison(run.service),
    policy: run.policy,
    bot: run.bot,
    requestedBy: CANDIDATE_WORKFLOW_REQUESTER,
    branch: settings.branch,
    events: run.events,
    ...(run.forge === undefined ? {} : { forge: run.forge }),
    ...(run.runUrl === undefined ? {} : { runUrl: run.runUrl }),
  });
  const reasons = result.reasons.length > 0 ? ` (${result.reasons.join('; ')})` : '';
  return {
    decision: result.decision,
    commitSha: result.commit_sha ?? '',
    line: `candidate ${name}: ${result.decision}: ${result.summary}${reasons}`,
  };
}
