import type { DuckDBConnection } from '@duckdb/node-api';
import { preview } from '../core/server-name.js';
import { sqlIdentifier } from '../metrics/duckdb.js';
import {
  DEFAULT_INTERVAL_SECONDS,
  METRICS,
  PROFILE_COLUMN,
  SERVER_COLUMN,
  TIMESTAMP_COLUMN,
} from '../metrics/contract.js';
import type { MetricsSource } from '../metrics/source.js';
import {
  boundedName,
  EXAMPLES,
  isoOf,
  problem,
  type ProblemExample,
  type ValidationOptions,
  type ValidationProblem,
} from './data-problems.js';
import type { Gap } from './outages.js';

/** The temporary table of the sorted pass: only the steps that are duplicates or gaps. */
const STEPS = 'fleetcast_check_steps';

/**
 * Duplicates and gaps in one sorted pass: the step from each sample to the server's previous
 * one is 0 for a repeated (server, timestamp) and longer than gapFactor × interval for a gap.
 * A repeated row is *identical* when every contract column present (profile and metrics) equals
 * the previous row's; columns outside the contract are ignored, as the readers ignore them.
 * Returns the duplicate problems and every gap (outages.ts sorts them into outages, gaps and
 * servers switched off).
 */
export async function checkSteps(
  conn: DuckDBConnection,
  source: MetricsSource,
  columnTypes: ReadonlyMap<string, string>,
  options: Pick<ValidationOptions, 'intervalSeconds' | 'gapFactor'>,
): Promise<{ problems: ValidationProblem[]; gaps: Gap[]; gapLimitMs: number }> {
  const ts = sqlIdentifier(TIMESTAMP_COLUMN);
  const name = sqlIdentifier(SERVER_COLUMN);
  const interval = options.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS;
  const limitUs = Math.round(interval * (options.gapFactor ?? 3) * 1e6);
  const metrics = METRICS.filter((m) => columnTypes.has(m.name)).map((m) => m.name);
  const compared = [...(columnTypes.has(PROFILE_COLUMN) ? [PROFILE_COLUMN] : []), ...metrics];
  const differs =
    compared.length === 0
      ? 'false'
      : compared
          .map((c) => `${sqlIdentifier(c)} IS DISTINCT FROM lag(${sqlIdentifier(c)}) OVER w`)
          .join(' OR ');
  await conn.run(`CREATE OR REPLACE TEMP TABLE ${STEPS} AS
    SELECT * FROM (
      SELECT ${name} AS server, epoch_us(${ts}) AS at_us,
        epoch_us(${ts}) - epoch_us(lag(${ts}) OVER w) AS step_us, (${differs}) AS differs
      FROM ${source.relation()} WHERE ${ts} IS NOT NULL AND ${name} IS NOT NULL
      WINDOW w AS (PARTITION BY ${name} ORDER BY ${ts})
    ) WHERE step_us = 0 OR step_us > ${limitUs}`);
  try {
    const problems = await duplicates(conn, source, metrics);
    const reader = await conn.runAndReadAll(
      `SELECT server, (at_us - step_us) // 1000, at_us // 1000 FROM ${STEPS} WHERE step_us > ${limitUs} ORDER BY 1, 2`,
    );
    const gaps = reader
      .getRowsJS()
      .map(([server, from, to]): Gap => ({ server: String(server), fromMs: Number(from), toMs: Number(to) }));
    return { problems, gaps, gapLimitMs: limitUs / 1000 };
  } finally {
    await conn.run(`DROP TABLE IF EXISTS ${STEPS}`);
  }
}

/** Identical duplicates (one is kept) and conflicting ones (averaged), from the steps table. */
async function duplicates(
  conn: DuckDBConnection,
  source: MetricsSource,
  metrics: readonly string[],
): Promise<ValidationProblem[]> {
  // Per server: repeated timestamps and extra rows, identical and conflicting apart.
  const groups = `SELECT server, at_us, count(*) AS extra, bool_or(differs) AS conflicting
    FROM ${STEPS} WHERE step_us = 0 GROUP BY ALL`;
  const perServer = (
    await conn.runAndReadAll(
      `SELECT server,
         count(*) FILTER (WHERE NOT conflicting), coalesce(sum(extra) FILTER (WHERE NOT conflicting), 0),
         count(*) FILTER (WHERE conflicting), coalesce(sum(extra) FILTER (WHERE conflicting), 0),
         min(at_us) FILTER (WHERE NOT conflicting) // 1000
       FROM (${groups}) GROUP BY 1`,
    )
  )
    .getRowsJS()
    .map(([server, idTs, idExtra, cTs, cExtra, firstMs]) => ({
      server: boundedName(server),
      identical: Number(idTs),
      identicalRows: Number(idExtra),
      conflicting: Number(cTs),
      conflictingRows: Number(cExtra),
      firstMs: firstMs === null ? null : Number(firstMs),
    }));
  const problems: ValidationProblem[] = [];
  const identical = perServer.filter((s) => s.identical > 0);
  if (identical.length > 0) {
    const timestamps = identical.reduce((n, s) => n + s.identical, 0);
    const extra = identical.reduce((n, s) => n + s.identicalRows, 0);
    const ranked = [...identical].sort((a, b) => b.identicalRows - a.identicalRows).slice(0, EXAMPLES);
    problems.push(
      problem({
        check: 'duplicate_identical',
        severity: 'warning',
        count: extra,
        unit: 'rows',
        action: 'kept_one',
        servers: identical.length,
        message: `${extra} extra rows repeat a (server_name, timestamp) pair with identical values (${timestamps} timestamps on ${identical.length} servers): one is kept`,
        worst: ranked.map((s): ProblemExample => ({
          server: s.server,
          timestamp: s.firstMs === null ? null : isoOf(s.firstMs),
          rows: s.identicalRows,
        })),
        examples: ranked.map(
          (s) =>
            `${preview(s.server)}: ${s.identicalRows} extra rows on ${s.identical} timestamps (first at ${s.firstMs === null ? '?' : isoOf(s.firstMs)})`,
        ),
      }),
    );
  }
  const conflicting = perServer.filter((s) => s.conflicting > 0);
  if (conflicting.length > 0) {
    const timestamps = conflicting.reduce((n, s) => n + s.conflicting, 0);
    const extra = conflicting.reduce((n, s) => n + s.conflictingRows, 0);
    const spreads = await worstSpreads(conn, source, metrics);
    const max = spreads[0];
    problems.push(
      problem({
        check: 'duplicate_conflicting',
        severity: 'warning',
        count: timestamps,
        unit: 'timestamps',
        action: 'averaged',
        servers: conflicting.length,
        message:
          `${timestamps} (server_name, timestamp) pairs on ${conflicting.length} servers have rows that disagree (${extra} extra rows): ` +
          `each metric is averaged over their finite values` +
          (max
            ? ` (widest spread ${max.value} in ${max.column} on ${preview(max.server)} at ${max.timestamp})`
            : ''),
        ...(max ? { max: exampleOf(max) } : {}),
        worst: spreads.slice(0, EXAMPLES).map(exampleOf),
        examples: spreads
          .slice(0, EXAMPLES)
          .map(
            (s) =>
              `${preview(s.server)} at ${s.timestamp}: ${s.column} spread ${s.value} over ${s.rows} rows`,
          ),
      }),
    );
  }
  return problems;
}

interface Spread extends ProblemExample {
  column: string;
  value: number;
  rows: number;
}

const exampleOf = (s: Spread): ProblemExample => ({
  server: s.server,
  timestamp: s.timestamp ?? null,
  value: s.value,
  rows: s.rows,
});

/**
 * The widest spread (max − min of the finite values) of each metric over the conflicting
 * duplicates, widest first, relative to the metric's declared range where it has one.
 */
async function worstSpreads(
  conn: DuckDBConnection,
  source: MetricsSource,
  metrics: readonly string[],
): Promise<Spread[]> {
  if (metrics.length === 0) return [];
  const ts = sqlIdentifier(TIMESTAMP_COLUMN);
  const name = sqlIdentifier(SERVER_COLUMN);
  const spread = (m: string): string => {
    const x = `${sqlIdentifier(m)}::DOUBLE`;
    return `max(${x}) FILTER (WHERE isfinite(${x})) - min(${x}) FILTER (WHERE isfinite(${x}))`;
  };
  const keyed = `SELECT r.${name} AS server, epoch_us(r.${ts}) AS at_us, count(*) AS n,
      ${metrics.map((m, i) => `${spread(m)} AS s${i}`).join(', ')}
    FROM ${source.relation()} r
    SEMI JOIN (SELECT DISTINCT server, at_us FROM ${STEPS} WHERE step_us = 0 AND differs) k
      ON r.${name} = k.server AND epoch_us(r.${ts}) = k.at_us
    GROUP BY 1, 2`;
  const select = metrics.flatMap((_, i) => [
    `max(s${i})`,
    `arg_max(server, s${i})`,
    `arg_max(at_us, s${i}) // 1000`,
    `arg_max(n, s${i})`,
  ]);
  const row = (await conn.runAndReadAll(`SELECT ${select.join(', ')} FROM (${keyed})`)).getRowsJS()[0] ?? [];
  const out: Spread[] = [];
  metrics.forEach((column, i) => {
    const value = row[i * 4];
    if (value === null || value === undefined || Number(value) <= 0) return;
    out.push({
      column,
      value: Math.round(Number(value) * 1000) / 1000,
      server: boundedName(row[i * 4 + 1]),
      timestamp: isoOf(Number(row[i * 4 + 2])),
      rows: Number(row[i * 4 + 3]),
    });
  });
  const scale = (s: Spread): number => {
    const spec = METRICS.find((m) => m.name === s.column)!;
    return Number.isFinite(spec.max) ? s.value / (spec.max - spec.min) : s.value;
  };
  return out.sort((a, b) => scale(b) - scale(a));
}
