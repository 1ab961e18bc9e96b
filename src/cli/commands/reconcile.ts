import type { Command } from 'commander';
import { describeZodError } from '../../core/read-json.js';
import { InputError } from '../../core/errors.js';
import { printJson } from '../../core/json-output.js';
import { openForge, ForgeSettings } from '../../forge/forge-settings.js';
import { describeReconcile, runReconcile } from '../../gitops/reconcile-run.js';
import { nowOption } from '../fleet-options.js';

interface ReconcileCliOptions {
  baseBranch: string;
  manifest: string;
  registry: string;
  config?: string;
  now?: Date;
  serviceUrl?: string;
  forge: 'github' | 'local';
  repository?: string;
  apiUrl: string;
  localRepository?: string;
  localPullsDir?: string;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * `fleetcast reconcile`: the reconcile step of the scheduled drift job on its own (a CronJob, or by
 * hand): compare the manifest on the base branch with the deployed model, dispatch the retrain
 * workflow while they differ (backoff, attempt cap, never against a person's rollback) and keep
 * the one tracking issue. Everything is read through the forge; no checkout is needed.
 */
export function register(program: Command): void {
  program
    .command('reconcile')
    .description(
      'Compare the manifest with the deployed model; dispatch a retrain while they differ and keep the tracking issue',
    )
    .option('--base-branch <branch>', 'the default branch holding the desired state', 'main')
    .option('--manifest <path>', 'fleet manifest, as a repository path', 'fleet/manifest.json')
    .option('--registry <path>', 'model registry, as a repository path', 'models-registry')
    .option(
      '--config <file>',
      'retrain policy with the reconcile_* keys (default: config/retrain_config.json if present, else built-in)',
    )
    .addOption(nowOption())
    .option('--service-url <url>', 'inference service whose /health names the model it serves')
    .option('--forge <kind>', 'github | local', 'github')
    .option('--repository <owner/name>', 'GitHub repository (forge github)')
    .option('--api-url <url>', 'GitHub API URL (GitHub Enterprise Server)', 'https://api.github.com')
    .option('--local-repository <dir>', 'git repository playing the remote (forge local)')
    .option('--local-pulls-dir <dir>', 'where pull request, issue and run records live (forge local)')
    .option('--dry-run', 'report what would happen; dispatch nothing and write no issue')
    .option('--json', 'print the outcome as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 done (whatever the status), 1 failure, 2 bad input.\nEnvironment: GITHUB_TOKEN (forge github; issues: write, actions: write), FLEETCAST_SERVICE_TOKEN (optional).',
    )
    .action(async (o: ReconcileCliOptions) => {
      const forgeSettings = ForgeSettings.safeParse({
        forge: o.forge,
        token: process.env.GITHUB_TOKEN,
        repository: o.repository,
        api_url: o.apiUrl,
        local_repository: o.localRepository,
        local_pulls_dir: o.localPullsDir,
      });
      if (!forgeSettings.success) throw new InputError(describeZodError('reconcile', forgeSettings.error));
      const forge = await openForge(forgeSettings.data);
      const token = process.env.FLEETCAST_SERVICE_TOKEN;
      const outcome = await runReconcile(forge, {
        base: o.baseBranch,
        manifestPath: o.manifest.replace(/^\.\//, ''),
        registryPath: o.registry.replace(/^\.\//, '').replace(/\/+$/, ''),
        config: o.config,
        serviceUrl: o.serviceUrl,
        serviceToken: token === undefined || token === '' ? undefined : token,
        dryRun: o.dryRun === true,
        ...(o.now !== undefined ? { now: o.now } : {}),
      });
      if (o.json)
        printJson({
          status: outcome.status,
          converged: outcome.converged,
          summary: outcome.summary,
          model_id: outcome.modelId,
          missing: outcome.missing.length,
          dispatched: outcome.dispatched?.id ?? null,
          issue: outcome.issue,
          next_try_at: outcome.state.nextTryAt,
          attempts: outcome.state.attempts,
          notes: outcome.notes,
          dry_run: outcome.dryRun,
        });
      else {
        process.stdout.write(`${describeReconcile(outcome)}${outcome.dryRun ? ' (dry run)' : ''}\n`);
        for (const note of outcome.notes) process.stdout.write(`  ${note}\n`);
      }
    });
}
