import type { DuckDBConnection } from '@duckdb/node-api';
import { FleetcastError, InputError } from '../core/errors.js';
import { refusedPath } from './duckdb.js';
import {
  CONTRACT_COLUMNS,
  isNumericType,
  METRIC_NAMES,
  REQUIRED_COLUMNS,
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

/**
 * Problems with the columns, in words (empty when the schema is usable): `timestamp` and
 * `server_name` must be present with their types; `profile` and the metric columns are optional,
 * but a present one must have its declared type (any numeric type, DECIMAL included, for a
 * metric). Columns outside the contract are not problems (columnNotes lists them).
 */
export function schemaProblems(columns: readonly SourceColumn[]): string[] {
  const byName = new Map(columns.map((c) => [c.name, c.type]));
  const problems: string[] = [];
  const expect = (
    name: string,
    allowed: (type: string) => boolean,
    kind: string,
    required: boolean,
  ): void => {
    const type = byName.get(name);
    if (type === undefined) {
      if (required) problems.push(`missing column '${name}' (${kind})`);
    } else if (!allowed(type)) problems.push(`column '${name}' has type ${type}, expected ${kind}`);
  };
  expect(TIMESTAMP_COLUMN, (t) => TIMESTAMP_TYPES.includes(t), 'a timestamp', true);
  expect(SERVER_COLUMN, (t) => TEXT_TYPES.includes(t), 'text', true);
  expect(PROFILE_COLUMN, (t) => TEXT_TYPES.includes(t), 'text', false);
  for (const name of METRIC_NAMES) expect(name, isNumericType, 'a number', false);
  return problems;
}

/** The optional contract columns a source lacks, and its columns outside the contract (ignored). */
export function columnNotes(columns: readonly SourceColumn[]): { missing: string[]; unknown: string[] } {
  const names = new Set(columns.map((c) => c.name));
  return {
    missing: CONTRACT_COLUMNS.filter((name) => !REQUIRED_COLUMNS.includes(name) && !names.has(name)),
    unknown: columns.map((c) => c.name).filter((name) => !CONTRACT_COLUMNS.includes(name)),
  };
}

/**
 * Throws an InputError listing the problems of the columns a reader needs: each of `required`
 * must be present (even an optional column of the contract, when this reader needs it) with its
 * declared type.
 */
export function assertColumns(
  source: MetricsSource,
  columns: readonly SourceColumn[],
  required: readonly string[],
): void {
  const present = new Set(columns.map((c) => c.name));
  const problems = [
    ...required.filter((name) => !present.has(name)).map((name) => `missing column '${name}'`),
    ...schemaProblems(columns).filter(
      (p) => !p.startsWith('missing') && required.some((name) => p.includes(`'${name}'`)),
    ),
  ];
  if (problems.length > 0)
    throw new InputError(`${source.description}: not in the metrics data contract: ${problems.join('; ')}`);
}
