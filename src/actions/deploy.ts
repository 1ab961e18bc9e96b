import * as core from '@actions/core';
import { z } from 'zod';
import { resolve } from 'node:path';
import { GitWorkspace } from '../forge/git-workspace.js';
import { commitModelDeploy } from '../gitops/deploy-model.js';
import { runContext } from './common/context.js';
import { botOf, IDENTITY_INPUTS, IdentitySettings } from './common/identity.js';
import { parseSettings, readInputs, workspaceDir, workspacePath } from './common/inputs.js';
import { failAction, notify } from './common/notify.js';

/** Every input this action reads (action.yml declares exactly these). */
export const INPUTS = [
  'model_dir',
  'registry',
  'branch',
  'reason',
  'slack_webhook',
  ...IDENTITY_INPUTS,
] as const;
const SECRETS = ['slack_webhook'] as const;

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
      slack_webhook: z.url().optional(),
    })
    .and(IdentitySettings);
}

export async function run(): Promise<void> {
  let webhook: string | undefined;
  try {
    const workspace = workspaceDir();
    const settings = parseSettings(settingsSchema(workspace), readInputs(INPUTS, SECRETS), [...SECRETS]);
    webhook = settings.slack_webhook;
    const context = runContext();
    const bot = botOf(settings);
    const git = await GitWorkspace.create(workspace);

    const result = await commitModelDeploy({
      git,
      repoDir: workspace,
      registry: settings.registry,
      modelDir: settings.model_dir,
      reason: settings.reason,
      bot,
      branch: settings.branch,
      ...(context.runUrl ? { runUrl: context.runUrl } : {}),
    });
    core.setOutput('model_id', result.modelId);
    core.setOutput('previous_model_id', result.previousModelId ?? '');
    if (!result.deployed) {
      core.warning(result.skippedReason);
      core.setOutput('deployed', false);
      core.setOutput('skipped_reason', result.skippedReason);
      await core.summary.addHeading('Deploy skipped', 2).addRaw(`${result.skippedReason}\n`, true).write();
      return;
    }
    const { modelId, qRisk, commitSha: pushed, fleetSize, coveragePct } = result;
    const previous = result.previousModelId ?? 'none';
    const qRiskText = qRisk === null ? 'n/a' : qRisk.toFixed(4);
    core.info(`deployed ${modelId}: ${result.subject} (pushed ${pushed.slice(0, 12)} to ${settings.branch})`);

    core.setOutput('deployed', true);
    core.setOutput('commit_sha', pushed);
    core.setOutput('coverage', coveragePct);
    core.setOutput('q_risk', qRisk ?? '');
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
    await notify(webhook, {
      kind: 'deploy',
      title: `Deployed ${modelId}`,
      lines: [
        `${fleetSize} servers, coverage ${coveragePct.toFixed(1)}%, q-risk ${qRiskText}`,
        `previous model: ${previous}`,
      ],
      ...(context.runUrl ? { url: context.runUrl } : {}),
    });
  } catch (error) {
    await failAction(error, webhook, 'Model deploy failed');
  }
}
