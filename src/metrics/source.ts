import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { InputError } from '../core/errors.js';
import { isRemote, restrictAccess, sqlIdentifier, sqlString, type DuckDbAccess } from './duckdb.js';
import { isPrometheusSpec, openPrometheusSource } from './prometheus/source.js';

/**
 * Where fleet metrics come from. Every reader (fleet status, drift, dataset builder, validation)
 * queries `relation()` through DuckDB, so a new backend (Prometheus export, object storage)
 * only has to provide a relation in the data contract's long format.
 */
export interface MetricsSource {
  /** Human-readable origin, used in messages and the events log. */
  readonly description: string;
  /** The only paths DuckDB may read for this source (docs/metrics.md, "Sandbox"). */
  readonly access: DuckDbAccess;
  /**
   * Makes the relation queryable on this connection (e.g. ATTACH a database file), first limiting
   * the connection to `access` and locking its configuration (restrictAccess). Idempotent.
   */
  prepare(conn: DuckDBConnection): Promise<void>;
  /** A table expression for FROM, in the data contract's columns. */
  relation(): string;
}

const DUCKDB_EXTENSIONS = ['.duckdb', '.ddb', '.db'];
const GLOB_CHARS = /[*?[{]/;

/**
 * A parquet file or a glob of parquet files (`data/*.parquet`; `s3://…` with the httpfs extension
 * installed). DuckDB may read the file itself, or everything under the glob's fixed directory.
 */
export class ParquetSource implements MetricsSource {
  readonly description: string;
  readonly access: DuckDbAccess;
  private readonly path: string;
  constructor(pathOrGlob: string) {
    this.description = `parquet ${pathOrGlob}`;
    const remote = isRemote(pathOrGlob);
    this.path = remote ? pathOrGlob : resolve(pathOrGlob);
    const glob = GLOB_CHARS.exec(this.path);
    const access: DuckDbAccess =
      glob === null
        ? { files: [this.path] }
        : { directories: [this.path.slice(0, this.path.lastIndexOf('/', glob.index) + 1)] };
    this.access = remote ? { ...access, extensions: ['httpfs'] } : access;
  }
  async prepare(conn: DuckDBConnection): Promise<void> {
    await restrictAccess(conn, this.access);
  }
  relation(): string {
    return `read_parquet(${sqlString(this.path)}, union_by_name = true)`;
  }
}

/**
 * A table or view (default `metrics`) in a DuckDB database file, attached read-only. DuckDB may
 * read that file (and its WAL) only: a view inside it that reads any other file is refused.
 */
export class DuckDbFileSource implements MetricsSource {
  readonly description: string;
  readonly access: DuckDbAccess;
  private static attachCount = 0;
  private readonly alias = `fleetcast_src_${DuckDbFileSource.attachCount++}`;
  constructor(
    private readonly path: string,
    private readonly table = 'metrics',
  ) {
    this.description = `duckdb ${path} table ${table}`;
    this.access = isRemote(path)
      ? { files: [path], extensions: ['httpfs'] }
      : { files: [resolve(path), `${resolve(path)}.wal`] };
  }
  async prepare(conn: DuckDBConnection): Promise<void> {
    await restrictAccess(conn, this.access);
    await conn.run(
      `ATTACH IF NOT EXISTS ${sqlString(this.path)} AS ${sqlIdentifier(this.alias)} (READ_ONLY)`,
    );
  }
  relation(): string {
    return `${sqlIdentifier(this.alias)}.${sqlIdentifier(this.table)}`;
  }
}

/**
 * Parses a `--metrics` argument: `file.parquet`, `dir/*.parquet`, a directory (all parquet files
 * under it), `file.duckdb` or `file.duckdb#table`, or a Prometheus server read through a local
 * parquet cache: `prometheus+http://host:9090[#mapping=FILE]` (docs/metrics.md, "Prometheus").
 */
export function openMetricsSource(spec: string): MetricsSource {
  if (spec.trim() === '') throw new InputError('--metrics: empty metrics source');
  if (isPrometheusSpec(spec)) return openPrometheusSource(spec);
  const [pathPart, table] = splitTable(spec);
  const remote = isRemote(pathPart);
  const path = remote ? pathPart : resolve(pathPart);
  if (DUCKDB_EXTENSIONS.some((ext) => pathPart.toLowerCase().endsWith(ext))) {
    if (!remote && !existsSync(path)) throw new InputError(`--metrics: DuckDB file not found: ${path}`);
    return new DuckDbFileSource(path, table);
  }
  if (table !== undefined)
    throw new InputError(`--metrics: '#${table}' only applies to DuckDB files: ${spec}`);
  if (remote || GLOB_CHARS.test(pathPart)) return new ParquetSource(path);
  if (!existsSync(path)) throw new InputError(`--metrics: file not found: ${path}`);
  if (statSync(path).isDirectory()) return new ParquetSource(`${path}/**/*.parquet`);
  return new ParquetSource(path);
}

function splitTable(spec: string): [string, string | undefined] {
  const hash = spec.lastIndexOf('#');
  if (hash <= 0) return [spec, undefined];
  const table = spec.slice(hash + 1);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table))
    throw new InputError(`--metrics: invalid table name '${table}'`);
  return [spec.slice(0, hash), table];
}
