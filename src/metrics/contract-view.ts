import type { DuckDBConnection } from '@duckdb/node-api';
import { openSource, type SourceColumn } from './open.js';
import { sqlIdentifier } from './duckdb.js';
import { PROFILE_COLUMN, SERVER_COLUMN, TIMESTAMP_COLUMN } from './contract.js';
import { metricSetConfig, type MetricColumn, type MetricSetConfig } from './metric-set.js';
import type { MetricsSource } from './source.js';

/**
 * A source as the readers (dataset, validation, service) see it, whatever columns the real one
 * has (DATA_CONTRACT.md, "Dirty data"): every metric column of the metric set is present, a
 * column the source lacks is NULL; a non-finite value (NaN, ±Inf) is NULL, a missing sample; a
 * value outside its column's declared range is clipped to it (182 % CPU on an overcommitted host
 * is a real reading: it becomes 100, and check-data counts it), or is NULL for a column whose
 * policy says so; `profile` comes from the metric
 * set's profile column, NULL when the source has none (the reader then uses the manifest's
 * profile, or DEFAULT_PROFILE). `fleetcast check-data` reads the raw source to count all of this.
 */
export class ContractView implements MetricsSource {
  readonly description: string;
  readonly access: MetricsSource['access'];
  private columns: SourceColumn[] | undefined;
  constructor(
    readonly raw: MetricsSource,
    readonly metricSet: MetricSetConfig = metricSetConfig(),
  ) {
    this.description = raw.description;
    this.access = raw.access;
  }

  async prepare(conn: DuckDBConnection): Promise<void> {
    // openSource prepares the raw source and names it in any error; DESCRIBE is cheap.
    const columns = await openSource(conn, this.raw);
    this.columns ??= columns;
  }

  /** The raw source's columns with their types (after prepare). */
  rawColumns(): readonly SourceColumn[] {
    return this.preparedColumns();
  }

  /** The raw source's column names (after prepare). */
  sourceColumns(): ReadonlySet<string> {
    return new Set(this.preparedColumns().map((c) => c.name));
  }

  relation(): string {
    const present = new Set(this.preparedColumns().map((c) => c.name));
    const id = sqlIdentifier;
    const profile = this.metricSet.profileColumn;
    const select = [
      id(TIMESTAMP_COLUMN),
      id(SERVER_COLUMN),
      present.has(profile)
        ? `${id(profile)}::VARCHAR AS ${id(PROFILE_COLUMN)}`
        : `NULL::VARCHAR AS ${id(PROFILE_COLUMN)}`,
    ];
    for (const [name, spec] of this.metricSet.columns) {
      if (!present.has(name)) {
        select.push(`NULL::DOUBLE AS ${id(name)}`);
        continue;
      }
      const x = `${id(name)}::DOUBLE`;
      select.push(`${inRange(x, spec)} AS ${id(name)}`);
    }
    // Other columns pass through as they are: a model trained on a declared column can still read it.
    const taken = new Set([
      TIMESTAMP_COLUMN,
      SERVER_COLUMN,
      PROFILE_COLUMN,
      profile,
      ...this.metricSet.columns.keys(),
    ]);
    for (const name of present) if (!taken.has(name)) select.push(id(name));
    return `(SELECT ${select.join(', ')} FROM ${this.raw.relation()})`;
  }

  private preparedColumns(): SourceColumn[] {
    if (this.columns === undefined)
      throw new Error(`${this.description}: ContractView.relation() before prepare()`);
    return this.columns;
  }
}

/** A finite value kept, clipped into [min, max] or NULL outside it (the column's policy); else NULL. */
function inRange(x: string, spec: MetricColumn): string {
  const bounded = [
    ...(Number.isFinite(spec.min) ? [{ op: '<', bound: spec.min, fn: 'greatest' }] : []),
    ...(Number.isFinite(spec.max) ? [{ op: '>', bound: spec.max, fn: 'least' }] : []),
  ];
  if (spec.outOfRange === 'null') {
    const outside = bounded.map((b) => `${x} ${b.op} ${b.bound}`).join(' OR ');
    return `CASE WHEN isfinite(${x})${outside ? ` AND NOT (${outside})` : ''} THEN ${x} END`;
  }
  // least/greatest skip NULLs, so the clip goes inside the finite branch.
  const clipped = bounded.reduce((value, b) => `${b.fn}(${value}, ${b.bound})`, x);
  return `CASE WHEN isfinite(${x}) THEN ${clipped} END`;
}
