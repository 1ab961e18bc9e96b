import type { Command } from 'commander';
import { runDriftCheck, renderDriftText } from '../../drift/index.js';
import { EventLog } from '../../core/events-log.js';
import { loadRetrainConfig } from '../../config/retrain-config.js';
import { printJson } from '../../core/json-output.js';
import { createLogger } from '../../core/logger.js';
import { EXIT_CODES_HELP, parseCount, nowOption } from '../fleet-options.js';

interface DriftCliOptions {
  metrics: string;
  modelServers?: string;
  registry?: string;
  now?: Date;
  config?: string;
  manifest?: string;
  unknownCounts?: string;
  serviceUrl?: string;
  /** A path, or false for --no-events. */
  events?: string | false;
  threads?: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('drift')
    .description("Compare the fleet in the metrics with the model's vocabulary and decide whether to retrain")
    .requiredOption('--metrics <src>', 'metrics: parquet file, glob, directory, or file.duckdb[#table]')
    .option('--model-servers <file>', "the model's servers, one name per line ('#' starts a comment)")
    .option(
      '--registry <dir>',
      'model registry: current.json → models/<id>/encoders.json (none deployed → retrain)',
    )
    .addOption(nowOption())
    .option(
      '--config <file>',
      'retrain policy (default: config/retrain_config.json if present, else built-in)',
    )
    .option('--manifest <file>', 'current fleet manifest to compare the proposed one with')
    .option('--unknown-counts <file>', 'unknown-prediction counts, JSON {"unknown": n, "total": n}')
    .option(
      '--service-url <url>',
      'inference service base URL; reads unknown_predictions from GET <url>/status',
    )
    .option('--events <file>', 'events log to append to (default: events_log from the config)')
    .option('--no-events', 'do not append to the events log')
    .option('--threads <n>', 'DuckDB threads (default: all cores)', parseCount)
    .option('--json', 'print the full report as JSON (snake_case; see docs/drift.md)')
    .addHelpText(
      'after',
      `
The decision is in the output (decision.retrain); the exit code does not depend on it.
${EXIT_CODES_HELP}`,
    )
    .action(async (options: DriftCliOptions) => {
      const logger = createLogger('drift');
      const config = await loadRetrainConfig(options.config);
      const events =
        options.events === false ? null : new EventLog(options.events ?? config.config.events_log);
      const report = await runDriftCheck({
        metrics: options.metrics,
        ...(options.modelServers === undefined ? {} : { modelServers: options.modelServers }),
        ...(options.registry === undefined ? {} : { registry: options.registry }),
        ...(options.now === undefined ? {} : { now: options.now }),
        config,
        ...(options.manifest === undefined ? {} : { manifest: options.manifest }),
        ...(options.unknownCounts === undefined ? {} : { unknownCounts: options.unknownCounts }),
        ...(options.serviceUrl === undefined ? {} : { serviceUrl: options.serviceUrl }),
        ...(options.threads === undefined ? {} : { threads: options.threads }),
        events,
        logger,
      });
      if (options.json) printJson(report);
      else process.stdout.write(renderDriftText(report));
    });
}
