import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { z } from 'zod';
import { writeJsonAtomic } from '../../core/atomic-write.js';
import { InputError, getErrorMessage } from '../../core/errors.js';
import { describeZodError } from '../../core/read-json.js';
import { PROFILE_COLUMN, SERVER_COLUMN, TIMESTAMP_COLUMN } from '../contract.js';
import { sqlIdentifier, sqlString, withDuckDb } from '../duckdb.js';
import type { PrometheusClient, RangeRequest } from './client.js';
import { emptySkips, fetchRange, type PivotedChunk, type ServerEntry, type SkipCounts } from './fetch.js';
import type { PrometheusMapping } from './mapping.js';

const STATE_FILE = 'state.json';
const LOCK_FILE = 'sync.lock';
const DAY_SECONDS = 86_400;
/** Superseded files stay this long, so a reader that listed them before a sync can finish. */
const OBSOLETE_GRACE_MS = 10 * 60_000;
const STALE_LOCK_MS = 60 * 60_000;
const LOCK_WAIT_MS = 5 * 60_000;
const SYNC_HISTORY = 20;

const StateSchema = z.object({
  version: z.literal(1),
  url: z.string(),
  step_seconds: z.number(),
  columns: z.array(z.string()),
  profile: z.boolean(),
  /** Unix seconds: the last grid point a successful sync asked Prometheus for. */
  synced_until: z.number().nullable(),
  /** UTC day (YYYY-MM-DD) → the parquet file holding that day's rows. */
  files: z.record(z.string(), z.string()),
  /** Files no longer in `files`, deleted once OBSOLETE_GRACE_MS old. */
  obsolete: z.array(z.object({ file: z.string(), since: z.number() })),
  syncs: z.array(z.record(z.string(), z.unknown())),
});
export type CacheState = z.infer<typeof StateSchema>;

/** What one sync did: the range asked for, the requests, the samples kept and skipped. */
export interface SyncReport {
  /** Unix seconds on the step grid; null when nothing was fetched. */
  from: number | null;
  to: number | null;
  requests: RangeRequest[];
  samples: number;
  rows: number;
  servers: number;
  skips: SkipCounts;
  /** Day files written. */
  filesWritten: number;
  /** Day files past the mapping's retention, no longer part of the cache. */
  daysDropped: number;
  seconds: number;
  /** Of which fetching (requests, parsing, staging rows in DuckDB) and writing the day files. */
  fetchSeconds: number;
  writeSeconds: number;
  /** True when the cache was already up to date (no request made). */
  upToDate: boolean;
}

export function initialState(baseUrl: string, mapping: PrometheusMapping): CacheState {
  return {
    version: 1,
    url: baseUrl,
    step_seconds: mapping.stepMs / 1000,
    columns: mapping.columns.map((c) => c.name),
    profile: mapping.profileLabel !== undefined,
    synced_until: null,
    files: {},
    obsolete: [],
    syncs: [],
  };
}

export async function readState(dir: string): Promise<CacheState | null> {
  let text: string;
  try {
    text = await readFile(join(dir, STATE_FILE), 'utf8');
  } catch {
    return null;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(
      `${join(dir, STATE_FILE)}: invalid JSON (${getErrorMessage(error)}); delete the cache directory to rebuild it`,
    );
  }
  const parsed = StateSchema.safeParse(value);
  if (!parsed.success)
    throw new InputError(
      `${describeZodError(join(dir, STATE_FILE), parsed.error)}\ndelete the cache directory to rebuild it`,
    );
  return parsed.data;
}

/** The parquet files of the cache, in day order (absolute paths). */
export function cacheFiles(dir: string, state: CacheState): string[] {
  return Object.keys(state.files)
    .sort()
    .map((day) => join(dir, state.files[day]!));
}

/** The relation over the cache: its day files, or an empty relation with the same columns. */
export function cacheRelation(files: readonly string[], state: CacheState): string {
  if (files.length > 0) return `read_parquet([${files.map(sqlString).join(', ')}])`;
  const columns = [
    `NULL::TIMESTAMP AS ${sqlIdentifier(TIMESTAMP_COLUMN)}`,
    `NULL::VARCHAR AS ${sqlIdentifier(SERVER_COLUMN)}`,
    ...(state.profile ? [`NULL::VARCHAR AS ${sqlIdentifier(PROFILE_COLUMN)}`] : []),
    ...state.columns.map((c) => `NULL::DOUBLE AS ${sqlIdentifier(c)}`),
  ];
  return `(SELECT ${columns.join(', ')} WHERE false)`;
}

export interface SyncOptions {
  dir: string;
  client: PrometheusClient;
  mapping: PrometheusMapping;
  now: Date;
  threads?: number;
}

/**
 * Brings the cache in `dir` up to `now`: asks Prometheus for [last synced point − one step, now]
 * (the whole backfill on the first sync), and rewrites the UTC day files that range touches, the
 * overlap replacing what was cached for it (late samples). Nothing is committed unless every
 * request succeeded: new files get fresh names and only the atomic rename of state.json makes
 * them the cache. One sync at a time per cache directory (a lock file).
 */
export async function syncCache(options: SyncOptions): Promise<{ state: CacheState; report: SyncReport }> {
  const { dir } = options;
  // the common warm case, without the lock: state.json is replaced atomically, so it is whole
  const current = await readState(dir);
  if (current !== null && upToDate(current, options)) return { state: current, report: noSync() };
  await mkdir(dir, { recursive: true });
  const release = await lock(dir);
  try {
    return await syncLocked(options);
  } finally {
    await release();
  }
}

async function syncLocked(options: SyncOptions): Promise<{ state: CacheState; report: SyncReport }> {
  const { dir, client, mapping } = options;
  const began = performance.now();
  const state = (await readState(dir)) ?? initialState(client.baseUrl, mapping);
  const step = mapping.stepMs / 1000;
  const to = Math.floor(options.now.getTime() / 1000 / step) * step;
  if (upToDate(state, options)) return { state, report: noSync() };
  const from =
    state.synced_until === null
      ? to - Math.floor(mapping.backfillMs / 1000 / step) * step
      : state.synced_until - step;
  const report: SyncReport = {
    ...noSync(),
    from,
    to,
    upToDate: false,
  };

  const token = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const written: string[] = [];
  try {
    const next = await withDuckDb(
      async (conn) => {
        const ncols = mapping.columns.length;
        await conn.run(
          `CREATE TEMP TABLE fresh (t INTEGER, s INTEGER, ${mapping.columns.map((_, i) => `c${i} DOUBLE`).join(', ')})`,
        );
        const appender = await conn.createAppender('fresh');
        const servers = new Map<string, number>();
        const serverList: ServerEntry[] = [];
        let rows = 0;
        const sink = (chunk: PivotedChunk): void => {
          for (const [index, values] of chunk.servers) {
            for (let i = 0; i < chunk.points; i++) {
              let any = false;
              for (let c = 0; c < ncols; c++) if (!Number.isNaN(values[c * chunk.points + i]!)) any = true;
              if (!any) continue;
              appender.appendInteger(chunk.start + i * chunk.step);
              appender.appendInteger(index);
              for (let c = 0; c < ncols; c++) {
                const value = values[c * chunk.points + i]!;
                if (Number.isNaN(value)) appender.appendNull();
                else appender.appendDouble(value);
              }
              appender.endRow();
              rows++;
            }
          }
        };
        const fetchBegan = performance.now();
        const stats = await fetchRange(client, mapping, from, to, servers, serverList, sink);
        appender.flushSync();
        appender.closeSync();
        report.fetchSeconds = (performance.now() - fetchBegan) / 1000;
        Object.assign(report, {
          requests: stats.requests,
          samples: stats.samples,
          skips: stats.skips,
          rows,
          servers: serverList.length,
        });
        const writeBegan = performance.now();
        await loadServers(conn, serverList);
        const files = await writeDays(conn, dir, state, mapping, from, token, written);
        report.writeSeconds = (performance.now() - writeBegan) / 1000;
        return files;
      },
      { access: { directories: [dir] }, ...(options.threads ? { threads: options.threads } : {}) },
    );
    report.filesWritten = written.length;
    report.seconds = (performance.now() - began) / 1000;
    report.daysDropped = dropExpiredDays(next, to - mapping.retentionMs / 1000);
    const now = Date.now();
    const superseded = Object.entries(state.files)
      .filter(([day, file]) => next[day] !== file)
      .map(([, file]) => ({ file, since: now }));
    const obsolete = [...state.obsolete, ...superseded];
    const committed: CacheState = {
      ...state,
      synced_until: to,
      files: next,
      obsolete: obsolete.filter((o) => now - o.since < OBSOLETE_GRACE_MS),
      syncs: [...state.syncs, syncEntry(report)].slice(-SYNC_HISTORY),
    };
    await writeJsonAtomic(join(dir, STATE_FILE), committed);
    await cleanUp(dir, committed, obsolete);
    return { state: committed, report };
  } catch (error) {
    await Promise.all(written.map((file) => rm(join(dir, file), { force: true })));
    throw error;
  }
}

/** Whether the cache already holds everything up to `now` (floored to the step). */
function upToDate(state: CacheState, options: SyncOptions): boolean {
  const step = options.mapping.stepMs / 1000;
  const to = Math.floor(options.now.getTime() / 1000 / step) * step;
  return state.synced_until !== null && to <= state.synced_until;
}

function noSync(): SyncReport {
  return {
    from: null,
    to: null,
    requests: [],
    samples: 0,
    rows: 0,
    servers: 0,
    skips: emptySkips(),
    filesWritten: 0,
    daysDropped: 0,
    seconds: 0,
    fetchSeconds: 0,
    writeSeconds: 0,
    upToDate: true,
  };
}

async function loadServers(conn: DuckDBConnection, serverList: readonly ServerEntry[]): Promise<void> {
  await conn.run('CREATE TEMP TABLE servers (s INTEGER, name VARCHAR, profile VARCHAR)');
  const appender = await conn.createAppender('servers');
  serverList.forEach((server, index) => {
    appender.appendInteger(index);
    appender.appendVarchar(server.name);
    if (server.profile === null) appender.appendNull();
    else appender.appendVarchar(server.profile);
    appender.endRow();
  });
  appender.flushSync();
  appender.closeSync();
}

/**
 * Writes one parquet file per UTC day the fetch touched: the day's earlier cached rows (before
 * `from`) plus the fetched rows. Returns the new day → file map.
 */
async function writeDays(
  conn: DuckDBConnection,
  dir: string,
  state: CacheState,
  mapping: PrometheusMapping,
  from: number,
  token: string,
  written: string[],
): Promise<Record<string, string>> {
  const columns = [
    `make_timestamp(f.t::BIGINT * 1000000) AS ${sqlIdentifier(TIMESTAMP_COLUMN)}`,
    `v.name AS ${sqlIdentifier(SERVER_COLUMN)}`,
    ...(mapping.profileLabel !== undefined ? [`v.profile AS ${sqlIdentifier(PROFILE_COLUMN)}`] : []),
    ...mapping.columns.map((c, i) => `f.c${i} AS ${sqlIdentifier(c.name)}`),
  ];
  await conn.run(
    `CREATE TEMP TABLE fresh_rows AS SELECT f.t // ${DAY_SECONDS} AS day, ${columns.join(', ')}
     FROM fresh f JOIN servers v USING (s)`,
  );
  const days = await conn.runAndReadAll('SELECT DISTINCT day FROM fresh_rows ORDER BY day');
  const freshDays = new Set(days.getRows().map(([day]) => Number(day)));
  const fromDay = Math.floor(from / DAY_SECONDS);
  const next: Record<string, string> = { ...state.files };
  const touched = new Set<number>(freshDays);
  for (const day of Object.keys(state.files)) {
    const n = Date.parse(`${day}T00:00:00Z`) / 1000 / DAY_SECONDS;
    if (n >= fromDay) touched.add(n);
  }
  const fromTs = `make_timestamp(${from}::BIGINT * 1000000)`;
  for (const day of [...touched].sort((a, b) => a - b)) {
    const name = new Date(day * DAY_SECONDS * 1000).toISOString().slice(0, 10);
    const old = state.files[name];
    const parts = [`SELECT * EXCLUDE (day) FROM fresh_rows WHERE day = ${day}`];
    if (old !== undefined)
      parts.unshift(
        `SELECT * FROM read_parquet(${sqlString(join(dir, old))}) WHERE ${sqlIdentifier(TIMESTAMP_COLUMN)} < ${fromTs}`,
      );
    const file = `${name}.${token}.parquet`;
    const tmp = join(dir, `.${file}.tmp`);
    written.push(`.${file}.tmp`);
    const copied = await conn.runAndReadAll(
      `COPY (${parts.join(' UNION ALL BY NAME ')}) TO ${sqlString(tmp)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    const count = Number(copied.getRows()[0]?.[0] ?? 0);
    if (count === 0) {
      await rm(tmp, { force: true });
      delete next[name];
      continue;
    }
    await rename(tmp, join(dir, file));
    written.push(file);
    next[name] = file;
  }
  return next;
}

/** Removes the days wholly before `cutoff` (unix seconds) from `files`; returns how many. */
function dropExpiredDays(files: Record<string, string>, cutoff: number): number {
  const firstKept = new Date(Math.floor(cutoff / DAY_SECONDS) * DAY_SECONDS * 1000)
    .toISOString()
    .slice(0, 10);
  let dropped = 0;
  for (const day of Object.keys(files))
    if (day < firstKept) {
      delete files[day];
      dropped++;
    }
  return dropped;
}

function syncEntry(report: SyncReport): Record<string, unknown> {
  return {
    at: new Date().toISOString(),
    from: report.from === null ? null : new Date(report.from * 1000).toISOString(),
    to: report.to === null ? null : new Date(report.to * 1000).toISOString(),
    requests: report.requests.length,
    samples: report.samples,
    rows: report.rows,
    servers: report.servers,
    skipped: report.skips,
    days_dropped: report.daysDropped,
    seconds: Math.round(report.seconds * 1000) / 1000,
  };
}

/** Deletes obsolete files past their grace time and leftovers of syncs that died. */
async function cleanUp(
  dir: string,
  state: CacheState,
  obsolete: ReadonlyArray<{ file: string; since: number }>,
): Promise<void> {
  const keep = new Set([...Object.values(state.files), ...state.obsolete.map((o) => o.file)]);
  const now = Date.now();
  for (const entry of await readdir(dir)) {
    if (keep.has(entry) || entry === STATE_FILE || entry === LOCK_FILE) continue;
    const known = obsolete.some((o) => o.file === entry);
    const path = join(dir, entry);
    const age = await stat(path).then(
      (s) => now - s.mtimeMs,
      () => 0,
    );
    // an unknown file may be another writer's temp file: only remove it once it is old
    if (known || ((entry.endsWith('.parquet') || entry.endsWith('.tmp')) && age > STALE_LOCK_MS))
      await rm(path, { force: true });
  }
}

/** An exclusive lock file holding our pid; a stale one (dead pid, or an hour old) is taken over. */
async function lock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await staleLock(path)) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline)
      throw new InputError(`${path}: another fleetcast process has been syncing this cache for too long`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function staleLock(path: string): Promise<boolean> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    if (Date.now() - info.mtimeMs > STALE_LOCK_MS) return true;
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 0) return Date.now() - info.mtimeMs > 5000;
    if (pid === process.pid) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  } catch {
    return false;
  }
}
