import type { RunContext } from './common/context.js';
import { readFile } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import * as core from '@actions/core';
import { z } from 'zod';
import { getErrorMessage, InputError } from '../core/errors.js';
import { FORGE_INPUTS, ForgeSettings, openForge } from '../forge/forge-settings.js';
import type { DriftPrOutcome } from '../gitops/drift-pr.js';
import { runDriftPr } from '../gitops/drift-pr-run.js';
import type { ReconcileOutcome } from '../gitops/reconcile.js';
import { describeReconcile, runReconcile } from '../gitops/reconcile-run.js';
import type { DriftProposal } from '../gitops/drift-proposal.js';
import { parseDriftReport } from '../drift/report-file.js';
import type { DriftReport } from '../drift/types.js';
import { formatPct } from '../gitops/markdown.js';
import { botOf, IDENTITY_INPUTS, IdentitySettings } from './common/identity.js';
import { BooleanInput, insideWorkspace, workspaceMetrics, workspacePath } from './common/inputs.js';
import { retryBaseMs } from './common/retry.js';
import { setOutputs } from './common/outputs.js';
import { defineAction, runAction } from './common/run-action.js';
import { ACTION_SECRETS, SERVICE_INPUTS, ServiceSettings } from './common/service.js';
import { runDriftEngine } from './drift-engine.js';

/** Every input this action reads (action.yml declares exactly these). */
export const INPUTS = [
  ...FORGE_INPUTS,
  'report',
  'config',
  'metrics',
  'registry',
  ...SERVICE_INPUTS,
  'base_branch',
  'manifest_path',
  'dry_run',
  'force',
  'reconcile',
  ...IDENTITY_INPUTS,
] as const;

// ServiceSettings: the service's /health gives the deployed model's unknown-prediction counts (optional).
function settingsSchema(workspace: string) {
  return z
    .object({
      /** A drift report (`fleetcast drift --json`) to use instead of running the engine here. */
      report: workspacePath(workspace, 'report').optional(),
      /** Retrain policy for the engine. */
      config: workspacePath(workspace, 'config').optional(),
      /** Metrics source for the engine: a file or directory inside the workspace, `#table` allowed. */
      metrics: workspaceMetrics(workspace).optional(),
      /** Model registry whose current.json names the deployed model (the engine reads its vocabulary). */
      registry: workspacePath(workspace, 'registry').default(
        insideWorkspace(workspace, 'models-registry', 'registry'),
      ),
      /** Empty: the repository's default branch, from the event (baseBranchOf). */
      base_branch: z.string().default(''),
      /** Repository-relative path of the manifest the pull request proposes. */
      manifest_path: z
        .string()
        .default('fleet/manifest.json')
        .refine((p) => /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(p) && !p.split('/').includes('..'), {
          message: 'must be a relative path inside the repository',
        }),
      dry_run: BooleanInput.default(false),
      force: BooleanInput.default(false),
      /** Run the reconcile loop after the drift pull request (docs/gitops.md). */
      reconcile: BooleanInput.default(true),
    })
    .and(ServiceSettings)
    .and(IdentitySettings)
    .and(ForgeSettings)
    .superRefine((s, ctx) => {
      if (s.report === undefined && s.metrics === undefined)
        ctx.addIssue({ code: 'custom', path: ['metrics'], message: 'required unless report is given' });
    });
}

interface ReportSettings {
  report?: string | undefined;
  config?: string | undefined;
  metrics?: string | undefined;
  registry: string;
  service_url?: string | undefined;
  manifest_path: string;
}

async function loadReport(settings: ReportSettings, workspace: string): Promise<DriftReport> {
  if (settings.report !== undefined) {
    let text: string;
    try {
      text = await readFile(settings.report, 'utf8');
    } catch (error) {
      throw new InputError(`${settings.report}: cannot read drift report`, { cause: error });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new InputError(`${settings.report}: not valid JSON (${getErrorMessage(error)})`);
    }
    return parseDriftReport(json, settings.report);
  }
  return runDriftEngine({
    metrics: settings.metrics!,
    config: settings.config,
    registry: settings.registry,
    manifest: insideWorkspace(workspace, settings.manifest_path, 'manifest_path'),
    serviceUrl: settings.service_url,
  });
}

async function writeSummary(
  proposal: DriftProposal,
  outcome: DriftPrOutcome,
  reconciled: ReconcileOutcome | undefined,
): Promise<void> {
  const b = proposal.body;
  const pr = outcome.pullRequest;
  await core.summary
    .addHeading('Fleet drift check', 2)
    .addTable([
      [
        { data: 'Signal', header: true },
        { data: 'Value', header: true },
      ],
      ['Decision', proposal.retrain ? `retrain (${proposal.priority} priority)` : 'no retraining needed'],
      ['Fleet drift', formatPct(b.driftPct)],
      [
        'New / sunset / pending servers',
        `${b.newServers.total} / ${b.sunsetServers.total} / ${b.pendingServers.total}`,
      ],
      ['Unknown predictions', formatPct(b.unknownRatePct)],
      ['Model', `${b.modelId ?? 'none'} (${b.modelAge})`],
      ['Pull request', `${outcome.operation}${outcome.dryRun ? ' (dry run: nothing written)' : ''}`],
      ['Reconcile', reconciled === undefined ? 'off' : `${reconciled.status}: ${reconciled.summary}`],
    ])
    .addList(proposal.reasons.length > 0 ? proposal.reasons : ['no threshold crossed'])
    .addRaw(pr === undefined ? '' : `Pull request: #${pr.number} ${pr.url}\n`, true)
    .write();
}

/** The registry as a repository path (the reconcile loop reads it on the default branch). */
function relativeToWorkspace(workspace: string, path: string): string {
  return relative(workspace, path).split(sep).join('/');
}

const drift = defineAction({
  inputs: INPUTS,
  secrets: ACTION_SECRETS,
  settings: settingsSchema,
  failureTitle: 'Fleet drift check failed',
});

export function run(): Promise<void> {
  return runAction(drift, async (settings, { workspace, context, notify }) => {
    const base = baseBranchOf(settings.base_branch, context);
    const report = await loadReport(settings, workspace);
    const forge = await openForge(settings, retryBaseMs());
    const { proposal, outcome } = await runDriftPr(forge, report, {
      base,
      manifestPath: settings.manifest_path,
      bot: botOf(settings),
      dryRun: settings.dry_run,
      force: settings.force,
    });
    if (report.stale)
      core.warning(
        `model ${proposal.body.modelId ?? ''} is stale (${report.model_age_days ?? '?'} days old)`,
      );
    if (proposal.body.pendingServers.total > 0)
      core.warning(`${proposal.body.pendingServers.total} new servers lack enough history to train on yet`);
    for (const note of outcome.notes) core.info(note);
    if (outcome.blockedBy.length > 0) {
      core.warning(
        `${outcome.branch} has ${outcome.blockedBy.length} commit(s) not written by Fleetcast; ` +
          'the branch was left alone and the pull request got a comment',
      );
    }
    setOutputs({
      operation: outcome.operation,
      branch: outcome.branch,
      pr_number: outcome.pullRequest?.number ?? '',
      pr_url: outcome.pullRequest?.url ?? '',
      retrain: proposal.retrain,
      priority: proposal.priority,
      drift_pct: proposal.body.driftPct,
      dry_run: settings.dry_run,
    });
    core.info(
      `drift pull request: ${outcome.operation}${outcome.pullRequest ? ` (#${outcome.pullRequest.number})` : ''}`,
    );
    const reconciled = settings.reconcile
      ? await runReconcile(forge, {
          base,
          manifestPath: settings.manifest_path,
          registryPath: relativeToWorkspace(workspace, settings.registry),
          config: settings.config,
          serviceUrl: settings.service_url,
          serviceToken: settings.service_token,
          dryRun: settings.dry_run,
        })
      : undefined;
    if (reconciled !== undefined) {
      core.info(describeReconcile(reconciled));
      for (const note of reconciled.notes) core.info(note);
      if (reconciled.status === 'gave-up' || reconciled.status === 'held') core.warning(reconciled.summary);
      setOutputs({
        reconcile_status: reconciled.status,
        reconcile_issue: reconciled.issue.number ?? '',
        reconcile_dispatched: reconciled.dispatched?.id ?? '',
      });
    }
    await writeSummary(proposal, outcome, reconciled);
    if (outcome.operation === 'created' && !settings.dry_run) {
      await notify({
        kind: 'trigger',
        title: `Retraining proposed: fleet drift ${proposal.body.driftPct.toFixed(1)}% (${proposal.priority} priority)`,
        lines: [...proposal.reasons, outcome.pullRequest?.url ?? ''].filter((l) => l !== ''),
      });
    }
  });
}

/**
 * The branch the pull request targets: the input, else the repository's default branch from the
 * event. A `schedule` event carries no repository, but GitHub runs it on the default branch, so
 * its ref is that branch. Anything else without an input is an error, never a guessed `main`.
 */
export function baseBranchOf(input: string, context: RunContext): string {
  if (input !== '') return input;
  const payload = context.github.payload as { repository?: { default_branch?: string } };
  const fromEvent = payload.repository?.default_branch;
  if (fromEvent) return fromEvent;
  const ref = context.github.ref ?? '';
  if (context.github.eventName === 'schedule' && ref.startsWith('refs/heads/'))
    return ref.slice('refs/heads/'.length);
  throw new InputError(
    `input base_branch: empty, and the ${context.github.eventName ?? 'unknown'} event does not say the repository's default branch; set base_branch`,
  );
}
