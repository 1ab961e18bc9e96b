import type { DuckDBConnection } from '@duckdb/node-api';
import { preview } from '../core/server-name.js';
import { sqlIdentifier } from '../metrics/duckdb.js';
import {
  METRICS,
  PROFILE_COLUMN,
  SERVER_COLUMN,
  TIMESTAMP_COLUMN,
  type MetricSpec,
} from '../metrics/contract.js';
import type { MetricsSource } from '../metrics/source.js';
import {
  boundedName,
  EXAMPLES,
  isoOf,
  problem,
  type ProblemExample,
  type ValidationProblem,
} from './data-problems.js';

/** One server's row statistics (one group of the per-server scan; `name` null for NULL names). */
export interface ServerRows {
  name: string | null;
  rows: number;
  /** Epoch ms of its first and last sample; null when every timestamp is NULL. */
  firstMs: number | null;
  lastMs: number | null;
  nullTimestamps: number;
  nullProfiles: number;
  future: number;
  metrics: Map<string, MetricRows>;
}

/** One metric column on one server: missing values by kind, values outside the range, extremes. */
export interface MetricRows {
  nulls: number;
  nans: number;
  infs: number;
  below: number;
  above: number;
  /** Largest and smallest finite value and when (epoch ms); null without finite values. */
  max: { value: number; atMs: number } | null;
  min: { value: number; atMs: number } | null;
}

/**
 * Row-level checks in one scan grouped by server: NULL timestamps and names (errors), timestamps
 * later than now, and per metric column NULL/NaN/±Inf (missing samples) and values outside the
 * declared range (clipped), all warnings. The scan's per-server statistics are returned for the
 * other checks (server spans for outages, NULL profiles).
 */
export async function checkRows(
  conn: DuckDBConnection,
  source: MetricsSource,
  columnTypes: ReadonlyMap<string, string>,
  now: Date,
): Promise<{ rows: number; perServer: ServerRows[]; problems: ValidationProblem[] }> {
  const metrics = METRICS.filter((m) => columnTypes.has(m.name));
  const perServer = await scanServers(conn, source, metrics, columnTypes.has(PROFILE_COLUMN), now);
  const rows = perServer.reduce((n, s) => n + s.rows, 0);
  const problems: ValidationProblem[] = [];
  const nullNames = perServer.find((s) => s.name === null);
  if (nullNames)
    problems.push(
      problem({
        check: 'null_server_name',
        severity: 'error',
        count: nullNames.rows,
        unit: 'rows',
        action: 'fails',
        message: `${nullNames.rows} rows: server_name is NULL`,
        worst: [],
      }),
    );
  const nullTs = sumOf(perServer, (s) => s.nullTimestamps);
  if (nullTs > 0)
    problems.push(
      problem({
        check: 'null_timestamp',
        severity: 'error',
        count: nullTs,
        unit: 'rows',
        action: 'fails',
        message: `${nullTs} rows: timestamp is NULL`,
        servers: perServer.filter((s) => s.nullTimestamps > 0).length,
        worst: worstServers(perServer, (s) => s.nullTimestamps).map(({ s, n }) => ({
          server: boundedName(s.name),
          rows: n,
        })),
      }),
    );
  const future = sumOf(perServer, (s) => s.future);
  if (future > 0)
    problems.push(
      problem({
        check: 'future_timestamp',
        severity: 'warning',
        count: future,
        unit: 'rows',
        action: 'none',
        message: `${future} rows: timestamp is later than now (${now.toISOString()}); fleet status as of now ignores them`,
        servers: perServer.filter((s) => s.future > 0).length,
        worst: worstServers(perServer, (s) => s.future).map(({ s, n }) => ({
          server: boundedName(s.name),
          timestamp: s.lastMs === null ? null : isoOf(s.lastMs),
          rows: n,
        })),
      }),
    );
  for (const metric of metrics) problems.push(...metricProblems(metric, perServer, rows));
  return { rows, perServer, problems };
}

/** Missing values (NULL, NaN, ±Inf) and out-of-range values of one column, from the scan. */
function metricProblems(
  metric: MetricSpec,
  perServer: readonly ServerRows[],
  total: number,
): ValidationProblem[] {
  const of = (s: ServerRows): MetricRows => s.metrics.get(metric.name)!;
  const problems: ValidationProblem[] = [];
  const nulls = sumOf(perServer, (s) => of(s).nulls);
  const nans = sumOf(perServer, (s) => of(s).nans);
  const infs = sumOf(perServer, (s) => of(s).infs);
  const missing = nulls + nans + infs;
  if (missing > 0) {
    const kinds = [
      nulls ? `${nulls} NULL` : '',
      nans ? `${nans} NaN` : '',
      infs ? `${infs} ±Inf` : '',
    ].filter(Boolean);
    const affected = perServer.filter((s) => missingOf(of(s)) > 0).length;
    problems.push(
      problem({
        check: `missing_${metric.name}`,
        severity: 'warning',
        count: missing,
        unit: 'rows',
        action: 'missing',
        column: metric.name,
        servers: affected,
        message:
          `${metric.name} missing in ${missing} of ${total} rows (${kinds.join(', ')}) on ${affected} servers: ` +
          'read as missing samples (NULL)',
        worst: worstServers(perServer, (s) => missingOf(of(s))).map(({ s, n }) => ({
          server: boundedName(s.name),
          rows: n,
        })),
      }),
    );
  }
  const sides: Array<['above' | 'below', number]> = [
    ['above', metric.max],
    ['below', metric.min],
  ];
  for (const [side, bound] of sides) {
    const count = sumOf(perServer, (s) => of(s)[side]);
    if (count === 0) continue;
    const extreme = (s: ServerRows): { value: number; atMs: number } | null =>
      side === 'above' ? of(s).max : of(s).min;
    const ranked = perServer
      .filter((s) => of(s)[side] > 0 && extreme(s) !== null)
      .sort((a, b) => (side === 'above' ? 1 : -1) * (extreme(b)!.value - extreme(a)!.value));
    const example = (s: ServerRows): ProblemExample => ({
      server: boundedName(s.name),
      timestamp: isoOf(extreme(s)!.atMs),
      value: extreme(s)!.value,
      rows: of(s)[side],
    });
    const max = ranked[0] === undefined ? undefined : example(ranked[0]);
    const action = metric.outOfRange === 'clip' ? `clipped to ${bound}` : 'read as missing (NULL)';
    const where =
      max === undefined
        ? ''
        : ` (${side === 'above' ? 'max' : 'min'} ${round3(Number(max.value))} ${metric.unit} on ${preview(max.server)} at ${max.timestamp})`;
    problems.push(
      problem({
        check: `range_${metric.name}`,
        severity: 'warning',
        count,
        unit: 'rows',
        action: metric.outOfRange === 'clip' ? 'clipped' : 'missing',
        column: metric.name,
        servers: ranked.length,
        message: `${metric.name} ${side} ${bound} ${metric.unit} in ${count} rows on ${ranked.length} servers${where}: ${action}`,
        ...(max === undefined ? {} : { max }),
        worst: ranked.slice(0, EXAMPLES).map(example),
        examples: ranked
          .slice(0, EXAMPLES)
          .map(example)
          .map(
            (e) =>
              `${preview(e.server)} at ${e.timestamp}: ${round3(Number(e.value))} ${metric.unit} (${e.rows} rows ${side} ${bound} on this server)`,
          ),
      }),
    );
  }
  return problems;
}

const round3 = (v: number): number => (Math.abs(v) < 1e12 ? Math.round(v * 1000) / 1000 : v);

const missingOf = (m: MetricRows): number => m.nulls + m.nans + m.infs;

function sumOf(servers: readonly ServerRows[], f: (s: ServerRows) => number): number {
  return servers.reduce((n, s) => n + f(s), 0);
}

/** The servers with the largest `f`, largest first (ties by name), at most EXAMPLES. */
function worstServers(
  servers: readonly ServerRows[],
  f: (s: ServerRows) => number,
): Array<{ s: ServerRows; n: number }> {
  return servers
    .map((s) => ({ s, n: f(s) }))
    .filter(({ n }) => n > 0)
    .sort((a, b) => b.n - a.n || String(a.s.name).localeCompare(String(b.s.name)))
    .slice(0, EXAMPLES);
}

/** The one scan: per server, counts of every condition and the extremes of every metric. */
async function scanServers(
  conn: DuckDBConnection,
  source: MetricsSource,
  metrics: readonly MetricSpec[],
  hasProfile: boolean,
  now: Date,
): Promise<ServerRows[]> {
  const ts = sqlIdentifier(TIMESTAMP_COLUMN);
  const name = sqlIdentifier(SERVER_COLUMN);
  const nowTs = `make_timestamp(${Math.floor(now.getTime())}::BIGINT * 1000)`;
  const select = [
    `${name}::VARCHAR`,
    'count(*)',
    `epoch_ms(min(${ts}))`,
    `epoch_ms(max(${ts}))`,
    `count(*) FILTER (WHERE ${ts} IS NULL)`,
    hasProfile ? `count(*) FILTER (WHERE ${sqlIdentifier(PROFILE_COLUMN)} IS NULL)` : '0',
    `count(*) FILTER (WHERE ${ts} > ${nowTs})`,
  ];
  for (const metric of metrics) {
    const x = `${sqlIdentifier(metric.name)}::DOUBLE`;
    const finite = `isfinite(${x})`;
    select.push(
      `count(*) FILTER (WHERE ${x} IS NULL)`,
      `count(*) FILTER (WHERE isnan(${x}))`,
      `count(*) FILTER (WHERE isinf(${x}))`,
      `count(*) FILTER (WHERE ${finite} AND ${x} < ${metric.min})`,
      Number.isFinite(metric.max) ? `count(*) FILTER (WHERE ${finite} AND ${x} > ${metric.max})` : '0',
      `max(${x}) FILTER (WHERE ${finite})`,
      `epoch_ms(arg_max(${ts}, ${x}) FILTER (WHERE ${finite} AND ${ts} IS NOT NULL))`,
      `min(${x}) FILTER (WHERE ${finite})`,
      `epoch_ms(arg_min(${ts}, ${x}) FILTER (WHERE ${finite} AND ${ts} IS NOT NULL))`,
    );
  }
  const reader = await conn.runAndReadAll(`SELECT ${select.join(', ')} FROM ${source.relation()} GROUP BY 1`);
  const num = (v: unknown): number => Number(v ?? 0);
  const orNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  return reader.getRowsJS().map((row): ServerRows => {
    const byMetric = new Map<string, MetricRows>();
    metrics.forEach((metric, i) => {
      const at = 7 + i * 9;
      const extreme = (value: unknown, atMs: unknown): { value: number; atMs: number } | null =>
        value === null || atMs === null ? null : { value: Number(value), atMs: Number(atMs) };
      byMetric.set(metric.name, {
        nulls: num(row[at]),
        nans: num(row[at + 1]),
        infs: num(row[at + 2]),
        below: num(row[at + 3]),
        above: num(row[at + 4]),
        max: extreme(row[at + 5], row[at + 6]),
        min: extreme(row[at + 7], row[at + 8]),
      });
    });
    return {
      name: boundedName(row[0]) === null ? null : String(row[0]),
      rows: num(row[1]),
      firstMs: orNull(row[2]),
      lastMs: orNull(row[3]),
      nullTimestamps: num(row[4]),
      nullProfiles: num(row[5]),
      future: num(row[6]),
      metrics: byMetric,
    };
  });
}
