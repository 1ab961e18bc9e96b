import type { DuckDBConnection } from '@duckdb/node-api';
import { FleetcastError, InputError } from '../core/errors.js';
import { refusedPath } from './duckdb.js';
import {
  METRIC_NAMES,
  NUMERIC_TYPES,
  PROFILE_COLUMN,
  SERVER_COLUMN,
  TEXT_TYPES,
  TIMESTAMP_COLUMN,
  TIMESTAMP_TYPES,
} from './contract.js';
import type { MetricsSource } from './source.js';

export interface SourceColumn {
  name: string;
  type: string;
}

/**
 * Prepares `source` on `conn` (limited to the source's paths, UTC session time zone) and returns
 * its columns. Throws an InputError naming the source when it cannot be read, or when it tries to
 * read a file outside its declared paths (a view of a DuckDB file reading another file).
 */
export async function openSource(conn: DuckDBConnection, source: MetricsSource): Promise<SourceColumn[]> {
  try {
    await source.prepare(conn);
    const reader = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source.relation()}`);
    return reader.getRowObjectsJS().map((row) => ({
      name: String(row.column_name),
      type: String(row.column_type),
    }));
  } catch (error) {
    if (error instanceof FleetcastError) throw error;
    const refused = refusedPath(error);
    if (refused !== undefined)
      throw new InputError(
        `${source.description}: refused: the source reads ${JSON.stringify(refused)}, outside the declared metrics source ` +
          '(DuckDB may only read the declared file, glob or database; see docs/metrics.md, "Sandbox")',
        { cause: error },
      );
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new InputError(`${source.description}: cannot read metrics: ${message}`, { cause: error });
  }
}

/** Problems with the columns the contract requires, in words (empty when the schema is fine). */
export function schemaProblems(columns: readonly SourceColumn[]): string[] {
  const byName = new Map(columns.map((c) => [c.name, c.type]));
  const problems: string[] = [];
  const expect = (name: string, allowed: readonly string[], kind: string): void => {
    const type = byName.get(name);
    if (type === undefined) problems.push(`missing column '${name}' (${kind})`);
    else if (!allowed.includes(type)) problems.push(`column '${name}' has type ${type}, expected ${kind}`);
  };
  expect(TIMESTAMP_COLUMN, TIMESTAMP_TYPES, 'a timestamp');
  expect(SERVER_COLUMN, TEXT_TYPES, 'text');
  expect(PROFILE_COLUMN, TEXT_TYPES, 'text');
  for (const name of METRIC_NAMES) expect(name, NUMERIC_TYPES, 'a number');
  return problems;
}

/** Throws an InputError listing every schema problem of the columns a reader needs. */
export function assertColumns(
  source: MetricsSource,
  columns: readonly SourceColumn[],
  required: readonly string[],
): void {
  const problems = schemaProblems(columns).filter((p) => required.some((name) => p.includes(`'${name}'`)));
  if (problems.length > 0)
    throw new InputError(`${source.description}: not in the metrics data contract: ${problems.join('; ')}`);
}
