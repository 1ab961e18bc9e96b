import type { Command } from 'commander';
import { eligibilityPolicyOf, loadRetrainConfig } from '../../config/retrain-config.js';
import { openMetricsSource } from '../../metrics/source.js';
import { asOf, ignoredRowsNote, rowsAfter } from '../../metrics/as-of.js';
import { renderValidationText, validateMetrics } from '../../fleet/check-data.js';
import { GateError } from '../../core/errors.js';
import { printJson } from '../../core/json-output.js';
import { EXIT_CODES_HELP, parseCount, nowOption } from '../fleet-options.js';
import { parseInterval } from '../../metrics/contract.js';
import { InvalidArgumentError } from 'commander';

interface CheckDataCliOptions {
  metrics: string;
  now?: Date;
  config?: string;
  interval: number;
  threads?: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('check-data')
    .description(
      'Validate metrics against the data contract: errors for unusable data (schema, NULL timestamps or names, unsafe names, no rows); ' +
        'warnings with counts for dirty data (NULL/NaN/Inf, ranges, duplicates, profile changes, outages, gaps, servers switched off)',
    )
    .requiredOption('--metrics <src>', 'metrics: parquet file, glob, directory, or file.duckdb[#table]')
    .addOption(nowOption())
    .option(
      '--config <file>',
      'retrain policy for eligibility (default: config/retrain_config.json if present)',
    )
    .option(
      '--interval <duration>',
      'expected sampling interval; gaps are steps over 3×',
      (text: string) => {
        const seconds = parseInterval(text);
        if (seconds === undefined) throw new InvalidArgumentError('expected a duration like 30s, 5m or 1h');
        return seconds;
      },
      300,
    )
    .option('--threads <n>', 'DuckDB threads (default: all cores)', parseCount)
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Without --now, a timestamp later than the wall clock is an error (future_timestamp); with --now,
samples later than it are left out of every check (a warning says how many).
${EXIT_CODES_HELP}
  3  the data has errors (the report lists each with counts and examples); warnings alone exit 0`,
    )
    .action(async (options: CheckDataCliOptions) => {
      const { config } = await loadRetrainConfig(options.config);
      const duckdb = options.threads === undefined ? {} : { threads: options.threads };
      const source = openMetricsSource(options.metrics);
      const report = await validateMetrics(
        asOf(source, options.now),
        {
          now: options.now ?? new Date(),
          eligibility: eligibilityPolicyOf(config),
          intervalSeconds: options.interval,
        },
        duckdb,
      );
      if (options.now !== undefined) {
        // Said in the report itself, not only in a log line: a replay must not look complete.
        const after = await rowsAfter(source, options.now, duckdb);
        const note = ignoredRowsNote(after, options.now);
        if (note !== null) {
          report.problems.push({
            check: 'after_now',
            severity: 'warning',
            count: after,
            unit: 'rows',
            message: note,
            action: 'excluded',
            worst: [],
            examples: [],
          });
          report.warnings++;
        }
      }
      if (options.json) printJson(report);
      else process.stdout.write(renderValidationText(report));
      if (!report.ok) throw new GateError(`${report.source}: ${report.errors} data errors`);
    });
}
