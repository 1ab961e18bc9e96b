import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlIdentifier } from '../metrics/duckdb.js';
import { DEFAULT_INTERVAL_SECONDS, SERVER_COLUMN, TIMESTAMP_COLUMN } from '../metrics/contract.js';
import type { MetricsSource } from '../metrics/source.js';
import { EXAMPLES, examplesOf, type ValidationOptions, type ValidationProblem } from './data-problems.js';

/**
 * Duplicates and gaps in one sorted pass: the step from each sample to the server's previous
 * one is 0 for a repeated (server, timestamp) and longer than gapFactor × interval for a gap.
 */
export async function checkSteps(
  conn: DuckDBConnection,
  source: MetricsSource,
  options: Pick<ValidationOptions, 'intervalSeconds' | 'gapFactor'>,
): Promise<ValidationProblem[]> {
  const ts = sqlIdentifier(TIMESTAMP_COLUMN);
  const name = sqlIdentifier(SERVER_COLUMN);
  const interval = options.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS;
  const limitUs = Math.round(interval * (options.gapFactor ?? 3) * 1e6);
  const stepsSql = `SELECT ${name} AS server, ${ts} AS seen_at,
       epoch_us(${ts}) - epoch_us(lag(${ts}) OVER (PARTITION BY ${name} ORDER BY ${ts})) AS step_us
     FROM ${source.relation()} WHERE ${ts} IS NOT NULL AND ${name} IS NOT NULL`;
  const stepStats = await conn.runAndReadAll(
    `SELECT count(*) FILTER (WHERE step_us = 0), count(*) FILTER (WHERE step_us > ${limitUs}),
       count(DISTINCT server) FILTER (WHERE step_us > ${limitUs}), max(step_us)
     FROM (${stepsSql})`,
  );
  const [dupRows, gapCount, gapServers, gapMax] = stepStats.getRows()[0] ?? [0, 0, 0, null];
  const problems: ValidationProblem[] = [];
  if (Number(dupRows ?? 0) > 0) {
    const examples = await examplesOf(
      conn,
      `SELECT server, seen_at::VARCHAR, (count(*) + 1)::VARCHAR || ' rows' FROM (${stepsSql})
       WHERE step_us = 0 GROUP BY server, seen_at ORDER BY 1, 2 LIMIT ${EXAMPLES}`,
    );
    problems.push({
      check: 'duplicate_rows',
      severity: 'error',
      count: Number(dupRows),
      message: `${Number(dupRows)} extra rows repeat a (server_name, timestamp) pair`,
      examples,
    });
  }
  if (Number(gapCount ?? 0) > 0) {
    const examples = await examplesOf(
      conn,
      `SELECT server, seen_at::VARCHAR, 'gap of ' || round(step_us / 60000000.0, 1)::VARCHAR || ' min'
       FROM (${stepsSql}) WHERE step_us > ${limitUs} ORDER BY step_us DESC, server LIMIT ${EXAMPLES}`,
    );
    problems.push({
      check: 'gaps',
      severity: 'warning',
      count: Number(gapCount),
      message: `${Number(gapCount)} gaps longer than ${(limitUs / 60e6).toFixed(0)} min on ${Number(gapServers)} servers (longest ${(Number(gapMax) / 3600e6).toFixed(1)} h)`,
      examples,
    });
  }
  return problems;
}
