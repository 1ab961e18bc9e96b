import { relative, resolve } from 'node:path';
import * as core from '@actions/core';
import { z } from 'zod';
import { FORGE_INPUTS, ForgeSettings, gitToken, openForge } from '../forge/forge-settings.js';
import { GitWorkspace } from '../forge/git-workspace.js';
import { landCommit } from '../gitops/land-commit.js';
import { rollbackCommitMessage } from '../gitops/deploy-commit.js';
import { latestDeployCommit } from '../gitops/deploy-history.js';
import { pointerPath } from '../registry/layout.js';
import { readPointer, rollback as rollbackPointer } from '../registry/pointer.js';
import { ModelId } from '../registry/schemas.js';
import { InputError } from '../core/errors.js';
import { revertDeployCommit } from '../gitops/revert.js';
import { readLiveRecord } from '../gitops/live-record.js';
import { botOf, IDENTITY_INPUTS, IdentitySettings } from './common/identity.js';
import { workspacePath } from './common/inputs.js';
import { setOutputs } from './common/outputs.js';
import { retryBaseMs } from './common/retry.js';
import { defineAction, runAction } from './common/run-action.js';
import { ACTION_SECRETS, SERVICE_INPUTS, ServiceSettings, serviceAccess } from './common/service.js';

/** Every input this action reads (action.yml declares exactly these). */
export const INPUTS = [
  'model_id',
  'reason',
  'registry',
  'branch',
  ...SERVICE_INPUTS,
  ...IDENTITY_INPUTS,
  ...FORGE_INPUTS,
] as const;

// ServiceSettings: the inference service: the outgoing model's live accuracy goes into the commit.
function settingsSchema(workspace: string) {
  return z
    .object({
      /** Model to point back at; empty: revert the latest deploy commit. */
      model_id: ModelId.optional(),
      reason: z.string().min(1).max(500).default('manual rollback'),
      registry: workspacePath(workspace, 'registry').default(resolve(workspace, 'models-registry')),
      branch: z.string().default('main'),
    })
    .and(ServiceSettings)
    .and(IdentitySettings)
    .and(ForgeSettings);
}

const rollback = defineAction({
  inputs: INPUTS,
  secrets: ACTION_SECRETS,
  settings: settingsSchema,
  failureTitle: 'Rollback failed',
});

export function run(): Promise<void> {
  return runAction(rollback, async (settings, { workspace, context, notify }) => {
    const bot = botOf(settings);
    // The person who dispatched the rollback authors its commit; the bot commits it.
    const requester = context.actorAuthor ?? bot;
    const git = await GitWorkspace.create(workspace, { token: gitToken(settings) });
    const forge = await openForge(settings, retryBaseMs());
    const pointerRel = relative(workspace, pointerPath(settings.registry));

    const before = await readPointer(settings.registry);
    if (before === null)
      throw new InputError(`${pointerRel}: nothing has been deployed, nothing to roll back`);
    const facts = {
      from: before.model_id,
      live: await readLiveRecord(
        before.model_id,
        serviceAccess(settings.service_url, settings.service_token),
      ),
      reason: settings.reason,
      requestedBy: context.actor,
      ...(context.runUrl ? { runUrl: context.runUrl } : {}),
    };

    let method: 'revert' | 'pointer';
    const deployCommit =
      settings.model_id === undefined
        ? latestDeployCommit(await git.history(pointerRel), before.model_id)
        : undefined;
    if (deployCommit !== undefined) {
      // The pointer is where the latest deploy put it: undo that commit, so history pairs them.
      method = 'revert';
      await revertDeployCommit(git, deployCommit.sha, facts, requester, bot);
    } else {
      method = 'pointer';
      const change = await rollbackPointer(settings.registry, {
        ...(settings.model_id === undefined ? {} : { to: settings.model_id }),
        reason: `${settings.reason} (rollback by ${context.actor})`,
      });
      await git.commit([pointerRel], rollbackCommitMessage(change.pointer.model_id, facts), requester, bot);
    }
    // Landed through the forge (signed on GitHub); the person stays in the Requested-by line.
    const sha = await landCommit(forge, git, settings.branch);
    const after = await readPointer(settings.registry);
    const now = after?.model_id ?? 'none';
    core.info(`rolled back ${before.model_id} -> ${now} (${method}, ${sha.slice(0, 12)})`);
    setOutputs({ method, rolled_back: before.model_id, model_id: now, commit_sha: sha });
    await core.summary
      .addHeading('Rollback', 2)
      .addTable([
        [
          { data: 'Field', header: true },
          { data: 'Value', header: true },
        ],
        ['Rolled back', before.model_id],
        ['Now deployed', now],
        ['How', method === 'revert' ? 'git revert of the deploy commit' : 'pointer commit'],
        ['Requested by', context.actor],
        ['Reason', settings.reason],
        ['Commit', sha],
      ])
      .addRaw(
        `Automation will not redeploy ${before.model_id} (or an older model) until a newer model is trained.\n`,
        true,
      )
      .write();
    await notify({
      kind: 'rollback',
      title: `Rolled back ${before.model_id} -> ${now}`,
      lines: [`by ${context.actor}: ${settings.reason}`],
    });
  });
}
