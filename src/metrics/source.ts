import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { InputError } from '../core/errors.js';
import { sqlIdentifier, sqlString } from './duckdb.js';

/**
 * Where fleet metrics come from. Every reader (fleet status, drift, dataset builder, validation)
 * queries `relation()` through DuckDB, so a new backend (Prometheus export, object storage)
 * only has to provide a relation in the data contract's long format.
 */
export interface MetricsSource {
  /** Human-readable origin, used in messages and the events log. */
  readonly description: string;
  /** Makes the relation queryable on this connection (e.g. ATTACH a database file). */
  prepare(conn: DuckDBConnection): Promise<void>;
  /** A table expression for FROM, in the data contract's columns. */
  relation(): string;
}

const DUCKDB_EXTENSIONS = ['.duckdb', '.ddb', '.db'];
const GLOB_CHARS = /[*?[{]/;

/** A parquet file or a glob of parquet files (`data/*.parquet`, `s3://…` once httpfs is loaded). */
export class ParquetSource implements MetricsSource {
  readonly description: string;
  constructor(private readonly pathOrGlob: string) {
    this.description = `parquet ${pathOrGlob}`;
  }
  async prepare(): Promise<void> {}
  relation(): string {
    return `read_parquet(${sqlString(this.pathOrGlob)}, union_by_name = true)`;
  }
}

/** A table (default `metrics`) in a DuckDB database file, attached read-only. */
export class DuckDbFileSource implements MetricsSource {
  readonly description: string;
  private static attachCount = 0;
  private readonly alias = `fleetcast_src_${DuckDbFileSource.attachCount++}`;
  constructor(
    private readonly path: string,
    private readonly table = 'metrics',
  ) {
    this.description = `duckdb ${path} table ${table}`;
  }
  async prepare(conn: DuckDBConnection): Promise<void> {
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
 * under it), `file.duckdb` or `file.duckdb#table`.
 */
export function openMetricsSource(spec: string): MetricsSource {
  if (spec.trim() === '') throw new InputError('--metrics: empty metrics source');
  const [pathPart, table] = splitTable(spec);
  const isRemote = /^[a-z][a-z0-9+.-]*:\/\//i.test(pathPart);
  const path = isRemote ? pathPart : resolve(pathPart);
  if (DUCKDB_EXTENSIONS.some((ext) => pathPart.toLowerCase().endsWith(ext))) {
    if (!isRemote && !existsSync(path)) throw new InputError(`--metrics: DuckDB file not found: ${path}`);
    return new DuckDbFileSource(path, table);
  }
  if (table !== undefined)
    throw new InputError(`--metrics: '#${table}' only applies to DuckDB files: ${spec}`);
  if (isRemote || GLOB_CHARS.test(pathPart)) return new ParquetSource(path);
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
