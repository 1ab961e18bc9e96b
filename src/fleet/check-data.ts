import type { DuckDBConnection } from '@duckdb/node-api';
import { withDuckDb, type DuckDbOptions } from '../metrics/duckdb.js';
import { openSource, schemaProblems } from '../metrics/open.js';
import type { MetricsSource } from '../metrics/source.js';
import type { ValidationOptions, ValidationProblem } from './data-problems.js';
import { checkRows } from './row-checks.js';
import { checkServers } from './server-checks.js';
import { checkSteps } from './step-checks.js';

/**
 * Data validation (the design's Phase 1): the columns against the data contract, then row-level
 * checks (row-checks.ts), server-level checks (server-checks.ts) and duplicates and gaps
 * (step-checks.ts). Every problem is reported with a count and examples; nothing is dropped
 * silently. Errors fail the check; warnings (gaps, pending servers) do not.
 */
export interface DataValidationReport {
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

export async function validateMetrics(
  source: MetricsSource,
  options: ValidationOptions,
  duckdb: DuckDbOptions = {},
): Promise<DataValidationReport> {
  return withDuckDb((conn) => validateOn(conn, source, options), duckdb);
}

export async function validateOn(
  conn: DuckDBConnection,
  source: MetricsSource,
  options: ValidationOptions,
): Promise<DataValidationReport> {
  const columns = await openSource(conn, source);
  const schema = schemaProblems(columns);
  if (schema.length > 0) {
    const problem: ValidationProblem = {
      check: 'schema',
      severity: 'error',
      count: schema.length,
      message: `columns do not match the data contract: ${schema.join('; ')}`,
      examples: [],
    };
    return finish(source, options, [problem], { rows: 0, servers: 0, eligible: 0 });
  }
  const types = new Map(columns.map((c) => [c.name, c.type]));
  const rows = await checkRows(conn, source, types, options.now);
  const servers = await checkServers(conn, source, options.eligibility);
  const steps = await checkSteps(conn, source, options);
  // A source with no rows has nothing valid in it: an empty export must not pass as OK.
  const empty: ValidationProblem[] =
    rows.rows === 0
      ? [{ check: 'empty', severity: 'error', count: 0, message: 'the source has no rows', examples: [] }]
      : [];
  return finish(source, options, [...empty, ...rows.problems, ...servers.problems, ...steps], {
    rows: rows.rows,
    servers: servers.servers,
    eligible: servers.eligible,
  });
}

function finish(
  source: MetricsSource,
  options: ValidationOptions,
  problems: ValidationProblem[],
  counts: { rows: number; servers: number; eligible: number },
): DataValidationReport {
  const errors = problems.filter((p) => p.severity === 'error').length;
  return {
    source: source.description,
    now: options.now.toISOString(),
    rows: counts.rows,
    servers: counts.servers,
    eligible_servers: counts.eligible,
    ok: errors === 0,
    errors,
    warnings: problems.length - errors,
    problems,
  };
}

export function renderValidationText(report: DataValidationReport): string {
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
