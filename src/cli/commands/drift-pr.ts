import { resolve } from 'node:path';
import type { Command } from 'commander';
import { runDriftCheck } from '../../drift/index.js';
import { EventLog } from '../../core/events-log.js';
import { loadRetrainConfig } from '../../config/retrain-config.js';
import { openForge, ForgeSettings } from '../../forge/forge-settings.js';
import { runDriftPr } from '../../gitops/drift-pr-run.js';
import { notifySlack } from '../../gitops/notify.js';
import { describeZodError } from '../../core/read-json.js';
import { InputError } from '../../core/errors.js';
import { printJson } from '../../core/json-output.js';
import { createLogger } from '../../core/logger.js';
import { rejectRenamedOptions } from '../renamed-options.js';
import { nowOption } from '../fleet-options.js';

interface DriftPrCliOptions {
  metrics: string;
  repoDir: string;
  registry: string;
  manifest: string;
  config?: string;
  now?: Date;
  serviceUrl?: string;
  baseBranch: string;
  forge: 'github' | 'local';
  repository?: string;
  apiUrl: string;
  localRepository?: string;
  localPullsDir?: string;
  botName: string;
  botEmail: string;
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
}

/**
 * `fleetcast drift-pr`: the scheduled workflow's drift job outside GitHub Actions (a Kubernetes
 * CronJob, cron on a host): run the drift check on a checkout of the GitOps repository and open,
 * update or close the one drift pull request. The GitHub token comes from GITHUB_TOKEN and the
 * optional Slack webhook from the variable the retrain config names (FLEETCAST_NOTIFICATION_WEBHOOK), never from flags (they would show in `ps`).
 */
export function register(program: Command): void {
  rejectRenamedOptions(program.command('drift-pr'), { '--base': '--base-branch' })
    .description(
      'Run the drift check and open, update or close the drift pull request (outside GitHub Actions)',
    )
    .requiredOption('--metrics <src>', 'metrics: parquet file, glob, directory, or file.duckdb[#table]')
    .option('--repo-dir <dir>', 'checkout of the GitOps repository', '.')
    .option('--registry <path>', 'model registry, relative to --repo-dir', 'models-registry')
    .option('--manifest <path>', 'fleet manifest, relative to --repo-dir', 'fleet/manifest.json')
    .option(
      '--config <file>',
      'retrain policy (default: config/retrain_config.json if present, else built-in)',
    )
    .addOption(nowOption())
    .option('--service-url <url>', 'inference service to read unknown-prediction counts from')
    .option('--base-branch <branch>', 'branch the pull request targets', 'main')
    .option('--forge <kind>', 'github | local', 'github')
    .option('--repository <owner/name>', 'GitHub repository (forge github)')
    .option('--api-url <url>', 'GitHub API URL (GitHub Enterprise Server)', 'https://api.github.com')
    .option('--local-repository <dir>', 'git repository playing the remote (forge local)')
    .option('--local-pulls-dir <dir>', 'where pull request records live (forge local)')
    .option('--bot-name <name>', 'author of the manifest commit', 'fleetcast[bot]')
    .option(
      '--bot-email <email>',
      'author email of the manifest commit',
      'fleetcast-bot@users.noreply.github.com',
    )
    .option('--dry-run', 'report what would happen; write nothing')
    .option('--force', 'propose retraining even when no threshold is crossed')
    .option('--json', 'print the outcome as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 done (whatever the decision), 1 failure, 2 bad input.\nEnvironment: GITHUB_TOKEN (forge github), FLEETCAST_NOTIFICATION_WEBHOOK (optional; named by notification_webhook_env in the config).',
    )
    .action(async (o: DriftPrCliOptions) => {
      const logger = createLogger('drift-pr');
      const forgeSettings = ForgeSettings.safeParse({
        forge: o.forge,
        token: process.env.GITHUB_TOKEN,
        repository: o.repository,
        api_url: o.apiUrl,
        local_repository: o.localRepository,
        local_pulls_dir: o.localPullsDir,
      });
      if (!forgeSettings.success) throw new InputError(describeZodError('drift-pr', forgeSettings.error));
      const repoDir = resolve(o.repoDir);
      const manifestPath = o.manifest.replace(/^\.\//, '');
      const config = await loadRetrainConfig(o.config);
      const report = await runDriftCheck({
        metrics: o.metrics,
        registry: resolve(repoDir, o.registry),
        manifest: resolve(repoDir, manifestPath),
        config,
        ...(o.now !== undefined ? { now: o.now } : {}),
        ...(o.serviceUrl !== undefined ? { serviceUrl: o.serviceUrl } : {}),
        events: o.dryRun ? null : new EventLog(config.config.events_log),
        logger,
      });
      const forge = await openForge(forgeSettings.data);
      const { proposal, outcome } = await runDriftPr(forge, report, {
        base: o.baseBranch,
        manifestPath,
        bot: { name: o.botName, email: o.botEmail },
        dryRun: o.dryRun === true,
        force: o.force === true,
      });
      if (outcome.operation === 'created' && !outcome.dryRun) {
        await notifySlack(
          process.env[config.config.notification_webhook_env],
          {
            kind: 'trigger',
            title: `Retraining proposed: fleet drift ${proposal.body.driftPct.toFixed(1)}% (${proposal.priority} priority)`,
            lines: [...proposal.reasons, outcome.pullRequest?.url ?? ''].filter((l) => l !== ''),
          },
          { fetch, warn: (message) => logger.warn(message) },
        );
      }
      const result = {
        operation: outcome.operation,
        dry_run: outcome.dryRun,
        retrain: proposal.retrain,
        priority: proposal.priority,
        drift_pct: proposal.body.driftPct,
        branch: outcome.branch,
        pull_request: outcome.pullRequest ?? null,
        blocked_by: outcome.blockedBy.map((c) => c.sha),
        notes: outcome.notes,
      };
      if (o.json) printJson(result);
      else {
        const pr = outcome.pullRequest ? ` #${outcome.pullRequest.number} ${outcome.pullRequest.url}` : '';
        process.stdout.write(
          `drift ${proposal.body.driftPct.toFixed(2)}% (${proposal.priority}): pull request ${outcome.operation}${pr}${outcome.dryRun ? ' (dry run)' : ''}\n`,
        );
        for (const note of outcome.notes) process.stdout.write(`  ${note}\n`);
      }
    });
}
