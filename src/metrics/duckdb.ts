import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

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

export interface DuckDbOptions {
  /** Worker threads; DuckDB defaults to every core. */
  threads?: number;
  memoryLimit?: string;
}

/** Opens an in-memory DuckDB, runs `fn` with a connection, and closes everything. */
export async function withDuckDb<T>(
  fn: (conn: DuckDBConnection) => Promise<T>,
  options: DuckDbOptions = {},
): Promise<T> {
  const config: Record<string, string> = {};
  if (options.threads !== undefined) config.threads = String(options.threads);
  if (options.memoryLimit !== undefined) config.memory_limit = options.memoryLimit;
  const instance = await DuckDBInstance.create(':memory:', config);
  const conn = await instance.connect();
  try {
    return await fn(conn);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
