import type { Command } from 'commander';
import { renderFleetText, runFleetStatus } from '../../drift/fleet-report.js';
import { printJson } from '../../core/json-output.js';
import { createLogger } from '../../core/logger.js';
import { EXIT_CODES_HELP, parseCount, nowOption } from '../fleet-options.js';

interface FleetCliOptions {
  metrics: string;
  now?: Date;
  config?: string;
  threads?: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('fleet')
    .description(
      'Per-server status (active, offline, sunset candidate, sunset confirmed) and training eligibility',
    )
    .requiredOption('--metrics <src>', 'metrics: parquet file, glob, directory, or file.duckdb[#table]')
    .addOption(nowOption())
    .option(
      '--config <file>',
      'retrain policy (default: config/retrain_config.json if present, else built-in)',
    )
    .option('--threads <n>', 'DuckDB threads (default: all cores)', parseCount)
    .option('--json', 'print the report as JSON')
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (options: FleetCliOptions) => {
      const { report } = await runFleetStatus(options);
      const logger = createLogger('fleet');
      for (const warning of report.warnings) logger.warn(warning);
      if (options.json) printJson(report);
      else process.stdout.write(renderFleetText(report));
    });
}
