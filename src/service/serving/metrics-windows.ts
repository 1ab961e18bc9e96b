import type { MetricsSource } from '../../metrics/source.js';
import { withDuckDb } from '../../metrics/duckdb.js';
import { loadRecentWindows, type WindowShape } from '../../features/windows.js';
import type { WindowFetcher } from './window-cache.js';

export interface MetricsWindowOptions {
  /**
   * A server belongs to the live fleet when its newest data is at most this old, measured from
   * the newest data in the source (not the wall clock, so replayed or exported data works).
   * Default 7 days: the sunset-candidate threshold (no metrics for 7 days).
   */
  activeWithinSeconds?: number;
}

export const DEFAULT_ACTIVE_WITHIN_SECONDS = 7 * 86_400;

/**
 * Loads the latest window of every recently active server from a metrics source. Only the last
 * `lookback + activeWithin` of data is read, so a refresh costs the same on day 1 and day 300.
 */
export function metricsWindowFetcher(
  source: MetricsSource,
  options: MetricsWindowOptions = {},
): WindowFetcher {
  const activeWithin = options.activeWithinSeconds ?? DEFAULT_ACTIVE_WITHIN_SECONDS;
  return (shape: WindowShape) =>
    withDuckDb(async (conn) => {
      await source.prepare(conn);
      const reader = await conn.runAndReadAll(
        `SELECT epoch(max(timestamp))::DOUBLE AS newest FROM ${source.relation()}`,
      );
      const newest = reader.getColumns()[0]?.[0] as number | null | undefined;
      if (newest === null || newest === undefined) return { windows: new Map(), newestData: null };
      const res = shape.resolution_seconds;
      const { windows } = await loadRecentWindows(source, undefined, shape, {
        conn,
        end: new Date((Math.floor(newest / res) + 1) * res * 1000),
        maxStalenessSteps: Math.ceil(activeWithin / res),
      });
      return { windows, newestData: new Date(newest * 1000) };
    });
}
