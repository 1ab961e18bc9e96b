import type { DuckDBConnection } from '@duckdb/node-api';
import { preview, serverNameProblem } from '../../core/server-name.js';
import { loadRecentWindows, type WindowShape } from '../../features/windows.js';
import { assessEligibility, type EligibilityPolicy } from '../../fleet/eligibility.js';
import { withDuckDb } from '../../metrics/duckdb.js';
import type { MetricsSource } from '../../metrics/source.js';
import { SERVICE_ELIGIBILITY } from './thresholds.js';
import type { InvalidNames, WindowFetcher } from './window-cache.js';

export interface MetricsWindowOptions {
  /**
   * A server belongs to the live fleet when its newest data is at most this old, measured from
   * the newest data in the source (not the wall clock, so replayed or exported data works).
   * Default 7 days: the sunset-candidate threshold (no metrics for 7 days).
   */
  activeWithinSeconds?: number;
  /** When a new server may be trained on (pending until then); default: the retrain config's. */
  eligibility?: EligibilityPolicy;
}

export const DEFAULT_ACTIVE_WITHIN_SECONDS = 7 * 86_400;
const MAX_INVALID_EXAMPLES = 5;

/**
 * Loads the latest window of every recently active server from a metrics source. Only the recent
 * data is read (the last `lookback + activeWithin`, and at least the eligibility history), so a
 * refresh costs the same on day 1 and day 300.
 *
 * Server names come from the metrics and are untrusted: a name that fails the server-name rule
 * (src/core/server-name.ts) is skipped and counted, never forecast or listed. A server first seen
 * inside the read range that does not meet the eligibility rule yet (src/fleet/eligibility.ts) is
 * reported as pending; a server seen since before the range has at least that much history.
 */
export function metricsWindowFetcher(
  source: MetricsSource,
  options: MetricsWindowOptions = {},
): WindowFetcher {
  const activeWithin = options.activeWithinSeconds ?? DEFAULT_ACTIVE_WITHIN_SECONDS;
  const policy = options.eligibility ?? SERVICE_ELIGIBILITY;
  return (shape: WindowShape) =>
    withDuckDb(async (conn) => {
      await source.prepare(conn);
      const reader = await conn.runAndReadAll(
        `SELECT epoch(max(timestamp))::DOUBLE AS newest FROM ${source.relation()}`,
      );
      const newest = reader.getColumns()[0]?.[0] as number | null | undefined;
      const invalidNames: InvalidNames = { count: 0, examples: [] };
      if (newest === null || newest === undefined)
        return { windows: new Map(), newestData: null, pending: new Map(), invalidNames };
      const res = shape.resolution_seconds;
      const endStep = Math.floor(newest / res) + 1;
      const maxStalenessSteps = Math.ceil(activeWithin / res);
      const windowSeconds = (shape.lookback_steps + maxStalenessSteps) * res;
      const historySeconds = Math.max(windowSeconds, policy.minimumHistoryDays * 86_400 + res);
      const servers = await recentServers(conn, source, endStep * res - historySeconds, endStep * res);
      const valid: string[] = [];
      const pending = new Map<string, string>();
      for (const server of servers) {
        if (server.name === null || serverNameProblem(server.name) !== undefined) {
          invalidNames.count++;
          if (invalidNames.examples.length < MAX_INVALID_EXAMPLES)
            invalidNames.examples.push(preview(server.name));
          continue;
        }
        valid.push(server.name);
        // first seen inside the range: these are all of its samples, so the rule can be applied
        if (server.firstSeen >= endStep * res - historySeconds + res) {
          const eligibility = assessEligibility(
            {
              firstSeen: new Date(server.firstSeen * 1000),
              lastSeen: new Date(server.lastSeen * 1000),
              samples: server.samples,
            },
            policy,
          );
          if (!eligibility.eligible) pending.set(server.name, eligibility.reasons.join('; '));
        }
      }
      if (valid.length === 0)
        return { windows: new Map(), newestData: new Date(newest * 1000), pending, invalidNames };
      const { windows } = await loadRecentWindows(source, valid, shape, {
        conn,
        end: new Date(endStep * res * 1000),
        maxStalenessSteps,
      });
      return { windows, newestData: new Date(newest * 1000), pending, invalidNames };
    });
}

interface RecentServer {
  /** Untrusted; null when the row has no name. */
  name: string | null;
  firstSeen: number;
  lastSeen: number;
  samples: number;
}

/** Every server name in [start, end) (epoch seconds) with its first and last sample and count. */
async function recentServers(
  conn: DuckDBConnection,
  source: MetricsSource,
  start: number,
  end: number,
): Promise<RecentServer[]> {
  const reader = await conn.runAndReadAll(
    `SELECT server_name, epoch(min(timestamp))::DOUBLE, epoch(max(timestamp))::DOUBLE, count(*)::DOUBLE
     FROM ${source.relation()}
     WHERE timestamp >= to_timestamp($start) AND timestamp < to_timestamp($end)
     GROUP BY server_name`,
    { start, end },
  );
  const [names, firsts, lasts, counts] = reader.getColumns() as [
    Array<string | null>,
    number[],
    number[],
    number[],
  ];
  return names.map((name, i) => ({
    name,
    firstSeen: firsts[i]!,
    lastSeen: lasts[i]!,
    samples: counts[i]!,
  }));
}
