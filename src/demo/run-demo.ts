import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withDuckDb, sqlString } from '../metrics/duckdb.js';
import { generateFleet } from '../synthetic/generator.js';
import { updateManifest } from '../drift/manifest-update.js';
import { readManifest } from '../fleet/manifest.js';
import { runDriftCheck } from '../drift/index.js';
import { EventLog } from '../core/events-log.js';
import { trainModel, type TrainOutcome } from '../train/pipeline.js';
import { DEFAULT_GATES, REPORT_ONLY_ACCURACY_GATES } from '../validate/gates.js';
import { runService, type RunningService } from '../service/run.js';
import { readManifestServers } from '../service/serving/manifest.js';
import { renderDriftPrBody } from '../gitops/drift-pr-body.js';
import { headlineQRisk } from '../gitops/validation-summary.js';
import { latestDeployCommit } from '../gitops/deploy-history.js';
import { verifyDeployment } from '../gitops/verify.js';
import { revertDeployCommit } from '../gitops/revert.js';
import { commitModelDeploy } from '../gitops/deploy-model.js';
import { parseDriftReport } from '../gitops/drift-proposal.js';
import { runDriftPr } from '../gitops/drift-pr-run.js';
import { pointerPath } from '../registry/layout.js';
import { FleetcastError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { createDemoWorkspace, DEMO_BOT, DEMO_HUMAN, type DemoWorkspace } from './workspace.js';
import { StepRunner, type DemoOutput } from './steps.js';
import { demoTimeline } from './timeline.js';
import { renderSummary, type DemoFacts } from './summary.js';
import { ServiceClient } from './service-client.js';

export interface DemoOptions {
  servers: number;
  add: number;
  sunset: number;
  profile: string;
  seed: number;
  /** Leave the service (and dashboard) running until interrupted. */
  keepServing: boolean;
  /** Port for the service; 0 picks a free one. */
  port: number;
  /** Use this directory instead of a new temporary one (kept afterwards). */
  workDir?: string;
  /** Keep the temporary directory for inspection. */
  keepWorkDir: boolean;
  clock?: () => Date;
}

export const DEMO_DEFAULTS = { servers: 24, add: 8, sunset: 6, profile: 'smoke', seed: 7, port: 0 } as const;

const SWAP_TIMEOUT_MS = 120_000;
const GIT_POLL_MS = 1_000;

export interface DemoResult {
  facts: DemoFacts;
  summary: string;
  service: RunningService | null;
  workspace: DemoWorkspace;
}

/**
 * The whole loop, locally: generate → train + deploy → serve → fleet changes → drift PR → merge →
 * retrain → deploy → hot swap → verify → rollback by git revert → roll forward.
 */
export async function runDemo(options: DemoOptions, out: DemoOutput): Promise<DemoResult> {
  const steps = new StepRunner(out);
  const clock = options.clock ?? (() => new Date());
  const timeline = demoTimeline(clock());
  const ws = await createDemoWorkspace(options.workDir);
  const registry = join(ws.clone, 'models-registry');
  const manifestPath = join(ws.clone, 'fleet', 'manifest.json');
  const events = new EventLog(ws.eventsLog);
  let service: RunningService | null = null;
  try {
    out.progress(`workspace: ${ws.root} (a bare repository plays the GitOps remote)`);

    const metrics = await steps.step('Generate fleet metrics', async (progress) => {
      const full = join(ws.dataDir, 'metrics.parquet');
      const result = await generateFleet({
        servers: options.servers,
        days: timeline.days,
        out: full,
        seed: options.seed,
        end: timeline.now,
        add: options.add,
        sunset: options.sunset,
      });
      progress(
        `${result.rows.toLocaleString('en-US')} rows, ${result.servers} servers, ${timeline.days} days of 5-minute samples`,
      );
      // The metrics store as it was at t0, when the first model was trained.
      const asOfT0 = join(ws.dataDir, 'metrics-t0.parquet');
      await withDuckDb((conn) =>
        conn.run(
          `COPY (SELECT * FROM read_parquet(${sqlString(full)}) WHERE timestamp < to_timestamp(${timeline.t0.getTime() / 1000}))
           TO ${sqlString(asOfT0)} (FORMAT parquet)`,
        ),
      );
      progress(
        `initial model trained as of ${timeline.t0.toISOString()}, ${Math.round((timeline.now.getTime() - timeline.t0.getTime()) / 86_400_000)} days ago`,
      );
      return { full, asOfT0 };
    });

    const initialFleet = await steps.step('Initial fleet manifest (as of t0)', async (progress) => {
      const result = await updateManifest({
        metrics: metrics.asOfT0,
        manifest: manifestPath,
        now: timeline.t0,
        events,
      });
      await ws.git.commit(
        ['fleet/manifest.json'],
        `fleet: initial manifest (${result.servers} servers)`,
        DEMO_HUMAN,
      );
      await ws.git.push('main', DEMO_HUMAN);
      progress(`${result.servers} servers in fleet/manifest.json`);
      return result.servers;
    });

    // A smoke model trains for about a minute and is not expected to beat seasonal naive: its
    // accuracy is reported, while coverage and convergence stay enforced.
    const gates = options.profile === 'smoke' ? REPORT_ONLY_ACCURACY_GATES : DEFAULT_GATES;
    if (gates !== DEFAULT_GATES)
      out.progress('profile smoke: accuracy gates report only; coverage and convergence are enforced');
    const train = (label: string, metricsFile: string) =>
      steps.step(label, async (progress) => {
        const outcome = await trainModel({
          metrics: metricsFile,
          manifest: manifestPath,
          registry,
          profile: options.profile,
          seed: options.seed,
          validate: true,
          gates,
          progress,
        });
        if (!outcome.passed || outcome.modelDir === null) {
          throw new FleetcastError(`${outcome.modelId} failed validation; work files in ${outcome.workDir}`);
        }
        progress(`${outcome.modelId}: coverage ${outcome.validation?.coverage.percent ?? 'n/a'} %`);
        return outcome;
      });

    const deploy = (label: string, outcome: TrainOutcome, reason: string) =>
      steps.step(label, async (progress) => {
        const result = await deployOrFail(ws, registry, outcome.modelDir!, reason);
        progress(`pushed ${result.commitSha.slice(0, 12)}: ${result.subject}`);
        return result;
      });

    const initial = await train('Train and validate the initial model', metrics.asOfT0);
    await deploy('Deploy the initial model (pointer bump commit)', initial, 'initial model');

    const client = await steps.step(
      'Start the inference service (following the GitOps remote)',
      async (progress) => {
        service = await runService({
          registry: 'models-registry',
          metrics: metrics.full,
          manifest: 'fleet/manifest.json',
          readManifest: readManifestServers,
          host: '127.0.0.1',
          port: options.port,
          git: { remote: ws.origin, branch: 'main', intervalMs: GIT_POLL_MS, cloneDir: ws.serviceClone },
          refreshMs: 60_000,
          pointerPollMs: 500,
          unknownWindowSeconds: 3600,
          activeWithinSeconds: 30 * 86_400,
          logger: createLogger('fleetcast-serve', 'warn'),
        });
        const c = new ServiceClient(service.server.url);
        await c.waitForModel(initial.modelId, SWAP_TIMEOUT_MS);
        progress(`serving ${initial.modelId} at ${service.server.url} (dashboard: ${service.server.url}/)`);
        return c;
      },
    );

    const reporting = await steps.step(
      'The fleet changes: new servers report, old ones go quiet',
      async (progress) => {
        const plan = JSON.parse(await readFile(`${metrics.full}.plan.json`, 'utf8')) as {
          planted: Array<{ name: string; kind: string; expected_status: string }>;
        };
        const added = plan.planted.filter((p) => p.kind === 'added').map((p) => p.name);
        const silent = plan.planted.filter((p) => p.kind === 'sunset');
        progress(`${added.length} servers started reporting since t0: ${added.join(', ')}`);
        for (const s of silent) progress(`${s.name} went quiet: now ${s.expected_status.replace('_', ' ')}`);
        // Clients ask for every reporting server, as a dashboard would: new ones are unknown to the model.
        const manifest = await readManifest(manifestPath);
        const asked = [...manifest.servers.map((s) => s.name), ...added];
        const counts = await client.predict(asked);
        const view = await client.view();
        progress(
          `predictions: ${counts.known} known, ${counts.unknown} unknown → unknown rate ${view.unknownRatePct?.toFixed(1) ?? 'n/a'} %`,
        );
        return { added, asked };
      },
    );

    const drift = await steps.step('Drift check opens the retrain pull request', async (progress) => {
      const report = await runDriftCheck({
        metrics: metrics.full,
        registry,
        manifest: manifestPath,
        serviceUrl: client.baseUrl,
        now: clock(),
        events,
      });
      const { proposal, outcome } = await runDriftPr(
        ws.forge,
        parseDriftReport(JSON.parse(JSON.stringify(report)), 'drift report'),
        {
          base: 'main',
          manifestPath: 'fleet/manifest.json',
          bot: DEMO_BOT,
          dryRun: false,
          force: false,
        },
      );
      if (!proposal.retrain)
        throw new FleetcastError(
          `the drift check found no reason to retrain: ${report.decision.reasons.join(' ')}`,
        );
      progress(`pull request #${outcome.pullRequest?.number} ${outcome.operation} on ${outcome.branch}`);
      out.show(
        `\n----- pull request #${outcome.pullRequest?.number} -----\n${renderDriftPrBody(proposal.body)}\n----- end of pull request -----\n`,
      );
      return { report, pr: outcome.pullRequest!.number, branch: outcome.branch };
    });

    const coverageBefore = await steps.step('Merge the pull request', async (progress) => {
      await ws.forge.mergePullRequest(drift.pr, `Merge fleet drift pull request #${drift.pr}`);
      await ws.pull();
      const manifest = await readManifest(manifestPath);
      progress(`fleet/manifest.json on main now lists ${manifest.servers.length} servers`);
      // The service re-reads the manifest when its clone moves; wait until it sees the merged one.
      const view = await waitFor(client, (v) => v.expectedServers === manifest.servers.length, 30_000);
      progress(
        `the service still runs ${view.modelId}: coverage of the new manifest ${view.coveragePct?.toFixed(1)} %`,
      );
      return view;
    });

    const retrained = await train('Retrain on the merged manifest and validate', metrics.full);

    const deploySwap = await steps.step('Deploy and hot-swap the retrained model', async (progress) => {
      const started = performance.now();
      const result = await deployOrFail(
        ws,
        registry,
        retrained.modelDir!,
        `fleet drift ${drift.report.drift_pct.toFixed(2)}% (PR #${drift.pr})`,
      );
      progress(`pushed ${result.commitSha.slice(0, 12)}: ${result.subject}`);
      await client.waitForModel(retrained.modelId, SWAP_TIMEOUT_MS);
      const seconds = (performance.now() - started) / 1000;
      progress(`service swapped to ${retrained.modelId} ${seconds.toFixed(1)}s after the push`);
      return { seconds, deployCommit: result.commitSha };
    });

    const verified = await steps.step(
      'Verify: 100 % coverage, no unknown predictions for the fleet',
      async (progress) => {
        await client.predict(reporting.asked);
        const manifest = await readManifest(manifestPath);
        const result = await verifyDeployment(
          {
            serviceUrl: client.baseUrl,
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
      },
    );

    const rollbackSeconds = await steps.step(
      'Roll back with git revert; the service follows',
      async (progress) => {
        const started = performance.now();
        const history = await ws.git.history('models-registry/current.json');
        const commit = latestDeployCommit(history, retrained.modelId);
        if (commit === undefined)
          throw new FleetcastError('no deploy commit of the retrained model to revert');
        const sha = await revertDeployCommit(
          ws.git,
          commit.sha,
          {
            from: retrained.modelId,
            reason: 'demo: rolling back to show the service following a revert',
            requestedBy: DEMO_HUMAN.name,
          },
          DEMO_HUMAN,
          DEMO_HUMAN,
        );
        await ws.git.push('main', DEMO_HUMAN);
        progress(`git revert ${commit.sha.slice(0, 12)} → ${sha.slice(0, 12)} pushed`);
        await client.waitForModel(initial.modelId, SWAP_TIMEOUT_MS);
        const seconds = (performance.now() - started) / 1000;
        progress(`service back on ${initial.modelId} after ${seconds.toFixed(1)}s`);
        return { seconds, revertSha: sha };
      },
    );

    const rollForward = await steps.step(
      'Roll forward again (a human reverts the revert)',
      async (progress) => {
        const started = performance.now();
        const sha = await ws.git.revert(
          rollbackSeconds.revertSha,
          `Revert the rollback of ${retrained.modelId}\n\nThe retrained model was fine; serve it again.\n\nRequested-by: ${DEMO_HUMAN.name}`,
          DEMO_HUMAN,
          DEMO_HUMAN,
        );
        await ws.git.push('main', DEMO_HUMAN);
        progress(`pushed ${sha.slice(0, 12)}`);
        await client.waitForModel(retrained.modelId, SWAP_TIMEOUT_MS);
        const seconds = (performance.now() - started) / 1000;
        progress(`service on ${retrained.modelId} again after ${seconds.toFixed(1)}s`);
        return seconds;
      },
    );

    const pointer = JSON.parse(await readFile(pointerPath(registry), 'utf8')) as { model_id: string };
    const manifestNow = await readManifest(manifestPath);
    const facts: DemoFacts = {
      workspace: ws.root,
      initialFleet,
      fleetNow: manifestNow.servers.length,
      added: drift.report.new_servers.length,
      sunset: drift.report.sunset_servers.length,
      pending: drift.report.pending_servers.length,
      driftPct: drift.report.drift_pct,
      priority: `${drift.report.drift_priority} by drift; ${drift.report.decision.priority} overall`,
      pullRequest: `#${drift.pr} (${drift.branch}), merged`,
      initialModel: initial.modelId,
      retrainedModel: pointer.model_id,
      coverageBefore: coverageBefore.coveragePct,
      coverageAfter: verified.coveragePct,
      unknownBefore: coverageBefore.unknownManifestServers,
      unknownAfter: verified.unknownManifestServers,
      qRiskInitial: initial.validation ? headlineQRisk(initial.validation) : null,
      qRiskRetrained: retrained.validation ? headlineQRisk(retrained.validation) : null,
      swapSeconds: { deploy: deploySwap.seconds, rollback: rollbackSeconds.seconds, rollForward },
      totalSeconds: steps.totalSeconds(),
    };
    const summary = renderSummary(facts, steps.records);
    return { facts, summary, service, workspace: ws };
  } catch (error) {
    await (service as RunningService | null)?.close();
    if (!options.keepWorkDir && options.workDir === undefined)
      out.progress(`workspace kept for inspection: ${ws.root}`);
    throw error;
  }
}

async function deployOrFail(ws: DemoWorkspace, registry: string, modelDir: string, reason: string) {
  const result = await commitModelDeploy({
    git: ws.git,
    repoDir: ws.clone,
    registry,
    modelDir,
    reason,
    bot: DEMO_BOT,
    branch: 'main',
  });
  if (!result.deployed)
    throw new FleetcastError(`deploy of ${result.modelId} skipped: ${result.skippedReason}`);
  return result;
}

async function waitFor(
  client: ServiceClient,
  done: (view: Awaited<ReturnType<ServiceClient['view']>>) => boolean,
  timeoutMs: number,
) {
  const started = performance.now();
  for (;;) {
    const view = await client.view();
    if (done(view)) return view;
    if (performance.now() - started > timeoutMs)
      throw new FleetcastError(`the service did not reach the expected state: ${JSON.stringify(view)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
