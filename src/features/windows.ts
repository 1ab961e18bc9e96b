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
  /**
   * Each feature's declared range (a model's encoders.json `metrics`). A feature with no value at
   * all in a server's window is then read as its minimum (imputed) instead of leaving the server
   * without a forecast; without it such a server gets none.
   */
  metrics?: Readonly<Record<string, { min: number }>> | undefined;
}

export interface RecentWindow {
  input: ForecastInput;
  profile: string;
  /**
   * Features with no value at all in the window, read as their declared minimum: a switched-off
   * VM reports CPU 0 and no memory figure, and still gets a forecast, flagged with this.
   */
  imputed: string[];
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
    const imputed = imputeAbsent(dense.values, lookback, shape);
    if (imputed === null) continue; // a metric with no value at all in the window, and no declared minimum
    windows.set(server, {
      imputed,
      input: { server, profile: dense.profile || null, past: dense.values, pastStart: windowStart * res },
      profile: dense.profile,
      lastObservedStep: last,
      observedSteps: dense.observedSteps,
    });
  }
  const missing = (servers ?? []).filter((s) => !windows.has(s));
  return { windows, missing };
}

/**
 * Fills each feature that has no value in the (already filled) window with its declared minimum;
 * returns their names, or null when one has no declared range (the window is unusable then).
 */
function imputeAbsent(values: Float32Array, steps: number, shape: WindowShape): string[] | null {
  const nFeatures = shape.observed_features.length;
  const imputed: string[] = [];
  for (let f = 0; f < nFeatures; f++) {
    if (!Number.isNaN(values[f]!)) continue; // filled: a NaN left at step 0 means none in the window
    const min = shape.metrics?.[shape.observed_features[f]!]?.min;
    if (min === undefined) return null;
    for (let t = 0; t < steps; t++) values[t * nFeatures + f] = min;
    imputed.push(shape.observed_features[f]!);
  }
  return imputed;
}
