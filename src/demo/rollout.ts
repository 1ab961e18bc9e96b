import { readManifest } from '../fleet/manifest.js';
import type { TrainOutcome } from '../train/pipeline.js';
import { latestDeployCommit } from '../gitops/deploy-history.js';
import { verifyDeployment } from '../gitops/verify.js';
import { landCommit } from '../gitops/land-commit.js';
import { revertDeployCommit } from '../gitops/revert.js';
import { FleetcastError } from '../core/errors.js';
import { SWAP_TIMEOUT_MS, type DemoContext } from './context.js';
import type { DriftPrOpened, Reporting } from './drift-stage.js';
import { deployOrFail } from './first-model.js';
import type { ServiceClient, ServiceView } from './service-client.js';
import { DEMO_HUMAN } from './workspace.js';

/** The demo's last act: deploy and hot-swap the retrained model, verify it, roll back and forward. */

export function deployAndSwap(
  ctx: DemoContext,
  retrained: TrainOutcome,
  drift: DriftPrOpened,
  client: ServiceClient,
): Promise<{ seconds: number; deployCommit: string }> {
  return ctx.steps.step('Deploy and hot-swap the retrained model', async (progress) => {
    const started = performance.now();
    const result = await deployOrFail(
      ctx,
      retrained.modelDir!,
      `fleet drift ${drift.report.drift_pct.toFixed(2)}% (PR #${drift.pr})`,
    );
    progress(`pushed ${result.commitSha.slice(0, 12)}: ${result.subject}`);
    await client.waitForModel(retrained.modelId, SWAP_TIMEOUT_MS);
    const seconds = (performance.now() - started) / 1000;
    progress(`service swapped to ${retrained.modelId} ${seconds.toFixed(1)}s after the push`);
    return { seconds, deployCommit: result.commitSha };
  });
}

export function verifyRetrained(
  ctx: DemoContext,
  retrained: TrainOutcome,
  reporting: Reporting,
  client: ServiceClient,
): Promise<ServiceView> {
  return ctx.steps.step('Verify: 100 % coverage, no unknown predictions for the fleet', async (progress) => {
    await client.predict(reporting.asked);
    const manifest = await readManifest(ctx.manifestPath);
    const result = await verifyDeployment(
      {
        serviceUrls: [client.baseUrl],
        modelId: retrained.modelId,
        manifestServers: manifest.servers.map((s) => s.name),
      },
      { timeoutMs: 60_000, intervalMs: 500 },
      { fetch, now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
    );
    if (!result.ok) throw new FleetcastError(`verification failed: ${result.problems.join('; ')}`);
    const view = await client.view();
    progress(`verified after ${result.attempts} poll(s): coverage ${view.coveragePct?.toFixed(1)} %`);
    return view;
  });
}

export function rollBack(
  ctx: DemoContext,
  retrained: TrainOutcome,
  initial: TrainOutcome,
  client: ServiceClient,
): Promise<{ seconds: number; revertSha: string }> {
  return ctx.steps.step('Roll back with git revert; the service follows', async (progress) => {
    const { git } = ctx.ws;
    const started = performance.now();
    const history = await git.history('models-registry/current.json');
    const commit = latestDeployCommit(history, retrained.modelId);
    if (commit === undefined) throw new FleetcastError('no deploy commit of the retrained model to revert');
    await revertDeployCommit(
      git,
      commit.sha,
      {
        from: retrained.modelId,
        reason: 'demo: rolling back to show the service following a revert',
        requestedBy: DEMO_HUMAN.name,
      },
      DEMO_HUMAN,
      DEMO_HUMAN,
    );
    // Landed as the rollback workflow lands it: through the forge, a fast-forward of main.
    const sha = await landCommit(ctx.ws.forge, git, 'main');
    progress(`git revert ${commit.sha.slice(0, 12)} → ${sha.slice(0, 12)} landed`);
    await client.waitForModel(initial.modelId, SWAP_TIMEOUT_MS);
    const seconds = (performance.now() - started) / 1000;
    progress(`service back on ${initial.modelId} after ${seconds.toFixed(1)}s`);
    return { seconds, revertSha: sha };
  });
}

/** A human reverts the revert; returns the seconds until the service serves the retrained model again. */
export function rollForward(
  ctx: DemoContext,
  retrained: TrainOutcome,
  revertSha: string,
  client: ServiceClient,
): Promise<number> {
  return ctx.steps.step('Roll forward again (a human reverts the revert)', async (progress) => {
    const { git } = ctx.ws;
    const started = performance.now();
    const sha = await git.revert(
      revertSha,
      `Revert the rollback of ${retrained.modelId}\n\nThe retrained model was fine; serve it again.\n\nRequested-by: ${DEMO_HUMAN.name}`,
      DEMO_HUMAN,
      DEMO_HUMAN,
    );
    await git.push('main', DEMO_HUMAN);
    progress(`pushed ${sha.slice(0, 12)}`);
    await client.waitForModel(retrained.modelId, SWAP_TIMEOUT_MS);
    const seconds = (performance.now() - started) / 1000;
    progress(`service on ${retrained.modelId} again after ${seconds.toFixed(1)}s`);
    return seconds;
  });
}
