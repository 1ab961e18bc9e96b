import { resolve, sep } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { InputError } from '../core/errors.js';
import { isRemote } from '../core/remote-path.js';

export { isRemote };

/** A SQL string literal: single quotes doubled. Use for paths; bind parameters for values. */
export function sqlString(value: string): string {
  if (value.includes('\0')) throw new Error('SQL string contains a NUL character');
  return `'${value.replaceAll("'", "''")}'`;
}

/** A SQL identifier: double quotes doubled. */
export function sqlIdentifier(name: string): string {
  if (name.includes('\0')) throw new Error('SQL identifier contains a NUL character');
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * What a connection may touch outside its own memory (docs/metrics.md, "Sandbox"). Everything
 * else is refused by DuckDB itself (`enable_external_access = false`), including file reads from
 * SQL that a metrics source brings along, such as the views of a DuckDB database file.
 */
export interface DuckDbAccess {
  /** Files that may be read (and written): a parquet file, a DuckDB database and its WAL. */
  files?: readonly string[];
  /** Directories whose files, at any depth, may be read and written: a glob's base, an output directory. */
  directories?: readonly string[];
  /** Extensions to load (never install) before the lock: `httpfs` for remote parquet. */
  extensions?: readonly string[];
}

export interface DuckDbOptions {
  /** Worker threads; DuckDB defaults to every core. */
  threads?: number;
  memoryLimit?: string;
  /** `false` lets a parquet writer run in parallel; set before the configuration is locked. */
  preserveInsertionOrder?: boolean;
  /**
   * The files this connection may touch, locked in before `fn` runs. Without it the connection
   * is locked down by the first metrics source prepared on it (MetricsSource.prepare), to that
   * source's paths; no source's SQL ever runs on an open connection.
   */
  access?: DuckDbAccess;
}

/**
 * Opens an in-memory DuckDB, runs `fn` with a connection, and closes everything. Every instance
 * starts with extension auto-install and auto-load off and the session time zone UTC.
 */
export async function withDuckDb<T>(
  fn: (conn: DuckDBConnection) => Promise<T>,
  options: DuckDbOptions = {},
): Promise<T> {
  const config: Record<string, string> = {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  };
  if (options.threads !== undefined) config.threads = String(options.threads);
  if (options.memoryLimit !== undefined) config.memory_limit = options.memoryLimit;
  if (options.preserveInsertionOrder !== undefined)
    config.preserve_insertion_order = String(options.preserveInsertionOrder);
  const instance = await DuckDBInstance.create(':memory:', config);
  const conn = await instance.connect();
  try {
    await setUtc(conn);
    if (options.access !== undefined) await restrictAccess(conn, options.access);
    return await fn(conn);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** The access each locked connection was given (connections this module locked). */
const locked = new WeakMap<DuckDBConnection, Required<DuckDbAccess>>();

/**
 * Limits `conn` to `access` and locks its configuration, so SQL run later (a view of a DuckDB
 * file included) can neither read other files nor turn the limits off. On a connection this
 * module already locked, checks that `access` is within what it was given instead.
 */
export async function restrictAccess(conn: DuckDBConnection, access: DuckDbAccess): Promise<void> {
  const wanted = normalize(access);
  const current = locked.get(conn);
  if (current !== undefined) {
    const outside = [
      ...wanted.files.filter((f) => !current.files.includes(f) && !inDirectories(f, current.directories)),
      ...wanted.directories.filter((d) => !inDirectories(d, current.directories)),
      ...wanted.extensions.filter((e) => !current.extensions.includes(e)),
    ];
    if (outside.length > 0)
      throw new InputError(
        `this DuckDB connection is already limited to other paths and cannot also read ${outside.join(', ')}; ` +
          'open it with access to every source it reads',
      );
    return;
  }
  await setUtc(conn);
  for (const extension of wanted.extensions) {
    try {
      await conn.run(`LOAD ${sqlIdentifier(extension)}`);
    } catch (error) {
      throw new InputError(
        `the DuckDB extension ${extension} is not installed (automatic installs are off): ` +
          `install it once with \`INSTALL ${extension}\` in a DuckDB shell (${firstLine(error)})`,
        { cause: error },
      );
    }
  }
  // The lists must be set while external access is still on; the lock then freezes every setting.
  await conn.run(`SET allowed_paths = ${sqlList(wanted.files)}`);
  await conn.run(`SET allowed_directories = ${sqlList(wanted.directories)}`);
  await conn.run('SET autoinstall_known_extensions = false');
  await conn.run('SET autoload_known_extensions = false');
  await conn.run('SET enable_external_access = false');
  await conn.run('SET lock_configuration = true');
  locked.set(conn, wanted);
}

/** DuckDB's message when the sandbox refused a file, as `the source reads "<path>"`. */
export function refusedPath(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const match = /Permission Error: Cannot access (?:file|directory) "([^"]*)"/.exec(message);
  return match?.[1];
}

async function setUtc(conn: DuckDBConnection): Promise<void> {
  try {
    await conn.run("SET TimeZone = 'UTC'");
  } catch {
    // Without ICU there are no zone-aware casts, and timestamps are UTC anyway.
  }
}

function normalize(access: DuckDbAccess): Required<DuckDbAccess> {
  const local = (path: string): string => (isRemote(path) ? path : resolve(path));
  const directory = (path: string): string => {
    const full = local(path);
    return full.endsWith('/') || full.endsWith(sep) ? full : `${full}${isRemote(full) ? '/' : sep}`;
  };
  return {
    files: [...new Set((access.files ?? []).map(local))],
    directories: [...new Set((access.directories ?? []).map(directory))],
    extensions: [...new Set(access.extensions ?? [])],
  };
}

function inDirectories(path: string, directories: readonly string[]): boolean {
  return directories.some((d) => path.startsWith(d));
}

/** `s3://…`, `https://…`: not a local path. */

function sqlList(values: readonly string[]): string {
  return `[${values.map(sqlString).join(', ')}]`;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
