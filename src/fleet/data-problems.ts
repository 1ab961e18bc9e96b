import type { DuckDBConnection } from '@duckdb/node-api';
import { preview } from '../core/server-name.js';
import type { EligibilityPolicy } from './eligibility.js';

/**
 * What the data validation checks report: every problem with a count and examples, nothing
 * dropped silently. Errors fail the check; warnings (gaps, pending servers) do not.
 */
export type Severity = 'error' | 'warning';

export interface ValidationProblem {
  check: string;
  severity: Severity;
  /** Affected rows (or servers, for server-level checks). */
  count: number;
  message: string;
  /** Up to 5 examples, rendered safely (untrusted names through `preview`). */
  examples: string[];
}

export interface ValidationOptions {
  now: Date;
  eligibility: EligibilityPolicy;
  /** Expected sampling interval; a gap is a step longer than gapFactor × this. */
  intervalSeconds?: number;
  gapFactor?: number;
}

/** Examples listed per problem. */
export const EXAMPLES = 5;

/** Runs `sql` (server, timestamp, value columns) and renders each row as an example. */
export async function examplesOf(conn: DuckDBConnection, sql: string): Promise<string[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader
    .getRows()
    .map(([server, at, value]) => `${preview(server)} at ${at ?? 'NULL'}: ${value ?? 'NULL'}`);
}
