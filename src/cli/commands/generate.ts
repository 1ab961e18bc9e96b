import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { generateFleet } from '../../synthetic/generator.js';
import { parseInterval } from '../../metrics/contract.js';
import { createLogger } from '../../core/logger.js';
import { printJson } from '../../core/json-output.js';
import { EXIT_CODES_HELP, parseCount, parseInstant, parsePositiveNumber } from '../fleet-options.js';

interface GenerateCliOptions {
  servers: number;
  days: number;
  out: string;
  seed: number;
  interval: number;
  end?: Date;
  add: number;
  sunset: number;
  threads?: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('generate')
    .description('Generate synthetic fleet metrics (parquet, data-contract format) plus <out>.plan.json')
    .requiredOption('--servers <n>', 'servers that report for the whole window', parseCount)
    .requiredOption('--days <d>', 'length of the window in days', parsePositiveNumber)
    .requiredOption('--out <file>', 'parquet file to write (atomically)')
    .option('--seed <s>', 'seed: the same seed and options give the same rows', parseCount, 1)
    .option('--interval <duration>', 'sampling interval: 30s, 5m, 1h', parseIntervalOption, 300)
    .option('--end <iso>', 'end of the window (default: now, floored to the interval)', parseInstant)
    .option('--add <k>', 'servers that start mid-window (half pending, half eligible)', parseCount, 0)
    .option(
      '--sunset <k>',
      'servers that go silent (offline, sunset candidate, sunset confirmed)',
      parseCount,
      0,
    )
    .option('--threads <n>', 'DuckDB threads (default: all cores)', parseCount)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Planted servers (--add, --sunset) and the status each should have at --end are written to
<out>.plan.json. Sunset-confirmed servers need a window longer than 31 days to leave any rows;
with a shorter window they are planned as "absent". See DATA_CONTRACT.md and docs/metrics.md.
${EXIT_CODES_HELP}`,
    )
    .action(async (options: GenerateCliOptions) => {
      const logger = createLogger('generate');
      const result = await generateFleet({
        servers: options.servers,
        days: options.days,
        out: options.out,
        seed: options.seed,
        intervalSeconds: options.interval,
        ...(options.end === undefined ? {} : { end: options.end }),
        add: options.add,
        sunset: options.sunset,
        ...(options.threads === undefined ? {} : { threads: options.threads }),
        logger,
      });
      const summary = {
        path: result.path,
        plan_path: result.planPath,
        rows: result.rows,
        servers: result.servers,
        start: result.plan.start.toISOString(),
        end: result.plan.end.toISOString(),
        seconds: Math.round(result.seconds * 100) / 100,
        rows_per_second: Math.round(result.rows / result.seconds),
      };
      if (options.json) printJson(summary);
      else
        process.stdout.write(
          `wrote ${summary.rows.toLocaleString('en-US')} rows for ${summary.servers} servers ` +
            `(${summary.start} to ${summary.end}) to ${summary.path} in ${summary.seconds}s\n` +
            `plan: ${summary.plan_path}\n`,
        );
    });
}

function parseIntervalOption(text: string): number {
  const seconds = parseInterval(text);
  if (seconds === undefined) throw new InvalidArgumentError('expected a duration like 30s, 5m or 1h');
  return seconds;
}
