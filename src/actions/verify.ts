import { setTimeout as sleep } from 'node:timers/promises';
import * as core from '@actions/core';
import { z } from 'zod';
import { readManifest } from '../fleet/manifest.js';
import { FORGE_INPUTS, ForgeSettings, gitToken, openForge } from '../forge/forge-settings.js';
import { GitWorkspace } from '../forge/git-workspace.js';
import { landCommit } from '../gitops/land-commit.js';
import { verifyDeployment, type ReplicaResult } from '../gitops/verify.js';
import { replicaUrls } from '../gitops/verify-replicas.js';
import { DEFAULT_ENVIRONMENT, startVerifyReport } from '../gitops/verify-report.js';
import { ModelId } from '../registry/schemas.js';
import { GateError, getErrorMessage } from '../core/errors.js';
import { AUTOMATIC_ROLLBACK_REQUESTER } from '../gitops/deploy-commit.js';
import { revertDeployCommit } from '../gitops/revert.js';
import { readLiveRecord } from '../gitops/live-record.js';
import { botOf, IDENTITY_INPUTS, IdentitySettings } from './common/identity.js';
import { BooleanInput, PositiveNumberInput, workspacePath } from './common/inputs.js';
import { setOutputs } from './common/outputs.js';
import { retryBaseMs } from './common/retry.js';
import { defineAction, runAction } from './common/run-action.js';
import { ACTION_SECRETS, SERVICE_INPUTS, ServiceSettings } from './common/service.js';

/** Every input this action reads (action.yml declares exactly these). */
export const INPUTS = [
  ...SERVICE_INPUTS,
  'each_address',
  'model_id',
  'deploy_commit',
  'manifest_path',
  'timeout_seconds',
  'interval_seconds',
  'revert_on_failure',
  'branch',
  'environment',
  ...IDENTITY_INPUTS,
  ...FORGE_INPUTS,
] as const;

function settingsSchema(workspace: string) {
  return z
    .object({
      /** Verify every address each URL's host name resolves to (a headless Service: every pod). */
      each_address: BooleanInput.default(false),
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
      /** GitHub environment the deployment is recorded in (with deploy_commit). */
      environment: z.string().min(1).max(255).default(DEFAULT_ENVIRONMENT),
    })
    .and(
      ServiceSettings.extend({
        /** One or more replica base URLs, separated by commas or whitespace. */
        service_url: z
          .string()
          .transform((v) => v.split(/[\s,]+/).filter((u) => u !== ''))
          .pipe(z.array(z.url()).min(1, 'at least one URL')),
      }),
    )
    .and(IdentitySettings)
    .and(ForgeSettings)
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
  secrets: ACTION_SECRETS,
  settings: settingsSchema,
  failureTitle: 'Deploy verification failed',
});

export function run(): Promise<void> {
  return runAction(verify, async (settings, { workspace, context, notify }) => {
    const manifest = await readManifest(settings.manifest_path);
    const servers = manifest.servers.map((s) => s.name);
    const replicas = await replicaUrls(settings.service_url, settings.each_address);
    const forge = await openForge(settings, retryBaseMs());
    // With the deploy commit: its fleetcast/verify status and a Deployment say how verify went.
    const report =
      settings.deploy_commit === undefined
        ? undefined
        : await startVerifyReport(forge, {
            sha: settings.deploy_commit,
            modelId: settings.model_id,
            environment: settings.environment,
            environmentUrl: settings.service_url[0]!,
            runUrl: context.runUrl,
            warn: (m) => core.warning(m),
          });
    core.info(
      `verifying ${settings.model_id} on ${replicas.length} replica(s) (${replicas.join(', ')}) for ${servers.length} manifest servers`,
    );

    const result = await verifyDeployment(
      {
        serviceUrls: replicas,
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
    setOutputs({
      verified: result.ok,
      attempts: result.attempts,
      replicas: result.replicas.length,
      replicas_verified: result.replicas.filter((r) => r.ok).length,
    });
    for (const r of result.replicas) core.info(`${r.url}: ${r.ok ? 'verified' : r.problems.join('; ')}`);
    const seconds = (result.elapsedMs / 1000).toFixed(0);
    if (result.ok) {
      core.info(`verified ${settings.model_id} after ${result.attempts} attempt(s), ${seconds}s`);
      await report?.finish(
        true,
        `${settings.model_id} serves every manifest server on ${result.replicas.length} replica(s)`,
      );
      await core.summary
        .addHeading(`Verified ${settings.model_id}`, 2)
        .addRaw(
          `Every replica (${result.replicas.length}) serves ${settings.model_id} with 100 % coverage of ${servers.length} manifest servers and no unknown-server predictions (${result.attempts} attempts, ${seconds}s).\n`,
          true,
        )
        .addTable(replicaTable(result.replicas))
        .write();
      return;
    }

    let revertNote = 'revert_on_failure is off: the deploy commit stays';
    setOutputs({ reverted: false });
    if (settings.revert_on_failure && settings.deploy_commit !== undefined) {
      const bot = botOf(settings);
      const deployCommit = settings.deploy_commit;
      let sha: string;
      try {
        const git = await GitWorkspace.create(workspace, { token: gitToken(settings) });
        await revertDeployCommit(
          git,
          deployCommit,
          {
            from: settings.model_id,
            reason: `verification failed after ${seconds}s: ${result.problems.join('; ')}`,
            requestedBy: AUTOMATIC_ROLLBACK_REQUESTER,
            live: await readLiveRecord(settings.model_id, {
              serviceUrl: replicas[0],
              token: settings.service_token,
            }),
            ...(context.runUrl ? { runUrl: context.runUrl } : {}),
          },
          bot,
          bot,
        );
        sha = await landCommit(forge, git, settings.branch);
      } catch (error) {
        // The status must not stay pending: the deploy is unverified and still in place.
        await report?.finish(false, `verification failed and the revert failed: ${getErrorMessage(error)}`);
        throw error;
      }
      revertNote = `reverted the deploy commit ${settings.deploy_commit.slice(0, 12)} in ${sha.slice(0, 12)}`;
      setOutputs({ reverted: true, revert_sha: sha });
    }
    await report?.finish(false, `${result.problems[0] ?? 'verification failed'}; ${revertNote}`);
    await core.summary
      .addHeading(`Verification of ${settings.model_id} failed`, 2)
      .addTable(replicaTable(result.replicas))
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

/** The step summary's per-replica table: each replica verified, or its first problems. */
function replicaTable(replicas: readonly ReplicaResult[]) {
  return [
    [
      { data: 'Replica', header: true },
      { data: 'Result', header: true },
    ],
    ...replicas.map((r) => [r.url, r.ok ? 'verified' : r.problems.slice(0, 3).join('; ')]),
  ];
}
