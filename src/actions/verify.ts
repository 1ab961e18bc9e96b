import { setTimeout as sleep } from 'node:timers/promises';
import * as core from '@actions/core';
import { z } from 'zod';
import { readManifest } from '../fleet/manifest.js';
import { GitWorkspace } from '../forge/git-workspace.js';
import { verifyDeployment } from '../gitops/verify.js';
import { ModelId } from '../registry/schemas.js';
import { GateError } from '../core/errors.js';
import { AUTOMATIC_ROLLBACK_REQUESTER } from '../gitops/deploy-commit.js';
import { revertDeployCommit } from '../gitops/revert.js';
import { readLiveRecord } from '../gitops/live-record.js';
import { botOf, IDENTITY_INPUTS, IdentitySettings } from './common/identity.js';
import { BooleanInput, PositiveNumberInput, workspacePath } from './common/inputs.js';
import { setOutputs } from './common/outputs.js';
import { defineAction, runAction } from './common/run-action.js';

/** Every input this action reads (action.yml declares exactly these). */
export const INPUTS = [
  'service_url',
  'service_token',
  'model_id',
  'deploy_commit',
  'manifest_path',
  'timeout_seconds',
  'interval_seconds',
  'revert_on_failure',
  'branch',
  'slack_webhook',
  ...IDENTITY_INPUTS,
] as const;

function settingsSchema(workspace: string) {
  return z
    .object({
      service_url: z.url(),
      service_token: z.string().optional(),
      model_id: ModelId,
      /** The deploy commit to revert when verification fails. */
      deploy_commit: z
        .string()
        .regex(/^[0-9a-f]{40}$/, 'must be a full commit sha')
        .optional(),
      manifest_path: workspacePath(workspace, 'manifest_path').default(`${workspace}/fleet/manifest.json`),
      timeout_seconds: PositiveNumberInput.default(600),
      interval_seconds: PositiveNumberInput.default(15),
      revert_on_failure: BooleanInput.default(true),
      branch: z.string().default('main'),
      slack_webhook: z.url().optional(),
    })
    .and(IdentitySettings)
    .superRefine((s, ctx) => {
      if (s.revert_on_failure && s.deploy_commit === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['deploy_commit'],
          message: 'required when revert_on_failure is true',
        });
    });
}

const verify = defineAction({
  inputs: INPUTS,
  secrets: ['service_token', 'slack_webhook'],
  settings: settingsSchema,
  failureTitle: 'Deploy verification failed',
});

export function run(): Promise<void> {
  return runAction(verify, async (settings, { workspace, context, notify }) => {
    const manifest = await readManifest(settings.manifest_path);
    const servers = manifest.servers.map((s) => s.name);
    core.info(
      `verifying ${settings.model_id} at ${settings.service_url} for ${servers.length} manifest servers`,
    );

    const result = await verifyDeployment(
      {
        serviceUrl: settings.service_url,
        modelId: settings.model_id,
        manifestServers: servers,
        ...(settings.service_token ? { token: settings.service_token } : {}),
      },
      { timeoutMs: settings.timeout_seconds * 1000, intervalMs: settings.interval_seconds * 1000 },
      {
        fetch,
        now: () => Date.now(),
        sleep: (ms) => sleep(ms),
        onAttempt: (n, problems) =>
          core.info(
            problems.length === 0 ? `attempt ${n}: verified` : `attempt ${n}: ${problems.join('; ')}`,
          ),
      },
    );
    setOutputs({ verified: result.ok, attempts: result.attempts });
    const seconds = (result.elapsedMs / 1000).toFixed(0);
    if (result.ok) {
      core.info(`verified ${settings.model_id} after ${result.attempts} attempt(s), ${seconds}s`);
      await core.summary
        .addHeading(`Verified ${settings.model_id}`, 2)
        .addRaw(
          `The service serves ${settings.model_id} with 100 % coverage of ${servers.length} manifest servers and no unknown-server predictions (${result.attempts} attempts, ${seconds}s).\n`,
          true,
        )
        .write();
      return;
    }

    let revertNote = 'revert_on_failure is off: the deploy commit stays';
    setOutputs({ reverted: false });
    if (settings.revert_on_failure && settings.deploy_commit !== undefined) {
      const bot = botOf(settings);
      const git = await GitWorkspace.create(workspace);
      const sha = await revertDeployCommit(
        git,
        settings.deploy_commit,
        {
          from: settings.model_id,
          reason: `verification failed after ${seconds}s: ${result.problems.join('; ')}`,
          requestedBy: AUTOMATIC_ROLLBACK_REQUESTER,
          live: await readLiveRecord(settings.model_id, {
            serviceUrl: settings.service_url,
            token: settings.service_token,
          }),
          ...(context.runUrl ? { runUrl: context.runUrl } : {}),
        },
        bot,
        bot,
      );
      await git.push(settings.branch, bot);
      revertNote = `reverted the deploy commit ${settings.deploy_commit.slice(0, 12)} in ${sha.slice(0, 12)}`;
      setOutputs({ reverted: true, revert_sha: sha });
    }
    await core.summary
      .addHeading(`Verification of ${settings.model_id} failed`, 2)
      .addList(result.problems)
      .addRaw(`${revertNote}.\n`, true)
      .write();
    // This notice is the step's Slack message; the failure below is not announced again.
    await notify({
      kind: 'rollback',
      title: `Verification of ${settings.model_id} failed; ${revertNote}`,
      lines: result.problems.slice(0, 5),
    });
    throw new GateError(
      `verification of ${settings.model_id} failed after ${result.attempts} attempt(s) (${seconds}s): ` +
        `${result.problems.join('; ')}; ${revertNote}`,
    );
  });
}
