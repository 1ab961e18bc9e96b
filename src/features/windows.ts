import type { DuckDBConnection } from '@duckdb/node-api';
import type { MetricsSource } from '../metrics/source.js';
import { withDuckDb } from '../metrics/duckdb.js';
import { backFillStart, forwardFill, queryResampled, toDenseSeries } from './resample.js';
import type { ForecastInput } from './forecast-input.js';

/** The parts of encoders.json that shape an input window. */
export interface WindowShape {
  resolution_seconds: number;
  lookback_steps: number;
  observed_features: readonly string[];
}

export interface RecentWindow {
  input: ForecastInput;
  profile: string;
  /** Step (since the epoch, in resolution units) of the newest data in the window. */
  lastObservedStep: number;
  /** Steps of the window that had data before filling. */
  observedSteps: number;
}

export interface RecentWindows {
  windows: Map<string, RecentWindow>;
  /** Requested servers with no usable data in the searched range. */
  missing: string[];
}

export interface RecentWindowOptions {
  /** Only data before this instant (default: all data). */
  end?: Date;
  /** With `end`: servers whose newest data is more than this many steps before `end` get no window. */
  maxStalenessSteps?: number;
  /** Reuse an open connection (otherwise one is opened and closed). */
  conn?: DuckDBConnection;
}

/**
 * The newest lookback window of each server, ending at that server's own newest bucket, so a
 * server that went quiet an hour ago still gets a forecast from its own recent data. Gaps inside
 * the window are forward-filled and leading gaps back-filled: the model needs dense input.
 */
export async function loadRecentWindows(
  source: MetricsSource,
  servers: readonly string[] | undefined,
  shape: WindowShape,
  options: RecentWindowOptions = {},
): Promise<RecentWindows> {
  if (options.conn) return readWindows(options.conn, source, servers, shape, options);
  return withDuckDb((conn) => readWindows(conn, source, servers, shape, options));
}

async function readWindows(
  conn: DuckDBConnection,
  source: MetricsSource,
  servers: readonly string[] | undefined,
  shape: WindowShape,
  options: RecentWindowOptions,
): Promise<RecentWindows> {
  const res = shape.resolution_seconds;
  const lookback = shape.lookback_steps;
  const nFeatures = shape.observed_features.length;
  const endStep = options.end ? Math.floor(options.end.getTime() / 1000 / res) : undefined;
  const startStep =
    endStep !== undefined && options.maxStalenessSteps !== undefined
      ? endStep - lookback - options.maxStalenessSteps
      : undefined;
  const rows = await queryResampled(conn, source, {
    ...(servers !== undefined ? { servers } : {}),
    features: shape.observed_features,
    resolutionSeconds: res,
    ...(startStep !== undefined ? { startStep } : {}),
    ...(endStep !== undefined ? { endStep } : {}),
  });

  // Rows are sorted by server then step: find each server's row range and newest step.
  const windows = new Map<string, RecentWindow>();
  let from = 0;
  while (from < rows.servers.length) {
    const server = rows.servers[from]!;
    let to = from;
    while (to < rows.servers.length && rows.servers[to] === server) to++;
    const last = rows.steps[to - 1]!;
    if (
      endStep !== undefined &&
      options.maxStalenessSteps !== undefined &&
      last < endStep - 1 - options.maxStalenessSteps
    ) {
      from = to;
      continue;
    }
    const windowStart = last - lookback + 1;
    const dense = toDenseSeries(
      {
        servers: rows.servers.slice(from, to),
        profiles: rows.profiles.slice(from, to),
        steps: rows.steps.subarray(from, to),
        values: rows.values.subarray(from * nFeatures, to * nFeatures),
      },
      nFeatures,
      windowStart,
      last + 1,
    ).get(server);
    from = to;
    if (dense === undefined) continue;
    forwardFill(dense.values, lookback, nFeatures, lookback);
    backFillStart(dense.values, lookback, nFeatures);
    if (dense.values.some((v) => Number.isNaN(v))) continue; // a metric with no value at all in the window
    windows.set(server, {
      input: { server, profile: dense.profile || null, past: dense.values, pastStart: windowStart * res },
      profile: dense.profile,
      lastObservedStep: last,
      observedSteps: dense.observedSteps,
    });
  }
  const missing = (servers ?? []).filter((s) => !windows.has(s));
  return { windows, missing };
}
