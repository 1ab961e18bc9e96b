import type { Command } from 'commander';
import { loadRetrainConfig } from '../../config/retrain-config.js';
import { EventLog } from '../../core/events-log.js';
import { updateManifest } from '../../drift/manifest-update.js';
import { GateError } from '../../core/errors.js';
import { printJson } from '../../core/json-output.js';
import { createLogger } from '../../core/logger.js';
import { EXIT_CODES_HELP, parseCount, nowOption } from '../fleet-options.js';

interface ManifestUpdateCliOptions {
  metrics: string;
  manifest: string;
  now?: Date;
  config?: string;
  check?: boolean;
  events?: string | false;
  threads?: number;
  json?: boolean;
}

export function register(program: Command): void {
  const manifest = program
    .command('manifest')
    .description('Maintain the fleet manifest (fleet/manifest.json): the servers the model should know');
  manifest
    .command('update')
    .exitOverride()
    .description('Recompute the manifest from the metrics and write it atomically if it changed')
    .requiredOption('--metrics <src>', 'metrics: parquet file, glob, directory, or file.duckdb[#table]')
    .option('--manifest <file>', 'manifest to update', 'fleet/manifest.json')
    .addOption(nowOption())
    .option(
      '--config <file>',
      'retrain policy (default: config/retrain_config.json if present, else built-in)',
    )
    .option('--check', 'write nothing; exit 3 if the manifest is out of date')
    .option('--events <file>', 'events log to append to (default: events_log from the config)')
    .option('--no-events', 'do not append to the events log')
    .option('--threads <n>', 'DuckDB threads (default: all cores)', parseCount)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Membership: servers eligible for training (minimum_history_days, minimum_samples) that are not
sunset-confirmed. Listed servers keep their first_seen. Bad rows never remove a server or change
its profile: a profile changes once it has been the server's only one for minimum_history_days.
See docs/fleet.md.
${EXIT_CODES_HELP}
  3  --check: the manifest is out of date; or a change was held back by bad or conflicting
     metrics (the servers are named; the rest of the update was written)`,
    )
    .action(async (options: ManifestUpdateCliOptions) => {
      const logger = createLogger('manifest');
      const config = await loadRetrainConfig(options.config);
      const events =
        options.events === false || options.check
          ? null
          : new EventLog(options.events ?? config.config.events_log);
      const result = await updateManifest({
        metrics: options.metrics,
        manifest: options.manifest,
        ...(options.now === undefined ? {} : { now: options.now }),
        config,
        dryRun: options.check === true,
        events,
        ...(options.threads === undefined ? {} : { threads: options.threads }),
      });
      for (const warning of result.warnings) logger.warn(warning);
      if (options.json) printJson({ ...result, manifest: undefined });
      else {
        const verb = result.written ? 'updated' : result.changed ? 'out of date' : 'unchanged';
        process.stdout.write(
          `${result.path}: ${verb} (${result.servers} servers; +${result.added.length} -${result.removed.length}` +
            `${result.profile_changed.length ? `, ${result.profile_changed.length} profile changes` : ''})\n` +
            result.added.map((n) => `  + ${n}\n`).join('') +
            result.removed.map((n) => `  - ${n}\n`).join(''),
        );
      }
      if (options.check && result.changed) throw new GateError(`${result.path} is out of date`);
      if (result.held.length > 0)
        throw new GateError(
          `${result.path}: ${result.held.length} change${result.held.length === 1 ? '' : 's'} held back by bad or conflicting metrics ` +
            `(the manifest keeps these servers as they were; see docs/fleet.md):\n` +
            result.held.map((h) => `  ${h.server}: ${h.problem}`).join('\n'),
        );
    });
}
