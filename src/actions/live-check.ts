import { resolve } from 'node:path';
import * as core from '@actions/core';
import { z } from 'zod';
import { EventLog } from '../core/events-log.js';
import { liveRegressionPolicyOf, loadRetrainConfig } from '../config/retrain-config.js';
import { FORGE_INPUTS, ForgeSettings, openForge } from '../forge/forge-settings.js';
import { GitWorkspace } from '../forge/git-workspace.js';
import { liveCheckJson, liveCheckNotification, runLiveCheck } from '../gitops/live-check.js';
import { botOf, IDENTITY_INPUTS, IdentitySettings } from './common/identity.js';
import { BooleanInput, workspacePath } from './common/inputs.js';
import { setOutputs } from './common/outputs.js';
import { retryBaseMs } from './common/retry.js';
import { defineAction, runAction } from './common/run-action.js';

/** Every input this action reads (action.yml declares exactly these). */
export const INPUTS = [
  'service_url',
  'service_token',
  'registry',
  'config',
  'branch',
  'dry_run',
  'slack_webhook',
  ...IDENTITY_INPUTS,
  ...FORGE_INPUTS,
] as const;

function settingsSchema(workspace: string) {
  return z
    .object({
      service_url: z.url(),
      service_token: z.string().optional(),
      registry: workspacePath(workspace, 'registry').default(resolve(workspace, 'models-registry')),
      /** The retrain config with the live_regression block; default config/retrain_config.json if present. */
      config: workspacePath(workspace, 'config').optional(),
      branch: z.string().default('main'),
      dry_run: BooleanInput.default(false),
      slack_webhook: z.url().optional(),
    })
    .and(IdentitySettings)
    .and(ForgeSettings);
}

const liveCheck = defineAction({
  inputs: INPUTS,
  secrets: ['service_token', 'slack_webhook', 'token'],
  settings: settingsSchema,
  failureTitle: 'Live check failed',
});

/** Automatic rollback on live regression (src/gitops/live-check.ts); the step fails only on errors. */
export function run(): Promise<void> {
  return runAction(liveCheck, async (settings, { workspace, context, notify }) => {
    const loaded = await loadRetrainConfig(settings.config, workspace);
    const bot = botOf(settings);
    const outcome = await runLiveCheck({
      git: await GitWorkspace.create(workspace),
      repoDir: workspace,
      registry: settings.registry,
      service: {
        serviceUrl: settings.service_url,
        ...(settings.service_token ? { token: settings.service_token } : {}),
      },
      policy: liveRegressionPolicyOf(loaded.config),
      bot,
      branch: settings.branch,
      // the revert lands through the forge: signed on GitHub, a fast-forward under branch protection
      ...(settings.dry_run ? {} : { forge: await openForge(settings, retryBaseMs()) }),
      ...(context.runUrl ? { runUrl: context.runUrl } : {}),
      // The runner's copy of the log goes with the job; the revert commit is the lasting record.
      events: settings.dry_run ? null : new EventLog(resolve(workspace, loaded.config.events_log)),
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
  });
}
