import { resolve } from 'node:path';
import * as core from '@actions/core';
import { z } from 'zod';
import { FORGE_INPUTS, ForgeSettings, gitToken, openForge } from '../forge/forge-settings.js';
import { GitWorkspace } from '../forge/git-workspace.js';
import { commitModelDeploy } from '../gitops/deploy-model.js';
import { botOf, IDENTITY_INPUTS, IdentitySettings } from './common/identity.js';
import { workspacePath } from './common/inputs.js';
import { setOutputs } from './common/outputs.js';
import { retryBaseMs } from './common/retry.js';
import { defineAction, runAction } from './common/run-action.js';
import { ACTION_SECRETS, SERVICE_INPUTS, ServiceSettings, serviceAccess } from './common/service.js';

/** Every input this action reads (action.yml declares exactly these). */
export const INPUTS = [
  'model_dir',
  'registry',
  'branch',
  'reason',
  ...SERVICE_INPUTS,
  ...IDENTITY_INPUTS,
  ...FORGE_INPUTS,
] as const;

// ServiceSettings: the inference service: the outgoing model's live accuracy goes into the commit.
function settingsSchema(workspace: string) {
  return z
    .object({
      /** The validated model directory (the train job's artifact), inside the workspace. */
      model_dir: workspacePath(workspace, 'model_dir'),
      /** Registry directory in the repository. */
      registry: workspacePath(workspace, 'registry').default(resolve(workspace, 'models-registry')),
      /** Branch the deploy commit is pushed to. */
      branch: z.string().default('main'),
      /** Why this model is deployed (goes into current.json and the commit). */
      reason: z.string().max(2000).default('retrained after fleet manifest change'),
    })
    .and(ServiceSettings)
    .and(IdentitySettings)
    .and(ForgeSettings);
}

const deploy = defineAction({
  inputs: INPUTS,
  secrets: ACTION_SECRETS,
  settings: settingsSchema,
  failureTitle: 'Model deploy failed',
});

export function run(): Promise<void> {
  return runAction(deploy, async (settings, { workspace, context, notify }) => {
    const bot = botOf(settings);
    const git = await GitWorkspace.create(workspace, { token: gitToken(settings) });
    const result = await commitModelDeploy({
      git,
      forge: await openForge(settings, retryBaseMs()),
      repoDir: workspace,
      registry: settings.registry,
      modelDir: settings.model_dir,
      reason: settings.reason,
      bot,
      branch: settings.branch,
      service: serviceAccess(settings.service_url, settings.service_token),
      ...(context.runUrl ? { runUrl: context.runUrl } : {}),
    });
    setOutputs({ model_id: result.modelId, previous_model_id: result.previousModelId ?? '' });
    if (!result.deployed) {
      core.warning(result.skippedReason);
      setOutputs({ deployed: false, skipped_reason: result.skippedReason });
      await core.summary.addHeading('Deploy skipped', 2).addRaw(`${result.skippedReason}\n`, true).write();
      return;
    }
    const { modelId, qRisk, commitSha: pushed, fleetSize, coveragePct } = result;
    const previous = result.previousModelId ?? 'none';
    const qRiskText = qRisk === null ? 'n/a' : qRisk.toFixed(4);
    core.info(`deployed ${modelId}: ${result.subject} (pushed ${pushed.slice(0, 12)} to ${settings.branch})`);
    setOutputs({ deployed: true, commit_sha: pushed, coverage: coveragePct, q_risk: qRisk ?? '' });
    await core.summary
      .addHeading(`Deployed ${modelId}`, 2)
      .addTable([
        [
          { data: 'Field', header: true },
          { data: 'Value', header: true },
        ],
        ['Previous model', previous],
        ['Fleet size', String(fleetSize)],
        ['Coverage', `${coveragePct.toFixed(1)} %`],
        ['q-risk (mean, all servers)', qRiskText],
        ['Commit', pushed],
      ])
      .write();
    await notify({
      kind: 'deploy',
      title: `Deployed ${modelId}`,
      lines: [
        `${fleetSize} servers, coverage ${coveragePct.toFixed(1)}%, q-risk ${qRiskText}`,
        `previous model: ${previous}`,
      ],
    });
  });
}
