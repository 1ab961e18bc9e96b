import type { DuckDBConnection } from '@duckdb/node-api';
import { preview } from '../core/server-name.js';
import { withDuckDb, sqlIdentifier, type DuckDbOptions } from '../metrics/duckdb.js';
import {
  METRICS,
  NUMERIC_TYPES,
  PROFILE_COLUMN,
  SERVER_COLUMN,
  TIMESTAMP_COLUMN,
  DEFAULT_INTERVAL_SECONDS,
} from '../metrics/contract.js';
import { openSource, schemaProblems } from '../metrics/open.js';
import type { MetricsSource } from '../metrics/source.js';
import { summarizeServersOn } from '../metrics/summary.js';
import { assessEligibility, type EligibilityPolicy } from './eligibility.js';

/**
 * Data validation (seed Phase 1): every problem is reported with a count and examples; nothing is
 * dropped silently. Errors fail the check; warnings (gaps, pending servers) do not.
 */
export type Severity = 'error' | 'warning';

export interface ValidationProblem {
  check: string;
  severity: Severity;
  /** Affected rows (or servers, for server-level checks). */
  count: number;
  message: string;
  /** Up to 5 examples, rendered safely (untrusted names through `preview`). */
  examples: string[];
}

export interface ValidationReport {
  source: string;
  now: string;
  rows: number;
  servers: number;
  eligible_servers: number;
  ok: boolean;
  errors: number;
  warnings: number;
  problems: ValidationProblem[];
}

export interface ValidationOptions {
  now: Date;
  eligibility: EligibilityPolicy;
  /** Expected sampling interval; a gap is a step longer than gapFactor × this. */
  intervalSeconds?: number;
  gapFactor?: number;
}

const EXAMPLES = 5;

export async function validateMetrics(
  source: MetricsSource,
  options: ValidationOptions,
  duckdb: DuckDbOptions = {},
): Promise<ValidationReport> {
  return withDuckDb((conn) => validateOn(conn, source, options), duckdb);
}

export async function validateOn(
  conn: DuckDBConnection,
  source: MetricsSource,
  options: ValidationOptions,
): Promise<ValidationReport> {
  const columns = await openSource(conn, source);
  const problems: ValidationProblem[] = [];
  const report = (): ValidationReport => finish(source, options, problems, rows, servers, eligible);
  let rows = 0;
  let servers = 0;
  let eligible = 0;

  const schema = schemaProblems(columns);
  if (schema.length > 0) {
    problems.push({
      check: 'schema',
      severity: 'error',
      count: schema.length,
      message: `columns do not match the data contract: ${schema.join('; ')}`,
      examples: [],
    });
    return report();
  }
  const rel = source.relation();
  const ts = sqlIdentifier(TIMESTAMP_COLUMN);
  const name = sqlIdentifier(SERVER_COLUMN);
  const profile = sqlIdentifier(PROFILE_COLUMN);
  const nowTs = `make_timestamp(${Math.floor(options.now.getTime())}::BIGINT * 1000)`;
  const types = new Map(columns.map((c) => [c.name, c.type]));
  const isFloat = (col: string): boolean => ['FLOAT', 'DOUBLE'].includes(types.get(col) ?? '');

  // Row-level checks: one scan, one count per check and column.
  const checks: Array<{ check: string; severity: Severity; where: string; message: string; value: string }> =
    [];
  for (const col of [TIMESTAMP_COLUMN, SERVER_COLUMN, PROFILE_COLUMN]) {
    const c = sqlIdentifier(col);
    checks.push({
      check: `null_${col}`,
      severity: 'error',
      where: `${c} IS NULL`,
      message: `${col} is NULL`,
      value: 'NULL',
    });
  }
  checks.push({
    check: 'future_timestamp',
    severity: 'error',
    where: `${ts} > ${nowTs}`,
    message: `timestamp is later than now (${options.now.toISOString()})`,
    value: `${ts}::VARCHAR`,
  });
  for (const metric of METRICS) {
    const c = sqlIdentifier(metric.name);
    if (!NUMERIC_TYPES.includes(types.get(metric.name) ?? '')) continue;
    checks.push({
      check: `null_${metric.name}`,
      severity: 'error',
      where: `${c} IS NULL`,
      message: `${metric.name} is NULL`,
      value: 'NULL',
    });
    if (isFloat(metric.name))
      checks.push({
        check: `non_finite_${metric.name}`,
        severity: 'error',
        where: `(isnan(${c}) OR isinf(${c}))`,
        message: `${metric.name} is NaN or infinite`,
        value: `${c}::VARCHAR`,
      });
    const finite = isFloat(metric.name) ? `NOT isnan(${c}) AND NOT isinf(${c}) AND ` : '';
    const max = Number.isFinite(metric.max) ? ` OR ${c} > ${metric.max}` : '';
    checks.push({
      check: `range_${metric.name}`,
      severity: 'error',
      where: `(${finite}(${c} < ${metric.min}${max}))`,
      message: `${metric.name} outside ${metric.min}–${metric.max} ${metric.unit}`,
      value: `${c}::VARCHAR`,
    });
  }
  const counts = await conn.runAndReadAll(
    `SELECT count(*), ${checks.map((c) => `count(*) FILTER (WHERE ${c.where})`).join(', ')} FROM ${rel}`,
  );
  const countRow = counts.getRows()[0] ?? [];
  rows = Number(countRow[0] ?? 0);
  for (const [i, c] of checks.entries()) {
    const count = Number(countRow[i + 1] ?? 0);
    if (count === 0) continue;
    const examples = await examplesOf(
      conn,
      `SELECT ${name}, ${ts}::VARCHAR, ${c.value} FROM ${rel} WHERE ${c.where} LIMIT ${EXAMPLES}`,
    );
    problems.push({
      check: c.check,
      severity: c.severity,
      count,
      message: `${count} rows: ${c.message}`,
      examples,
    });
  }

  // Servers: names, profiles, eligibility.
  const summary = await summarizeServersOn(conn, source);
  servers = summary.servers.length;
  if (summary.rejected.length > 0)
    problems.push({
      check: 'invalid_server',
      severity: 'error',
      count: summary.rejected.reduce((n, r) => n + r.samples, 0),
      message: `${summary.rejected.length} server_name values (or their profiles) are invalid; their rows are excluded from the fleet`,
      examples: summary.rejected
        .slice(0, EXAMPLES)
        .map((r) => `${preview(r.value)}: ${r.problem} (${r.samples} rows)`),
    });
  const conflicts = await conn.runAndReadAll(
    `SELECT ${name}, string_agg(DISTINCT ${profile}, ', ' ORDER BY ${profile}) FROM ${rel} GROUP BY ${name} HAVING count(DISTINCT ${profile}) > 1 ORDER BY 1`,
  );
  const conflictRows = conflicts.getRows();
  if (conflictRows.length > 0)
    problems.push({
      check: 'profile_conflict',
      severity: 'error',
      count: conflictRows.length,
      message: `${conflictRows.length} servers have rows with different profiles`,
      examples: conflictRows.slice(0, EXAMPLES).map(([n, p]) => `${preview(n)}: ${preview(p, 80)}`),
    });
  const pending = summary.servers
    .map((s) => ({ s, e: assessEligibility(s, options.eligibility) }))
    .filter(({ e }) => !e.eligible);
  eligible = servers - pending.length;
  if (pending.length > 0)
    problems.push({
      check: 'not_eligible',
      severity: 'warning',
      count: pending.length,
      message: `${pending.length} servers are not yet eligible for training (need ${options.eligibility.minimumHistoryDays} days and ${options.eligibility.minimumSamples} samples)`,
      examples: pending.slice(0, EXAMPLES).map(({ s, e }) => `${s.name}: ${e.reasons.join('; ')}`),
    });

  // Duplicates and gaps in one sorted pass: the step from each sample to the server's previous
  // one is 0 for a repeated (server, timestamp) and longer than gapFactor × interval for a gap.
  const interval = options.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS;
  const limitUs = Math.round(interval * (options.gapFactor ?? 3) * 1e6);
  const stepsSql = `SELECT ${name} AS server, ${ts} AS seen_at,
       epoch_us(${ts}) - epoch_us(lag(${ts}) OVER (PARTITION BY ${name} ORDER BY ${ts})) AS step_us
     FROM ${rel} WHERE ${ts} IS NOT NULL AND ${name} IS NOT NULL`;
  const stepStats = await conn.runAndReadAll(
    `SELECT count(*) FILTER (WHERE step_us = 0), count(*) FILTER (WHERE step_us > ${limitUs}),
       count(DISTINCT server) FILTER (WHERE step_us > ${limitUs}), max(step_us)
     FROM (${stepsSql})`,
  );
  const [dupRows, gapCount, gapServers, gapMax] = stepStats.getRows()[0] ?? [0, 0, 0, null];
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
  return report();
}

async function examplesOf(conn: DuckDBConnection, sql: string): Promise<string[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader
    .getRows()
    .map(([server, at, value]) => `${preview(server)} at ${at ?? 'NULL'}: ${value ?? 'NULL'}`);
}

function finish(
  source: MetricsSource,
  options: ValidationOptions,
  problems: ValidationProblem[],
  rows: number,
  servers: number,
  eligible: number,
): ValidationReport {
  const errors = problems.filter((p) => p.severity === 'error').length;
  return {
    source: source.description,
    now: options.now.toISOString(),
    rows,
    servers,
    eligible_servers: eligible,
    ok: errors === 0,
    errors,
    warnings: problems.length - errors,
    problems,
  };
}

export function renderValidationText(report: ValidationReport): string {
  const lines = [
    `${report.source}: ${report.rows.toLocaleString('en-US')} rows, ${report.servers} servers (${report.eligible_servers} eligible for training)`,
  ];
  for (const p of report.problems) {
    lines.push(`${p.severity.toUpperCase()} ${p.check}: ${p.message}`);
    for (const e of p.examples) lines.push(`    e.g. ${e}`);
  }
  lines.push(
    report.ok
      ? `OK (${report.warnings} warnings)`
      : `FAILED: ${report.errors} errors, ${report.warnings} warnings`,
  );
  return `${lines.join('\n')}\n`;
}
