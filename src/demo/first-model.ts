import { join } from 'node:path';
import { withDuckDb, sqlString } from '../metrics/duckdb.js';
import { generateFleet } from '../synthetic/generator.js';
import { updateManifest } from '../drift/manifest-update.js';
import { trainModel, type TrainOutcome } from '../train/pipeline.js';
import { DEFAULT_GATES, REPORT_ONLY_ACCURACY_GATES } from '../validate/gates.js';
import { runService } from '../service/run.js';
import { readManifestServers } from '../service/serving/manifest.js';
import { commitModelDeploy } from '../gitops/deploy-model.js';
import { FleetcastError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { GIT_POLL_MS, SWAP_TIMEOUT_MS, type DemoContext, type DemoMetrics } from './context.js';
import { ServiceClient } from './service-client.js';
import { DEMO_BOT, DEMO_HUMAN } from './workspace.js';

/** The demo's first act: metrics, the initial manifest, train and deploy helpers, the service. */

export interface FleetShape {
  servers: number;
  add: number;
  sunset: number;
  seed: number;
}

export function generateMetrics(ctx: DemoContext, shape: FleetShape): Promise<DemoMetrics> {
  const { timeline, ws } = ctx;
  return ctx.steps.step('Generate fleet metrics', async (progress) => {
    const full = join(ws.dataDir, 'metrics.parquet');
    const result = await generateFleet({
      servers: shape.servers,
      days: timeline.days,
      out: full,
      seed: shape.seed,
      end: timeline.now,
      add: shape.add,
      sunset: shape.sunset,
    });
    progress(
      `${result.rows.toLocaleString('en-US')} rows, ${result.servers} servers, ${timeline.days} days of 5-minute samples`,
    );
    // The metrics store as it was at t0, when the first model was trained.
    const asOfT0 = join(ws.dataDir, 'metrics-t0.parquet');
    await withDuckDb(
      (conn) =>
        conn.run(
          `COPY (SELECT * FROM read_parquet(${sqlString(full)}) WHERE timestamp < to_timestamp(${timeline.t0.getTime() / 1000}))
           TO ${sqlString(asOfT0)} (FORMAT parquet)`,
        ),
      { access: { files: [full, asOfT0] } },
    );
    progress(
      `initial model trained as of ${timeline.t0.toISOString()}, ${Math.round((timeline.now.getTime() - timeline.t0.getTime()) / 86_400_000)} days ago`,
    );
    return { full, asOfT0 };
  });
}

/** Writes and pushes the manifest as of t0; returns its server count. */
export function initialManifest(ctx: DemoContext, metrics: DemoMetrics): Promise<number> {
  return ctx.steps.step('Initial fleet manifest (as of t0)', async (progress) => {
    const result = await updateManifest({
      metrics: metrics.asOfT0,
      manifest: ctx.manifestPath,
      now: ctx.timeline.t0,
      events: ctx.events,
    });
    await ctx.ws.git.commit(
      ['fleet/manifest.json'],
      `fleet: initial manifest (${result.servers} servers)`,
      DEMO_HUMAN,
    );
    await ctx.ws.git.push('main', DEMO_HUMAN);
    progress(`${result.servers} servers in fleet/manifest.json`);
    return result.servers;
  });
}

export interface ModelSteps {
  /** Trains and validates on the manifest; a model that fails validation stops the demo. */
  train(label: string, metricsFile: string): Promise<TrainOutcome>;
  /** Commits and pushes the pointer bump for a trained model. */
  deploy(label: string, outcome: TrainOutcome, reason: string): Promise<DeployCommit>;
}

type DeployCommit = Awaited<ReturnType<typeof deployOrFail>>;

export function modelSteps(ctx: DemoContext, profile: string, seed: number): ModelSteps {
  // A smoke model trains for about a minute and is not expected to beat seasonal naive: its
  // accuracy is reported, while coverage and convergence stay enforced.
  const gates = profile === 'smoke' ? REPORT_ONLY_ACCURACY_GATES : DEFAULT_GATES;
  if (gates !== DEFAULT_GATES)
    ctx.out.progress('profile smoke: accuracy gates report only; coverage and convergence are enforced');
  return {
    train: (label, metricsFile) =>
      ctx.steps.step(label, async (progress) => {
        const outcome = await trainModel({
          metrics: metricsFile,
          manifest: ctx.manifestPath,
          registry: ctx.registry,
          profile,
          seed,
          validate: true,
          gates,
          progress,
        });
        if (!outcome.passed || outcome.modelDir === null) {
          throw new FleetcastError(`${outcome.modelId} failed validation; work files in ${outcome.workDir}`);
        }
        progress(`${outcome.modelId}: coverage ${outcome.validation?.coverage.percent ?? 'n/a'} %`);
        return outcome;
      }),
    deploy: (label, outcome, reason) =>
      ctx.steps.step(label, async (progress) => {
        const result = await deployOrFail(ctx, outcome.modelDir!, reason);
        progress(`pushed ${result.commitSha.slice(0, 12)}: ${result.subject}`);
        return result;
      }),
  };
}

/** Commits and pushes a model's pointer bump; a skipped deploy stops the demo. */
export async function deployOrFail(ctx: DemoContext, modelDir: string, reason: string) {
  const result = await commitModelDeploy({
    git: ctx.ws.git,
    forge: ctx.ws.forge,
    repoDir: ctx.ws.clone,
    registry: ctx.registry,
    modelDir,
    reason,
    bot: DEMO_BOT,
    branch: 'main',
  });
  if (!result.deployed)
    throw new FleetcastError(`deploy of ${result.modelId} skipped: ${result.skippedReason}`);
  return result;
}

/** Starts the service following the GitOps remote and waits until it serves `modelId`. */
export function startService(
  ctx: DemoContext,
  metrics: DemoMetrics,
  port: number,
  modelId: string,
): Promise<ServiceClient> {
  return ctx.steps.step('Start the inference service (following the GitOps remote)', async (progress) => {
    const { ws } = ctx;
    const service = await runService({
      registry: 'models-registry',
      metrics: metrics.full,
      manifest: 'fleet/manifest.json',
      readManifest: readManifestServers,
      host: '127.0.0.1',
      port,
      git: { remote: ws.origin, branch: 'main', intervalMs: GIT_POLL_MS, cloneDir: ws.serviceClone },
      refreshMs: 60_000,
      pointerPollMs: 500,
      unknownWindowSeconds: 3600,
      activeWithinSeconds: 30 * 86_400,
      logger: createLogger('fleetcast-serve', 'warn'),
    });
    ctx.service = service;
    const client = new ServiceClient(service.server.url);
    await client.waitForModel(modelId, SWAP_TIMEOUT_MS);
    progress(`serving ${modelId} at ${service.server.url} (dashboard: ${service.server.url}/)`);
    return client;
  });
}
