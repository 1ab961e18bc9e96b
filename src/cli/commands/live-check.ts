import { resolve } from 'node:path';
import type { Command } from 'commander';
import { EventLog } from '../../core/events-log.js';
import { createLogger } from '../../core/logger.js';
import { printJson } from '../../core/json-output.js';
import { liveRegressionPolicyOf, loadRetrainConfig } from '../../config/retrain-config.js';
import { GitWorkspace } from '../../forge/git-workspace.js';
import { liveCheckJson, liveCheckNotification, runLiveCheck } from '../../gitops/live-check.js';
import { notifySlack } from '../../gitops/notify.js';

interface LiveCheckCliOptions {
  serviceUrl: string;
  repoDir: string;
  registry: string;
  branch: string;
  config?: string;
  botName: string;
  botEmail: string;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * `fleetcast live-check`: automatic rollback on live regression. Compares the serving model's live
 * q-risk (the service's /status) with the previous model's recorded one and with seasonal naive;
 * on a regression past the retrain config's `live_regression` bounds it reverts the deploy commit
 * in the checkout and pushes it. Exits 0 either way, saying why.
 */
export function register(program: Command): void {
  program
    .command('live-check')
    .description(
      "Revert the deploy commit when the serving model's live q-risk regressed past the retrain config's live_regression bounds; else say why it stays",
    )
    .requiredOption('--service-url <url>', 'inference service whose /status reports live accuracy')
    .option('--repo-dir <dir>', 'the GitOps checkout (the revert is committed and pushed from it)', '.')
    .option('--registry <path>', 'model registry, relative to --repo-dir', 'models-registry')
    .option('--branch <branch>', 'branch the revert is pushed to', 'main')
    .option(
      '--config <file>',
      'retrain policy with the live_regression block (default: config/retrain_config.json in --repo-dir if present, else built-in)',
    )
    .option('--bot-name <name>', 'committer name of the revert', 'fleetcast-bot')
    .option('--bot-email <email>', 'committer email of the revert', 'fleetcast-bot@users.noreply.github.com')
    .option('--dry-run', 'decide and report; revert nothing')
    .option('--json', 'print the decision as JSON')
    .addHelpText(
      'after',
      '\nExit codes: 0 checked (kept or reverted: the output says which and why), 1 failure, 2 bad input.\n' +
        'Environment: FLEETCAST_SERVICE_TOKEN (optional bearer token for the service); the notification webhook the config names.',
    )
    .action(async (o: LiveCheckCliOptions) => {
      const repoDir = resolve(o.repoDir);
      const loaded = await loadRetrainConfig(o.config, repoDir);
      const token = process.env.FLEETCAST_SERVICE_TOKEN;
      const logger = createLogger('live-check');
      const bot = { name: o.botName, email: o.botEmail };
      const outcome = await runLiveCheck({
        git: await GitWorkspace.create(repoDir),
        repoDir,
        registry: resolve(repoDir, o.registry),
        service: { serviceUrl: o.serviceUrl, ...(token ? { token } : {}) },
        policy: liveRegressionPolicyOf(loaded.config),
        bot,
        branch: o.branch,
        events: o.dryRun ? null : new EventLog(resolve(repoDir, loaded.config.events_log)),
        dryRun: o.dryRun === true,
      });
      const notice = liveCheckNotification(outcome);
      if (notice !== null && !outcome.dryRun)
        await notifySlack(process.env[loaded.config.notification_webhook_env], notice, {
          fetch,
          warn: (message) => logger.warn(message),
        });
      if (o.json) {
        printJson(liveCheckJson(outcome));
        return;
      }
      const verb =
        outcome.revertSha !== null
          ? `reverted ${outcome.deployCommit?.slice(0, 12)} in ${outcome.revertSha.slice(0, 12)}`
          : outcome.decision.action === 'revert'
            ? 'would revert (dry run)'
            : 'kept';
      const lines = [`${outcome.modelId}: ${verb}`, `  ${outcome.decision.reason}`];
      for (const note of outcome.decision.notes) lines.push(`  note: ${note}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
