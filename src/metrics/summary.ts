import type { DuckDBConnection } from '@duckdb/node-api';
import { compareNames, serverNameProblem } from '../core/server-name.js';
import {
  DEFAULT_PROFILE,
  PROFILE_COLUMN,
  PROFILE_PATTERN,
  SERVER_COLUMN,
  TIMESTAMP_COLUMN,
} from './contract.js';
import { sqlIdentifier, sqlString, withDuckDb, type DuckDbOptions } from './duckdb.js';
import { assertColumns, openSource } from './open.js';
import type { MetricsSource } from './source.js';

/** What the metrics say about one server: the basis of fleet status, eligibility and drift. */
export interface ServerSummary {
  name: string;
  /**
   * The server's role: the valid profile of its newest rows. Rows whose profile is invalid never
   * decide it; validation reports servers whose rows disagree.
   */
  profile: string;
  /**
   * The newest sample of a valid profile other than `profile` (null: every valid row carries
   * `profile`). The server has reported only `profile` since then.
   */
  otherProfileSeen: OtherProfile | null;
  /** Its rows with an invalid profile (NULL or not matching the rule): ignored for the profile. */
  invalidProfile: InvalidProfileRows | null;
  /** First and last sample and sample count over all its rows (every row shows it reporting). */
  firstSeen: Date;
  lastSeen: Date;
  samples: number;
}

export interface OtherProfile {
  /** The other valid profiles, sorted. */
  profiles: string[];
  lastSeen: Date;
}

export interface InvalidProfileRows {
  samples: number;
  /** Up to 3 of the invalid values (untrusted: render with `preview`), sorted; null for NULL. */
  values: Array<string | null>;
  problem: string;
}

/** A server_name value that fails the name rules: excluded from the fleet and reported. */
export interface RejectedServer {
  /** The raw value (untrusted: render with `preview`). */
  value: string | null;
  problem: string;
  /**
   * 'name': the value fails the server-name rules. 'profile': a valid name none of whose rows
   * carries a valid profile (a server that reports, with no usable role). Absent otherwise.
   */
  reason?: 'name' | 'profile';
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
  assertColumns(source, columns, [TIMESTAMP_COLUMN, SERVER_COLUMN]);
  // `profile` is optional (DATA_CONTRACT.md): without it every server is in one group, `default`.
  const profile = columns.some((c) => c.name === PROFILE_COLUMN)
    ? sqlIdentifier(PROFILE_COLUMN)
    : sqlString(DEFAULT_PROFILE);
  const untilMs = options.until?.getTime();
  // The common case (no sample after `until`) costs one scan; a replay in the past costs two.
  const all = await aggregate(conn, source, profile, undefined);
  let latest = -Infinity;
  for (const server of all.servers) latest = Math.max(latest, server.lastSeen.getTime());
  for (const server of all.rejected) latest = Math.max(latest, lastOf(server));
  if (untilMs === undefined || latest <= untilMs) return { ...all, rowsAfterUntil: 0 };
  const upTo = await aggregate(conn, source, profile, untilMs);
  return { ...upTo, rowsAfterUntil: all.rows - upTo.rows };
}

function lastOf(rejected: RejectedServer): number {
  return rejected.lastSeen?.getTime() ?? -Infinity;
}

async function aggregate(
  conn: DuckDBConnection,
  source: MetricsSource,
  profile: string,
  untilMs: number | undefined,
): Promise<Omit<FleetSummary, 'rowsAfterUntil'>> {
  const ts = sqlIdentifier(TIMESTAMP_COLUMN);
  const name = sqlIdentifier(SERVER_COLUMN);
  const untilFilter =
    untilMs === undefined ? '' : `WHERE ${ts} <= make_timestamp(${Math.floor(untilMs)}::BIGINT * 1000)`;
  // One group per (server, profile): a handful per server, so every profile a server reported is
  // seen with its own time range, and bad rows can be set aside instead of deciding the profile.
  const sql = `SELECT ${name} AS name, ${profile} AS profile,
      epoch_ms(min(${ts})) AS first_ms, epoch_ms(max(${ts})) AS last_ms, count(*) AS samples
    FROM ${source.relation()} ${untilFilter}
    GROUP BY ALL`;
  const reader = await conn.runAndReadAll(sql);
  const groups = new Map<string | null, ProfileGroup[]>();
  let rows = 0;
  for (const [rawName, rawProfile, firstMs, lastMs, count] of reader.getRows()) {
    const value = rawName === null ? null : String(rawName);
    const group: ProfileGroup = {
      profile: rawProfile === null ? null : String(rawProfile),
      firstMs: firstMs === null ? null : Number(firstMs),
      lastMs: lastMs === null ? null : Number(lastMs),
      samples: Number(count),
    };
    rows += group.samples;
    const list = groups.get(value);
    if (list === undefined) groups.set(value, [group]);
    else list.push(group);
  }
  const servers: ServerSummary[] = [];
  const rejected: RejectedServer[] = [];
  for (const [value, list] of groups) {
    const merged = summarizeGroups(value, list);
    if ('problem' in merged) rejected.push(merged);
    else servers.push(merged);
  }
  servers.sort((a, b) => compareNames(a.name, b.name));
  rejected.sort((a, b) => compareNames(a.value ?? '', b.value ?? ''));
  return { source: source.description, servers, rejected, rows };
}

interface ProfileGroup {
  profile: string | null;
  firstMs: number | null;
  lastMs: number | null;
  samples: number;
}

/** One server_name's (server, profile) groups → its summary, or why it is rejected. */
function summarizeGroups(
  value: string | null,
  groups: readonly ProfileGroup[],
): ServerSummary | RejectedServer {
  let samples = 0;
  let firstMs = Infinity;
  let lastMs = -Infinity;
  for (const g of groups) {
    samples += g.samples;
    if (g.firstMs !== null) firstMs = Math.min(firstMs, g.firstMs);
    if (g.lastMs !== null) lastMs = Math.max(lastMs, g.lastMs);
  }
  const firstSeen = Number.isFinite(firstMs) ? new Date(firstMs) : null;
  const lastSeen = Number.isFinite(lastMs) ? new Date(lastMs) : null;
  const nameProblem = value === null ? 'server name is missing (NULL)' : serverNameProblem(value);
  if (nameProblem !== undefined)
    return { value, problem: nameProblem, reason: 'name', samples, firstSeen, lastSeen };
  if (firstSeen === null || lastSeen === null)
    return { value, problem: 'no valid timestamps', samples, firstSeen, lastSeen };

  const valid: Array<ProfileGroup & { profile: string; lastMs: number }> = [];
  const invalid: ProfileGroup[] = [];
  for (const g of groups) {
    if (profileProblem(g.profile) !== undefined) invalid.push(g);
    // rows without a timestamp say nothing about when a profile held (check-data reports them)
    else if (g.profile !== null && g.lastMs !== null)
      valid.push({ ...g, profile: g.profile, lastMs: g.lastMs });
  }
  const invalidProfile: InvalidProfileRows | null =
    invalid.length === 0
      ? null
      : {
          samples: invalid.reduce((n, g) => n + g.samples, 0),
          values: invalid
            .map((g) => g.profile)
            .sort((a, b) => compareNames(a ?? '', b ?? ''))
            .slice(0, 3),
          problem: profileProblem(invalid[0]!.profile)!,
        };
  if (valid.length === 0)
    return {
      value,
      problem: invalidProfile?.problem ?? 'no row with both a profile and a timestamp',
      reason: 'profile',
      samples,
      firstSeen,
      lastSeen,
    };
  // The newest rows decide; on a tie (same last sample), the profile with more rows, then by name.
  const [current, ...others] = [...valid].sort(
    (a, b) => b.lastMs - a.lastMs || b.samples - a.samples || compareNames(a.profile, b.profile),
  );
  const otherProfileSeen: OtherProfile | null =
    others.length === 0
      ? null
      : {
          profiles: others.map((g) => g.profile).sort(compareNames),
          lastSeen: new Date(Math.max(...others.map((g) => g.lastMs))),
        };
  return {
    name: value!,
    profile: current!.profile,
    otherProfileSeen,
    invalidProfile,
    firstSeen,
    lastSeen,
    samples,
  };
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
