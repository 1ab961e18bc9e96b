import type { DuckDBConnection } from '@duckdb/node-api';
import { preview } from '../core/server-name.js';
import type { EligibilityPolicy } from './eligibility.js';

/**
 * What the data validation checks report: every problem with a count and its worst examples,
 * nothing dropped silently. Errors (data nothing can use) fail the check; warnings say what the
 * readers' normalized view does about dirty data (DATA_CONTRACT.md, "Dirty data"); notes say
 * what is absent or ignored.
 */
export type Severity = 'error' | 'warning' | 'note';

/** What the normalized view the readers see does about a problem (DATA_CONTRACT.md). */
export type ReaderAction =
  /** nothing can use it: check-data fails */
  | 'fails'
  /** rows left out of the fleet, the drift report and the manifest */
  | 'excluded'
  /** identical duplicate rows: one is kept */
  | 'kept_one'
  /** conflicting duplicate rows: each metric is the mean of their finite values */
  | 'averaged'
  /** out-of-range values: replaced by the nearest bound of the declared range */
  | 'clipped'
  /** NULL, NaN, ±Inf: a missing sample (NULL) */
  | 'missing'
  /** the server's newest valid profile is used */
  | 'latest_profile'
  /** a column the readers do not read, or an optional column absent (its values are missing) */
  | 'ignored'
  /** reported only: the readers take the data as it is */
  | 'none';

/** What a count counts. */
export type CountUnit = 'rows' | 'servers' | 'timestamps' | 'gaps' | 'outages' | 'columns';

/** One example, machine-readable (names bounded; values as read). */
export interface ProblemExample {
  server: string | null;
  /** The sample's time (ISO 8601), or the start of a span. */
  timestamp?: string | null;
  /** The end of a span (ISO 8601). */
  until?: string;
  value?: number | string | null;
  /** Rows behind this example (on this server, or at this timestamp). */
  rows?: number;
  hours?: number;
}

export interface ValidationProblem {
  check: string;
  severity: Severity;
  /** Affected rows, servers, timestamps, gaps or outages: see `unit`. */
  count: number;
  unit: CountUnit;
  message: string;
  /** What the readers' normalized view does about it. */
  action: ReaderAction;
  /** The metric column, for per-column checks. */
  column?: string;
  /** Servers affected, where known. */
  servers?: number;
  /** The extreme case (largest value, longest gap, widest spread). */
  max?: ProblemExample;
  /** Up to 5 examples, worst first (machine-readable). */
  worst: ProblemExample[];
  /** The same examples as text, rendered safely (untrusted names through `preview`). */
  examples: string[];
}

export interface ValidationOptions {
  now: Date;
  eligibility: EligibilityPolicy;
  /** Expected sampling interval; a gap is a step longer than gapFactor × this. */
  intervalSeconds?: number;
  gapFactor?: number;
  /** A gap at least this long (hours) is reported as a server switched off (default 24). */
  offHours?: number;
  /**
   * A fleet-wide collection outage: a span in which at least this share of the servers active
   * before and after it have no samples (default 0.5), and at least `outageMinServers` (default 2).
   */
  outageShare?: number;
  outageMinServers?: number;
}

/** Examples listed per problem. */
export const EXAMPLES = 5;

/** Runs `sql` (server, timestamp, value columns) and renders each row as an example. */
export async function examplesOf(conn: DuckDBConnection, sql: string): Promise<ProblemExample[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowsJS().map(([server, at, value]) => ({
    server: boundedName(server),
    timestamp: at === null || at === undefined ? null : String(at),
    value: value === null || value === undefined ? null : jsonValue(value),
  }));
}

/** A server name from the data, cut to 128 characters (it is JSON-escaped wherever it goes). */
export function boundedName(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = String(value);
  return text.length > 128 ? `${text.slice(0, 128)}…` : text;
}

function jsonValue(value: unknown): number | string {
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return Number(value);
  return String(value);
}

/** `e.g.` text of an example: `"vm-1" at 2013-07-01 10:00:00: 182.4 (12 rows)`. */
export function renderExample(e: ProblemExample): string {
  const at = e.timestamp === undefined ? '' : ` at ${e.timestamp ?? 'NULL'}`;
  const until = e.until === undefined ? '' : ` → ${e.until}`;
  const value = e.value === undefined ? '' : `: ${e.value ?? 'NULL'}`;
  const extra = [
    e.hours === undefined ? undefined : `${e.hours} h`,
    e.rows === undefined ? undefined : `${e.rows} rows`,
  ].filter((x) => x !== undefined);
  return `${e.server === null ? 'NULL' : preview(e.server)}${at}${until}${value}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

/** A problem with its text examples rendered from `worst`. */
export function problem(p: Omit<ValidationProblem, 'examples'> & { examples?: string[] }): ValidationProblem {
  return { ...p, examples: p.examples ?? p.worst.map(renderExample) };
}

/** DuckDB's timestamp text, to the second: `2013-07-16 10:00:00`. */
export function isoOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** Hours, rounded to 0.1. */
export function hoursOf(ms: number): number {
  return Math.round(ms / 360_000) / 10;
}
