import type { DuckDBConnection } from '@duckdb/node-api';
import { preview } from '../core/server-name.js';
import { sqlIdentifier } from '../metrics/duckdb.js';
import { PROFILE_COLUMN, SERVER_COLUMN } from '../metrics/contract.js';
import type { MetricsSource } from '../metrics/source.js';
import { summarizeServersOn } from '../metrics/summary.js';
import { EXAMPLES, type ValidationProblem } from './data-problems.js';
import { assessEligibility, type EligibilityPolicy } from './eligibility.js';

/**
 * Server-level checks: invalid names (or servers none of whose rows has a valid profile), servers
 * with some rows of an invalid profile, servers with rows of different profiles, and servers not
 * yet eligible for training (a warning). Returns the server and eligible counts too.
 */
export async function checkServers(
  conn: DuckDBConnection,
  source: MetricsSource,
  eligibility: EligibilityPolicy,
): Promise<{ servers: number; eligible: number; problems: ValidationProblem[] }> {
  const problems: ValidationProblem[] = [];
  const summary = await summarizeServersOn(conn, source);
  if (summary.rejected.length > 0)
    problems.push({
      check: 'invalid_server',
      severity: 'error',
      count: summary.rejected.reduce((n, r) => n + r.samples, 0),
      message: `${summary.rejected.length} server_name values (or their profiles) are invalid; their rows are excluded from the fleet`,
      examples: summary.rejected
        .slice(0, EXAMPLES)
        .map((r) => `${preview(r.value)}: ${r.problem} (${r.samples} rows)`),
    });
  const badRows = summary.servers.filter((s) => s.invalidProfile !== null);
  if (badRows.length > 0)
    problems.push({
      check: 'invalid_profile',
      severity: 'error',
      count: badRows.reduce((n, s) => n + s.invalidProfile!.samples, 0),
      message: `${badRows.length} servers have rows with an invalid profile; those rows never decide the server's profile`,
      examples: badRows
        .slice(0, EXAMPLES)
        .map(
          (s) =>
            `${s.name}: ${s.invalidProfile!.samples} rows, ${s.invalidProfile!.values.map((v) => preview(v)).join(', ')}: ${s.invalidProfile!.problem}`,
        ),
    });
  const conflict = await profileConflicts(conn, source);
  if (conflict) problems.push(conflict);
  const pending = summary.servers
    .map((s) => ({ s, e: assessEligibility(s, eligibility) }))
    .filter(({ e }) => !e.eligible);
  if (pending.length > 0)
    problems.push({
      check: 'not_eligible',
      severity: 'warning',
      count: pending.length,
      message: `${pending.length} servers are not yet eligible for training (need ${eligibility.minimumHistoryDays} days and ${eligibility.minimumSamples} samples)`,
      examples: pending.slice(0, EXAMPLES).map(({ s, e }) => `${s.name}: ${e.reasons.join('; ')}`),
    });
  const servers = summary.servers.length;
  return { servers, eligible: servers - pending.length, problems };
}

async function profileConflicts(
  conn: DuckDBConnection,
  source: MetricsSource,
): Promise<ValidationProblem | undefined> {
  const name = sqlIdentifier(SERVER_COLUMN);
  const profile = sqlIdentifier(PROFILE_COLUMN);
  const conflicts = await conn.runAndReadAll(
    `SELECT ${name}, string_agg(DISTINCT ${profile}, ', ' ORDER BY ${profile}) FROM ${source.relation()} GROUP BY ${name} HAVING count(DISTINCT ${profile}) > 1 ORDER BY 1`,
  );
  const rows = conflicts.getRows();
  if (rows.length === 0) return undefined;
  return {
    check: 'profile_conflict',
    severity: 'error',
    count: rows.length,
    message: `${rows.length} servers have rows with different profiles`,
    examples: rows.slice(0, EXAMPLES).map(([n, p]) => `${preview(n)}: ${preview(p, 80)}`),
  };
}
