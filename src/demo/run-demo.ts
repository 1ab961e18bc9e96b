import { join } from 'node:path';
import { readManifest } from '../fleet/manifest.js';
import { EventLog } from '../core/events-log.js';
import type { TrainOutcome } from '../train/pipeline.js';
import type { RunningService } from '../service/run.js';
import { headlineQRisk } from '../gitops/validation-summary.js';
import { readPointer } from '../registry/pointer.js';
import { FleetcastError } from '../core/errors.js';
import type { DemoContext } from './context.js';
import { fleetChanges, mergeDriftPr, openDriftPr, type DriftPrOpened } from './drift-stage.js';
import { generateMetrics, initialManifest, modelSteps, startService } from './first-model.js';
import { deployAndSwap, rollBack, rollForward, verifyRetrained } from './rollout.js';
import type { ServiceView } from './service-client.js';
import { StepRunner, type DemoOutput } from './steps.js';
import { demoTimeline } from './timeline.js';
import { renderSummary, type DemoFacts } from './summary.js';
import { createDemoWorkspace, type DemoWorkspace } from './workspace.js';

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
  const ctx: DemoContext = {
    out,
    steps,
    clock,
    timeline,
    ws,
    registry: join(ws.clone, 'models-registry'),
    manifestPath: join(ws.clone, 'fleet', 'manifest.json'),
    events: new EventLog(ws.eventsLog),
    service: null,
  };
  try {
    out.progress(`workspace: ${ws.root} (a bare repository plays the GitOps remote)`);
    const metrics = await generateMetrics(ctx, options);
    const initialFleet = await initialManifest(ctx, metrics);
    const models = modelSteps(ctx, options.profile, options.seed);
    const initial = await models.train('Train and validate the initial model', metrics.asOfT0);
    await models.deploy('Deploy the initial model (pointer bump commit)', initial, 'initial model');
    const client = await startService(ctx, metrics, options.port, initial.modelId);

    const reporting = await fleetChanges(ctx, metrics, client);
    const drift = await openDriftPr(ctx, metrics, client);
    const before = await mergeDriftPr(ctx, drift, client);

    const retrained = await models.train('Retrain on the merged manifest and validate', metrics.full);
    const swap = await deployAndSwap(ctx, retrained, drift, client);
    const after = await verifyRetrained(ctx, retrained, reporting, client);
    const rollback = await rollBack(ctx, retrained, initial, client);
    const rollForwardSeconds = await rollForward(ctx, retrained, rollback.revertSha, client);

    const facts = await demoFacts(ctx, {
      initialFleet,
      drift,
      initial,
      retrained,
      before,
      after,
      swapSeconds: { deploy: swap.seconds, rollback: rollback.seconds, rollForward: rollForwardSeconds },
    });
    const summary = renderSummary(facts, ctx.steps.records);
    return { facts, summary, service: ctx.service, workspace: ws };
  } catch (error) {
    await ctx.service?.close();
    if (!options.keepWorkDir && options.workDir === undefined)
      out.progress(`workspace kept for inspection: ${ws.root}`);
    throw error;
  }
}

interface Outcomes {
  initialFleet: number;
  drift: DriftPrOpened;
  initial: TrainOutcome;
  retrained: TrainOutcome;
  /** The service's view after the merge (old model) and after the verified retrain. */
  before: ServiceView;
  after: ServiceView;
  swapSeconds: DemoFacts['swapSeconds'];
}

/** The summary's facts, read from the finished GitOps repository and the stages' outcomes. */
async function demoFacts(ctx: DemoContext, o: Outcomes): Promise<DemoFacts> {
  const pointer = await readPointer(ctx.registry);
  if (pointer === null) throw new FleetcastError(`${ctx.registry}: no current.json after the demo`);
  const manifestNow = await readManifest(ctx.manifestPath);
  const { report } = o.drift;
  return {
    workspace: ctx.ws.root,
    initialFleet: o.initialFleet,
    fleetNow: manifestNow.servers.length,
    added: report.new_servers.length,
    sunset: report.sunset_servers.length,
    pending: report.pending_servers.length,
    driftPct: report.drift_pct,
    priority: `${report.drift_priority} by drift; ${report.decision.priority} overall`,
    pullRequest: `#${o.drift.pr} (${o.drift.branch}), merged`,
    initialModel: o.initial.modelId,
    retrainedModel: pointer.model_id,
    coverageBefore: o.before.coveragePct,
    coverageAfter: o.after.coveragePct,
    unknownBefore: o.before.unknownManifestServers,
    unknownAfter: o.after.unknownManifestServers,
    qRiskInitial: o.initial.validation ? headlineQRisk(o.initial.validation) : null,
    qRiskRetrained: o.retrained.validation ? headlineQRisk(o.retrained.validation) : null,
    swapSeconds: o.swapSeconds,
    totalSeconds: ctx.steps.totalSeconds(),
  };
}
