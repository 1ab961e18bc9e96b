/**
 * The metrics data contract (DATA_CONTRACT.md): long format, one row per (timestamp, server_name).
 * Everything that reads or writes fleet metrics takes its column names, units and ranges from here.
 */

export const TIMESTAMP_COLUMN = 'timestamp';
export const SERVER_COLUMN = 'server_name';
export const PROFILE_COLUMN = 'profile';

/** The only mandatory columns: every other column of the contract is optional and may be NULL. */
export const REQUIRED_COLUMNS: readonly string[] = [TIMESTAMP_COLUMN, SERVER_COLUMN];

/** The profile of every server of a source without a `profile` column: one group. */
export const DEFAULT_PROFILE = 'default';

/**
 * What the normalized view the readers see does with a finite value outside [min, max]:
 * `clip` replaces it by the nearest bound (a real reading of an overcommitted host, 182 % CPU,
 * becomes 100 %); `null` treats it as a missing sample.
 */
export type OutOfRangePolicy = 'clip' | 'null';

export interface MetricSpec {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  readonly min: number;
  /** Inclusive upper bound; Infinity where the metric has no natural ceiling. */
  readonly max: number;
  /** What the readers' normalized view does with a finite value outside [min, max]. */
  readonly outOfRange: OutOfRangePolicy;
}

/** The numeric metric columns, in the order datasets and models use them. */
export const METRICS: readonly MetricSpec[] = [
  {
    name: 'cpu_pct',
    unit: '%',
    description: 'CPU utilisation over all cores',
    min: 0,
    max: 100,
    outOfRange: 'clip',
  },
  { name: 'mem_pct', unit: '%', description: 'memory in use', min: 0, max: 100, outOfRange: 'clip' },
  {
    name: 'disk_io_mbps',
    unit: 'MB/s',
    description: 'disk read + write throughput',
    min: 0,
    max: 100_000,
    outOfRange: 'clip',
  },
  {
    name: 'net_in_mbps',
    unit: 'Mbit/s',
    description: 'network receive throughput',
    min: 0,
    max: 400_000,
    outOfRange: 'clip',
  },
  {
    name: 'net_out_mbps',
    unit: 'Mbit/s',
    description: 'network transmit throughput',
    min: 0,
    max: 400_000,
    outOfRange: 'clip',
  },
  {
    name: 'latency_ms',
    unit: 'ms',
    description: 'mean request latency',
    min: 0,
    max: 600_000,
    outOfRange: 'clip',
  },
  {
    name: 'error_rate',
    unit: 'fraction',
    description: 'failed requests / requests (0 to 1)',
    min: 0,
    max: 1,
    outOfRange: 'clip',
  },
];

export const METRIC_NAMES: readonly string[] = METRICS.map((m) => m.name);

/** Every column of the contract, in canonical order. */
export const CONTRACT_COLUMNS: readonly string[] = [
  TIMESTAMP_COLUMN,
  SERVER_COLUMN,
  PROFILE_COLUMN,
  ...METRIC_NAMES,
];

/** DuckDB type names accepted for each kind of column (parquet physical types map onto these). */
export const TIMESTAMP_TYPES: readonly string[] = [
  'TIMESTAMP',
  'TIMESTAMP_S',
  'TIMESTAMP_MS',
  'TIMESTAMP_NS',
  'TIMESTAMP WITH TIME ZONE',
];
export const TEXT_TYPES: readonly string[] = ['VARCHAR'];
export const NUMERIC_TYPES: readonly string[] = [
  'FLOAT',
  'DOUBLE',
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
  'UBIGINT',
  'HUGEINT',
  'UHUGEINT',
];

/** True for the numeric types a metric column may have: NUMERIC_TYPES and any DECIMAL(p, s). */
export function isNumericType(type: string): boolean {
  return NUMERIC_TYPES.includes(type) || /^DECIMAL(\(\d+,\s*\d+\))?$/.test(type);
}

/** Profiles (server roles) the generator produces; data may carry others (any safe name). */
export const KNOWN_PROFILES = ['web', 'api', 'database', 'cache', 'batch'] as const;
export type KnownProfile = (typeof KNOWN_PROFILES)[number];

/** Profiles follow the server-name alphabet but must be short: they become model categories. */
export const PROFILE_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;

/** The sampling interval the generator writes and the contract expects by default. */
export const DEFAULT_INTERVAL_SECONDS = 300;

/** Parses `30s`, `5m`, `1h` or a bare number of seconds; returns seconds. */
export function parseInterval(text: string): number | undefined {
  const match = /^(\d+)\s*([smh]?)$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  const unit = match[2] === 'h' ? 3600 : match[2] === 'm' ? 60 : 1;
  const seconds = value * unit;
  return seconds > 0 && Number.isSafeInteger(seconds) ? seconds : undefined;
}

export const MS_PER_DAY = 86_400_000;
export const MS_PER_HOUR = 3_600_000;
