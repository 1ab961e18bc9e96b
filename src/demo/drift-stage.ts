import { readManifest } from '../fleet/manifest.js';
import { runDriftCheck } from '../drift/check.js';
import type { DriftReport } from '../drift/types.js';
import { renderDriftPrBody } from '../gitops/drift-pr-body.js';
import { runDriftPr } from '../gitops/drift-pr-run.js';
import { readPlanFile } from '../synthetic/plan-file.js';
import { FleetcastError } from '../core/errors.js';
import type { DemoContext, DemoMetrics } from './context.js';
import type { ServiceClient, ServiceView } from './service-client.js';
import { DEMO_BOT } from './workspace.js';

/** The demo's second act: the fleet changes, the drift check opens a pull request, a human merges it. */

export interface Reporting {
  /** Servers planted as new since t0. */
  added: string[];
  /** Every server clients ask forecasts for: the manifest's and the new ones. */
  asked: string[];
}

export function fleetChanges(
  ctx: DemoContext,
  metrics: DemoMetrics,
  client: ServiceClient,
): Promise<Reporting> {
  return ctx.steps.step('The fleet changes: new servers report, old ones go quiet', async (progress) => {
    const plan = await readPlanFile(metrics.full);
    const added = plan.planted.filter((p) => p.kind === 'added').map((p) => p.name);
    const silent = plan.planted.filter((p) => p.kind === 'sunset');
    progress(`${added.length} servers started reporting since t0: ${added.join(', ')}`);
    for (const s of silent) progress(`${s.name} went quiet: now ${s.expected_status.replace('_', ' ')}`);
    // Clients ask for every reporting server, as a dashboard would: new ones are unknown to the model.
    const manifest = await readManifest(ctx.manifestPath);
    const asked = [...manifest.servers.map((s) => s.name), ...added];
    const counts = await client.predict(asked);
    const view = await client.view();
    progress(
      `predictions: ${counts.known} known, ${counts.unknown} unknown → unknown rate ${view.unknownRatePct?.toFixed(1) ?? 'n/a'} %`,
    );
    return { added, asked };
  });
}

export interface DriftPrOpened {
  report: DriftReport;
  pr: number;
  branch: string;
}

export function openDriftPr(
  ctx: DemoContext,
  metrics: DemoMetrics,
  client: ServiceClient,
): Promise<DriftPrOpened> {
  return ctx.steps.step('Drift check opens the retrain pull request', async (progress) => {
    const report = await runDriftCheck({
      metrics: metrics.full,
      registry: ctx.registry,
      manifest: ctx.manifestPath,
      serviceUrl: client.baseUrl,
      now: ctx.clock(),
      events: ctx.events,
    });
    const { proposal, outcome } = await runDriftPr(ctx.ws.forge, report, {
      base: 'main',
      manifestPath: 'fleet/manifest.json',
      bot: DEMO_BOT,
      dryRun: false,
      force: false,
    });
    if (!proposal.retrain)
      throw new FleetcastError(
        `the drift check found no reason to retrain: ${report.decision.reasons.join(' ')}`,
      );
    progress(`pull request #${outcome.pullRequest?.number} ${outcome.operation} on ${outcome.branch}`);
    ctx.out.show(
      `\n----- pull request #${outcome.pullRequest?.number} -----\n${renderDriftPrBody(proposal.body)}\n----- end of pull request -----\n`,
    );
    return { report, pr: outcome.pullRequest!.number, branch: outcome.branch };
  });
}

/** Merges the pull request and waits until the service sees the merged manifest. */
export function mergeDriftPr(
  ctx: DemoContext,
  drift: DriftPrOpened,
  client: ServiceClient,
): Promise<ServiceView> {
  return ctx.steps.step('Merge the pull request', async (progress) => {
    await ctx.ws.forge.mergePullRequest(drift.pr, `Merge fleet drift pull request #${drift.pr}`);
    await ctx.ws.pull();
    const manifest = await readManifest(ctx.manifestPath);
    progress(`fleet/manifest.json on main now lists ${manifest.servers.length} servers`);
    // The service re-reads the manifest when its clone moves; wait until it sees the merged one.
    const view = await client.waitForView((v) => v.expectedServers === manifest.servers.length, 30_000);
    progress(
      `the service still runs ${view.modelId}: coverage of the new manifest ${view.coveragePct?.toFixed(1)} %`,
    );
    return view;
  });
}
