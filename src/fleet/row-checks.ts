import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlIdentifier } from '../metrics/duckdb.js';
import {
  METRICS,
  NUMERIC_TYPES,
  PROFILE_COLUMN,
  SERVER_COLUMN,
  TIMESTAMP_COLUMN,
} from '../metrics/contract.js';
import type { MetricsSource } from '../metrics/source.js';
import { EXAMPLES, examplesOf, type Severity, type ValidationProblem } from './data-problems.js';

/** One row-level check: rows matching `where` break it; `value` shows the offending value. */
interface RowCheck {
  check: string;
  severity: Severity;
  where: string;
  message: string;
  value: string;
}

/**
 * Row-level checks of the data contract (NULLs, timestamps later than now, NaN and infinite
 * values, ranges), one scan with one count per check and column. Returns the row count too.
 */
export async function checkRows(
  conn: DuckDBConnection,
  source: MetricsSource,
  columnTypes: ReadonlyMap<string, string>,
  now: Date,
): Promise<{ rows: number; problems: ValidationProblem[] }> {
  const rel = source.relation();
  const checks = rowChecks(columnTypes, now);
  const counts = await conn.runAndReadAll(
    `SELECT count(*), ${checks.map((c) => `count(*) FILTER (WHERE ${c.where})`).join(', ')} FROM ${rel}`,
  );
  const countRow = counts.getRows()[0] ?? [];
  const problems: ValidationProblem[] = [];
  const name = sqlIdentifier(SERVER_COLUMN);
  const ts = sqlIdentifier(TIMESTAMP_COLUMN);
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
  return { rows: Number(countRow[0] ?? 0), problems };
}

function rowChecks(types: ReadonlyMap<string, string>, now: Date): RowCheck[] {
  const ts = sqlIdentifier(TIMESTAMP_COLUMN);
  const nowTs = `make_timestamp(${Math.floor(now.getTime())}::BIGINT * 1000)`;
  const isFloat = (col: string): boolean => ['FLOAT', 'DOUBLE'].includes(types.get(col) ?? '');
  const checks: RowCheck[] = [];
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
    message: `timestamp is later than now (${now.toISOString()})`,
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
  return checks;
}
