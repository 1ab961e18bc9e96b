import type { DuckDBConnection } from '@duckdb/node-api';
import { PROFILE_COLUMN, SERVER_COLUMN, MS_PER_HOUR } from '../metrics/contract.js';
import { sqlIdentifier, withDuckDb, type DuckDbOptions } from '../metrics/duckdb.js';
import { columnNotes, openSource, schemaProblems, type SourceColumn } from '../metrics/open.js';
import type { MetricsSource } from '../metrics/source.js';
import { hoursOf, isoOf, problem, type ValidationOptions, type ValidationProblem } from './data-problems.js';
import { silenceProblems, type ServerSpan } from './outages.js';
import { checkRows } from './row-checks.js';
import { checkServers } from './server-checks.js';
import { checkSteps } from './step-checks.js';

/**
 * Data validation (the design's Phase 1) of the raw source as given: the columns against the data
 * contract, then row-level checks (row-checks.ts), server-level checks (server-checks.ts),
 * duplicates and gaps (step-checks.ts) and silence: outages, gaps, servers switched off
 * (outages.ts). Only data nothing can use is an error (DATA_CONTRACT.md, "Dirty data"); every
 * other problem is a warning saying, with counts and the worst examples, what the readers'
 * normalized view does about it. Nothing is dropped silently.
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
  notes: number;
  columns: {
    /** The contract's columns present in the source. */
    present: string[];
    /** The contract's optional columns the source lacks (read as missing; profile: `default`). */
    missing: string[];
    /** Columns outside the contract: ignored by every reader. */
    ignored: string[];
  };
  /** Fleet-wide collection outages, oldest first. */
  outages: Array<{
    start: string;
    end: string;
    hours: number;
    silent_servers: number;
    active_servers: number;
  }>;
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
  const notes = schemaNotes(columns);
  const schema = schemaProblems(columns);
  if (schema.length > 0) {
    const error = problem({
      check: 'schema',
      severity: 'error',
      count: schema.length,
      unit: 'columns',
      action: 'fails',
      message: `columns do not match the data contract: ${schema.join('; ')}`,
      worst: [],
    });
    // The counts still say what the source holds: a missing column does not make it empty.
    return finish(source, options, columns, [error, ...notes], await countsOnly(conn, source, columns), []);
  }
  const types = new Map(columns.map((c) => [c.name, c.type]));
  const rows = await checkRows(conn, source, types, options.now);
  const nullProfiles = new Map(
    rows.perServer.flatMap((s) => (s.name !== null && s.nullProfiles > 0 ? [[s.name, s.nullProfiles]] : [])),
  );
  const servers = await checkServers(conn, source, options.eligibility, nullProfiles);
  const steps = await checkSteps(conn, source, types, options);
  const spans: ServerSpan[] = rows.perServer.flatMap((s) =>
    s.name !== null && s.firstMs !== null && s.lastMs !== null
      ? [{ server: s.name, firstMs: s.firstMs, lastMs: s.lastMs }]
      : [],
  );
  const silence = silenceProblems(spans, steps.gaps, {
    share: options.outageShare ?? 0.5,
    minServers: options.outageMinServers ?? 2,
    minMs: steps.gapLimitMs,
    offMs: (options.offHours ?? 24) * MS_PER_HOUR,
  });
  // A source with no rows has nothing valid in it: an empty export must not pass as OK.
  const empty =
    rows.rows === 0
      ? [
          problem({
            check: 'empty',
            severity: 'error',
            count: 0,
            unit: 'rows',
            action: 'fails',
            message: 'the source has no rows',
            worst: [],
          }),
        ]
      : [];
  const outages = silence.outages.map((o) => ({
    start: isoOf(o.startMs),
    end: isoOf(o.endMs),
    hours: hoursOf(o.endMs - o.startMs),
    silent_servers: o.silent,
    active_servers: o.active,
  }));
  return finish(
    source,
    options,
    columns,
    [...empty, ...rows.problems, ...servers.problems, ...steps.problems, ...silence.problems, ...notes],
    { rows: rows.rows, servers: servers.servers, eligible: servers.eligible },
    outages,
  );
}

/** Notes (not problems): optional columns absent, columns outside the contract ignored. */
function schemaNotes(columns: readonly SourceColumn[]): ValidationProblem[] {
  const { missing, unknown } = columnNotes(columns);
  const notes: ValidationProblem[] = [];
  const metrics = missing.filter((c) => c !== PROFILE_COLUMN);
  if (missing.includes(PROFILE_COLUMN))
    notes.push(
      problem({
        check: 'no_profile_column',
        severity: 'note',
        count: 1,
        unit: 'columns',
        action: 'ignored',
        column: PROFILE_COLUMN,
        message: "no 'profile' column: every server is in one group, 'default'",
        worst: [],
      }),
    );
  if (metrics.length > 0)
    notes.push(
      problem({
        check: 'missing_metric_columns',
        severity: 'note',
        count: metrics.length,
        unit: 'columns',
        action: 'missing',
        message: `optional metric columns absent (read as missing): ${metrics.join(', ')}`,
        worst: [],
        examples: [],
      }),
    );
  if (unknown.length > 0)
    notes.push(
      problem({
        check: 'ignored_columns',
        severity: 'note',
        count: unknown.length,
        unit: 'columns',
        action: 'ignored',
        message: `columns outside the data contract, ignored: ${unknown.map((c) => JSON.stringify(c.slice(0, 64))).join(', ')}`,
        worst: [],
      }),
    );
  return notes;
}

/** Rows and servers of a source whose schema fails (servers when server_name is there at all). */
async function countsOnly(
  conn: DuckDBConnection,
  source: MetricsSource,
  columns: readonly SourceColumn[],
): Promise<{ rows: number; servers: number; eligible: number }> {
  const hasName = columns.some((c) => c.name === SERVER_COLUMN);
  const reader = await conn.runAndReadAll(
    `SELECT count(*), ${hasName ? `count(DISTINCT ${sqlIdentifier(SERVER_COLUMN)})` : '0'} FROM ${source.relation()}`,
  );
  const [rows, servers] = reader.getRowsJS()[0] ?? [0, 0];
  return { rows: Number(rows), servers: Number(servers), eligible: 0 };
}

function finish(
  source: MetricsSource,
  options: ValidationOptions,
  columns: readonly SourceColumn[],
  problems: ValidationProblem[],
  counts: { rows: number; servers: number; eligible: number },
  outages: DataValidationReport['outages'],
): DataValidationReport {
  const errors = problems.filter((p) => p.severity === 'error').length;
  const notes = problems.filter((p) => p.severity === 'note').length;
  const { missing, unknown } = columnNotes(columns);
  return {
    source: source.description,
    now: options.now.toISOString(),
    rows: counts.rows,
    servers: counts.servers,
    eligible_servers: counts.eligible,
    ok: errors === 0,
    errors,
    warnings: problems.length - errors - notes,
    notes,
    columns: {
      present: columns.map((c) => c.name).filter((n) => !unknown.includes(n)),
      missing,
      ignored: unknown,
    },
    outages,
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
