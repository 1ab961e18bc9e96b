import type { DuckDBConnection } from '@duckdb/node-api';
import { compareNames, serverNameProblem } from '../core/server-name.js';
import { PROFILE_COLUMN, PROFILE_PATTERN, SERVER_COLUMN, TIMESTAMP_COLUMN } from './contract.js';
import { sqlIdentifier, withDuckDb, type DuckDbOptions } from './duckdb.js';
import { assertColumns, openSource } from './open.js';
import type { MetricsSource } from './source.js';

/** What the metrics say about one server: the basis of fleet status, eligibility and drift. */
export interface ServerSummary {
  name: string;
  /** The server's role (one row's value; validation reports servers whose rows disagree). */
  profile: string;
  firstSeen: Date;
  lastSeen: Date;
  samples: number;
}

/** A server_name value that fails the name rules: excluded from the fleet and reported. */
export interface RejectedServer {
  /** The raw value (untrusted: render with `preview`). */
  value: string | null;
  problem: string;
  samples: number;
  firstSeen: Date | null;
  lastSeen: Date | null;
}

export interface FleetSummary {
  source: string;
  /** Valid servers, sorted by name. */
  servers: ServerSummary[];
  /** Rows whose server name or profile is invalid, grouped by server_name. */
  rejected: RejectedServer[];
  rows: number;
  /** Rows after `until` that were left out (the data is ahead of the clock in use). */
  rowsAfterUntil: number;
}

export interface SummaryOptions {
  /** Ignore samples after this instant (`--now` in the past replays the fleet as of then). */
  until?: Date;
}

/**
 * One pass over the metrics: first_seen, last_seen, samples and profile per server. This is the
 * one aggregation every reader shares (fleet status, drift, manifest, dataset builder, service).
 */
export async function summarizeServersOn(
  conn: DuckDBConnection,
  source: MetricsSource,
  options: SummaryOptions = {},
): Promise<FleetSummary> {
  const columns = await openSource(conn, source);
  assertColumns(source, columns, [TIMESTAMP_COLUMN, SERVER_COLUMN, PROFILE_COLUMN]);
  const untilMs = options.until?.getTime();
  // The common case (no sample after `until`) costs one scan; a replay in the past costs two.
  const all = await aggregate(conn, source, undefined);
  let latest = -Infinity;
  for (const server of all.servers) latest = Math.max(latest, server.lastSeen.getTime());
  for (const server of all.rejected) latest = Math.max(latest, lastOf(server));
  if (untilMs === undefined || latest <= untilMs) return { ...all, rowsAfterUntil: 0 };
  const upTo = await aggregate(conn, source, untilMs);
  return { ...upTo, rowsAfterUntil: all.rows - upTo.rows };
}

function lastOf(rejected: RejectedServer): number {
  return rejected.lastSeen?.getTime() ?? -Infinity;
}

async function aggregate(
  conn: DuckDBConnection,
  source: MetricsSource,
  untilMs: number | undefined,
): Promise<Omit<FleetSummary, 'rowsAfterUntil'>> {
  const ts = sqlIdentifier(TIMESTAMP_COLUMN);
  const name = sqlIdentifier(SERVER_COLUMN);
  const profile = sqlIdentifier(PROFILE_COLUMN);
  const untilFilter =
    untilMs === undefined ? '' : `WHERE ${ts} <= make_timestamp(${Math.floor(untilMs)}::BIGINT * 1000)`;
  // any_value(profile), not min/max: string aggregates would double the cost of this scan.
  // Servers whose rows disagree on the profile are reported by validation (check-data).
  const sql = `SELECT ${name} AS name, any_value(${profile}) AS profile,
      epoch_ms(min(${ts})) AS first_ms, epoch_ms(max(${ts})) AS last_ms, count(*) AS samples
    FROM ${source.relation()} ${untilFilter}
    GROUP BY ${name}`;
  const reader = await conn.runAndReadAll(sql);
  const servers: ServerSummary[] = [];
  const rejected: RejectedServer[] = [];
  let rows = 0;
  for (const row of reader.getRows()) {
    const [rawName, rawProfile, firstMs, lastMs, count] = row;
    const samples = Number(count);
    rows += samples;
    const value = rawName === null ? null : String(rawName);
    const firstSeen = firstMs === null ? null : new Date(Number(firstMs));
    const lastSeen = lastMs === null ? null : new Date(Number(lastMs));
    const problem =
      value === null
        ? 'server name is missing (NULL)'
        : (serverNameProblem(value) ?? profileProblem(rawProfile === null ? null : String(rawProfile)));
    if (problem !== undefined || firstSeen === null || lastSeen === null) {
      rejected.push({ value, problem: problem ?? 'no valid timestamps', samples, firstSeen, lastSeen });
      continue;
    }
    servers.push({ name: value!, profile: String(rawProfile), firstSeen, lastSeen, samples });
  }
  servers.sort((a, b) => compareNames(a.name, b.name));
  rejected.sort((a, b) => compareNames(a.value ?? '', b.value ?? ''));
  return { source: source.description, servers, rejected, rows };
}

/** Same as summarizeServersOn, on a DuckDB of its own. */
export async function summarizeServers(
  source: MetricsSource,
  options: SummaryOptions = {},
  duckdb: DuckDbOptions = {},
): Promise<FleetSummary> {
  return withDuckDb((conn) => summarizeServersOn(conn, source, options), duckdb);
}

export function profileProblem(profile: string | null): string | undefined {
  if (profile === null) return 'profile is missing (NULL)';
  if (!PROFILE_PATTERN.test(profile))
    return `profile ${JSON.stringify(profile.slice(0, 40))} must match ${PROFILE_PATTERN.source}`;
  return undefined;
}

