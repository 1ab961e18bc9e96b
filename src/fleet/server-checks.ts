import type { DuckDBConnection } from '@duckdb/node-api';
import { preview } from '../core/server-name.js';
import type { MetricsSource } from '../metrics/source.js';
import { summarizeServersOn, type FleetSummary } from '../metrics/summary.js';
import { boundedName, EXAMPLES, isoOf, problem, type ValidationProblem } from './data-problems.js';
import { assessEligibility, type EligibilityPolicy } from './eligibility.js';

/**
 * Server-level checks, on the summary every reader shares (src/metrics/summary.ts): invalid names
 * and servers with no usable profile (errors: the readers leave them out), rows with an unsafe
 * profile (error), rows with a NULL profile and servers whose profile changed (warnings: the
 * newest valid profile is used), and servers not yet eligible for training (warning). Returns
 * the summary and the server and eligible counts too.
 */
export async function checkServers(
  conn: DuckDBConnection,
  source: MetricsSource,
  eligibility: EligibilityPolicy,
  nullProfiles: ReadonlyMap<string, number>,
): Promise<{ servers: number; eligible: number; summary: FleetSummary; problems: ValidationProblem[] }> {
  const problems: ValidationProblem[] = [];
  const summary = await summarizeServersOn(conn, source);
  // NULL names are reported by the row checks (null_server_name).
  const rejected = summary.rejected.filter((r) => r.value !== null);
  if (rejected.length > 0)
    problems.push(
      problem({
        check: 'invalid_server',
        severity: 'error',
        count: rejected.reduce((n, r) => n + r.samples, 0),
        unit: 'rows',
        action: 'excluded',
        servers: rejected.length,
        message: `${rejected.length} server_name values (or their profiles) are invalid; their rows are excluded from the fleet`,
        worst: [...rejected]
          .sort((a, b) => b.samples - a.samples)
          .slice(0, EXAMPLES)
          .map((r) => ({ server: boundedName(r.value), rows: r.samples, value: r.problem })),
        examples: [...rejected]
          .sort((a, b) => b.samples - a.samples)
          .slice(0, EXAMPLES)
          .map((r) => `${preview(r.value)}: ${r.problem} (${r.samples} rows)`),
      }),
    );
  const withInvalid = summary.servers.flatMap((s) => {
    if (s.invalidProfile === null) return [];
    const nulls = nullProfiles.get(s.name) ?? 0;
    return [{ s, nulls, unsafe: s.invalidProfile.samples - nulls }];
  });
  const unsafe = withInvalid.filter((x) => x.unsafe > 0).sort((a, b) => b.unsafe - a.unsafe);
  if (unsafe.length > 0)
    problems.push(
      problem({
        check: 'invalid_profile',
        severity: 'error',
        count: unsafe.reduce((n, x) => n + x.unsafe, 0),
        unit: 'rows',
        action: 'fails',
        servers: unsafe.length,
        message: `${unsafe.length} servers have rows with an unsafe profile; those rows never decide the server's profile`,
        worst: unsafe
          .slice(0, EXAMPLES)
          .map((x) => ({ server: x.s.name, rows: x.unsafe, value: x.s.invalidProfile!.problem })),
        examples: unsafe.slice(0, EXAMPLES).map(
          (x) =>
            `${x.s.name}: ${x.unsafe} rows, ${x.s
              .invalidProfile!.values.filter((v) => v !== null)
              .map((v) => preview(v))
              .join(', ')}: ${x.s.invalidProfile!.problem}`,
        ),
      }),
    );
  const nulls = withInvalid.filter((x) => x.nulls > 0).sort((a, b) => b.nulls - a.nulls);
  if (nulls.length > 0)
    problems.push(
      problem({
        check: 'null_profile',
        severity: 'warning',
        count: nulls.reduce((n, x) => n + x.nulls, 0),
        unit: 'rows',
        action: 'latest_profile',
        servers: nulls.length,
        message: `${nulls.length} servers have rows with a NULL profile: the server's newest valid profile is used`,
        worst: nulls.slice(0, EXAMPLES).map((x) => ({ server: x.s.name, rows: x.nulls, value: x.s.profile })),
        examples: nulls
          .slice(0, EXAMPLES)
          .map((x) => `${x.s.name}: ${x.nulls} rows (profile used: ${x.s.profile})`),
      }),
    );
  const changed = summary.servers
    .filter((s) => s.otherProfileSeen !== null)
    .sort((a, b) => b.otherProfileSeen!.lastSeen.getTime() - a.otherProfileSeen!.lastSeen.getTime());
  if (changed.length > 0)
    problems.push(
      problem({
        check: 'profile_changed',
        severity: 'warning',
        count: changed.length,
        unit: 'servers',
        action: 'latest_profile',
        servers: changed.length,
        message: `${changed.length} servers changed profile during their history: the newest profile is used`,
        worst: changed.slice(0, EXAMPLES).map((s) => ({
          server: s.name,
          timestamp: isoOf(s.otherProfileSeen!.lastSeen.getTime()),
          value: s.profile,
        })),
        examples: changed
          .slice(0, EXAMPLES)
          .map(
            (s) =>
              `${s.name}: ${s.otherProfileSeen!.profiles.join(', ')} until ${isoOf(s.otherProfileSeen!.lastSeen.getTime())}, then ${s.profile}`,
          ),
      }),
    );
  const pending = summary.servers
    .map((s) => ({ s, e: assessEligibility(s, eligibility) }))
    .filter(({ e }) => !e.eligible);
  if (pending.length > 0)
    problems.push(
      problem({
        check: 'not_eligible',
        severity: 'warning',
        count: pending.length,
        unit: 'servers',
        action: 'none',
        servers: pending.length,
        message: `${pending.length} servers are not yet eligible for training (need ${eligibility.minimumHistoryDays} days and ${eligibility.minimumSamples} samples)`,
        worst: pending.slice(0, EXAMPLES).map(({ s, e }) => ({
          server: s.name,
          rows: s.samples,
          value: e.reasons.join('; '),
        })),
        examples: pending.slice(0, EXAMPLES).map(({ s, e }) => `${s.name}: ${e.reasons.join('; ')}`),
      }),
    );
  const servers = summary.servers.length;
  return { servers, eligible: servers - pending.length, summary, problems };
}
