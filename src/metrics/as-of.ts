import type { DuckDBConnection } from '@duckdb/node-api';
import { TIMESTAMP_COLUMN, TIMESTAMP_TYPES } from './contract.js';
import { sqlIdentifier, withDuckDb, type DuckDbOptions } from './duckdb.js';
import { openSource, type SourceColumn } from './open.js';
import type { MetricsSource } from './source.js';

/**
 * A metrics source as of an instant (`--now`): rows with a timestamp later than `now` are left
 * out for every reader (dataset builder, validation, data checks), so a command run with `--now`
 * in the past sees the fleet as it was then. Rows without a timestamp stay, for the data checks
 * to report. A source whose timestamp column is missing or not a timestamp is passed through
 * unfiltered: the schema check then names the problem instead of a SQL error.
 */
export class AsOfSource implements MetricsSource {
  readonly description: string;
  readonly access: MetricsSource['access'];
  /** Whether the timestamp column can be compared with `now`; known after the first prepare. */
  private filterable: boolean | undefined;

  constructor(
    readonly inner: MetricsSource,
    readonly now: Date,
  ) {
    this.description = `${inner.description} as of ${now.toISOString()}`;
    this.access = inner.access;
  }

  async prepare(conn: DuckDBConnection): Promise<void> {
    await this.inner.prepare(conn);
    this.filterable ??= await hasTimestampColumn(conn, this.inner);
  }

  relation(): string {
    if (this.filterable === undefined) throw new Error('AsOfSource.relation() before prepare()');
    if (!this.filterable) return this.inner.relation();
    const ts = sqlIdentifier(TIMESTAMP_COLUMN);
    return `(SELECT * FROM ${this.inner.relation()} WHERE ${ts} IS NULL OR ${ts} <= ${nowLiteral(this.now)})`;
  }
}

/** `source` as of `now`, or `source` itself when no `--now` was given. */
export function asOf(source: MetricsSource, now: Date | undefined): MetricsSource {
  return now === undefined ? source : new AsOfSource(source, now);
}

/** How many rows of `source` are later than `now`: what `--now` leaves out, for the progress line. */
export async function rowsAfter(
  source: MetricsSource,
  now: Date,
  duckdb: DuckDbOptions = {},
): Promise<number> {
  return withDuckDb(async (conn) => {
    // openSource: a source that cannot be read fails here with the same InputError as elsewhere.
    if (!isTimestampColumn((await openSource(conn, source)).find((c) => c.name === TIMESTAMP_COLUMN)))
      return 0;
    const reader = await conn.runAndReadAll(
      `SELECT count(*) FROM ${source.relation()} WHERE ${sqlIdentifier(TIMESTAMP_COLUMN)} > ${nowLiteral(now)}`,
    );
    return Number(reader.getRows()[0]?.[0] ?? 0);
  }, duckdb);
}

/** The line a command prints when `--now` left rows out (nothing when it left none). */
export function ignoredRowsNote(rows: number, now: Date): string | null {
  if (rows === 0) return null;
  return `${rows.toLocaleString('en-US')} sample${rows === 1 ? ' is' : 's are'} later than --now (${now.toISOString()}) and ${rows === 1 ? 'was' : 'were'} ignored`;
}

function nowLiteral(now: Date): string {
  return `make_timestamp(${Math.floor(now.getTime())}::BIGINT * 1000)`;
}

async function hasTimestampColumn(conn: DuckDBConnection, source: MetricsSource): Promise<boolean> {
  const reader = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source.relation()}`);
  const column = reader.getRowObjectsJS().find((row) => String(row.column_name) === TIMESTAMP_COLUMN);
  return isTimestampColumn(column && { name: TIMESTAMP_COLUMN, type: String(column.column_type) });
}

function isTimestampColumn(column: SourceColumn | undefined): boolean {
  return column !== undefined && TIMESTAMP_TYPES.includes(column.type);
}
