import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecentWindow, WindowShape } from '../../src/features/windows.js';
import { CHECKSUMS_FILE, computeChecksums, renderChecksums } from '../../src/registry/checksums.js';
import { createLogger } from '../../src/core/logger.js';
import type { ManifestEntry } from '../../src/service/serving/fleet.js';
import { ForecastService, type ForecastServiceOptions } from '../../src/service/serving/forecast-service.js';
import type { WindowFetcher } from '../../src/service/serving/window-cache.js';

export const quietLogger = createLogger('test', 'silent');

export function fleetOf(n: number, prefix = 'web'): Array<{ name: string; profile: string }> {
  const profiles = ['web', 'api', 'db'];
  return Array.from({ length: n }, (_, i) => ({
    name: `${prefix}-${String(i + 1).padStart(4, '0')}`,
    profile: profiles[i % profiles.length]!,
  }));
}

/** The start of the current hour (epoch seconds): synthetic data ends here, so it is fresh. */
export function recentEnd(): number {
  return Math.floor(Date.now() / 3_600_000) * 3600;
}

/**
 * Deterministic smooth windows (every server a shifted sine per feature), no DuckDB. Each window
 * ends at `endSeconds` (default: the current hour, so the data is not stale), or at `ends[name]`.
 */
export function syntheticWindows(
  servers: ReadonlyArray<{ name: string; profile: string }>,
  shape: WindowShape,
  endSeconds = recentEnd(),
  ends: Readonly<Record<string, number>> = {},
): Map<string, RecentWindow> {
  const res = shape.resolution_seconds;
  const lookback = shape.lookback_steps;
  const nF = shape.observed_features.length;
  const windows = new Map<string, RecentWindow>();
  servers.forEach((server, s) => {
    const lastStep = Math.floor((ends[server.name] ?? endSeconds) / res) - 1;
    const start = lastStep - lookback + 1;
    const past = new Float32Array(lookback * nF);
    for (let t = 0; t < lookback; t++) {
      for (let f = 0; f < nF; f++) past[t * nF + f] = 40 + 10 * Math.sin((t + s + f) / 4) + f;
    }
    windows.set(server.name, {
      input: { server: server.name, profile: server.profile, past, pastStart: start * res },
      profile: server.profile,
      imputed: [],
      lastObservedStep: lastStep,
      observedSteps: lookback,
    });
  });
  return windows;
}

export interface SyntheticFetchOptions {
  /** Changes the windows after they are made (e.g. plants a bad value). */
  tweak?: (windows: Map<string, RecentWindow>, shape: WindowShape) => void;
  /** Servers whose data ends earlier (epoch seconds). */
  ends?: Readonly<Record<string, number>>;
  /** Servers the metrics show as not yet eligible for training, with why. */
  pending?: ReadonlyMap<string, string>;
}

export function syntheticFetcher(
  servers: () => ReadonlyArray<{ name: string; profile: string }>,
  options: SyntheticFetchOptions = {},
): WindowFetcher {
  return async (shape) => {
    const end = recentEnd();
    const windows = syntheticWindows(servers(), shape, end, options.ends);
    options.tweak?.(windows, shape);
    return {
      windows,
      newestData: new Date(end * 1000),
      pending: options.pending ?? new Map(),
      invalidNames: { count: 0, examples: [] },
    };
  };
}

export async function tempDir(prefix = 'fleetcast-svc-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Rewrites SHA256SUMS after a deliberate change, so only the intended check fails. */
export async function resum(dir: string): Promise<void> {
  await writeFile(join(dir, CHECKSUMS_FILE), renderChecksums(await computeChecksums(dir)));
}

/** Overwrites model.onnx with junk (and re-sums it, so the ONNX load itself fails). */
export async function corruptOnnx(dir: string): Promise<void> {
  const bytes = await readFile(join(dir, 'model.onnx'));
  await writeFile(join(dir, 'model.onnx'), bytes.subarray(0, Math.floor(bytes.length / 3)));
  await resum(dir);
}

/** Watches a model's `release()`; the returned function says whether it has been called. */
export function watchRelease(model: { release: () => Promise<void> }): () => boolean {
  let released = false;
  const original = model.release.bind(model);
  model.release = async () => {
    released = true;
    await original();
  };
  return () => released;
}

export function newService(
  registry: string,
  servers: () => ReadonlyArray<{ name: string; profile: string }>,
  extra: Partial<ForecastServiceOptions> & { manifest?: () => ManifestEntry[] } = {},
): ForecastService {
  const { manifest, ...rest } = extra;
  return new ForecastService({
    registry,
    windowFetcher: syntheticFetcher(servers),
    ...(manifest ? { loadManifest: async () => manifest() } : {}),
    refreshIntervalMs: 0,
    logger: quietLogger,
    defaultMetrics: false,
    initialBackoffMs: 50,
    maxBackoffMs: 200,
    ...rest,
  });
}

export interface MetricsFileOptions {
  /** Default: the start of the current hour, so the data is fresh. */
  end?: Date;
  /** This server's latency_ms is +Inf in the first sample of every hour. */
  infLatencyServer?: string;
  /** Rows (two recent samples each) under these server names, valid or not. */
  oddNames?: readonly string[];
}

/**
 * Writes a small parquet metrics file in the data contract's columns: `hours` hours of samples
 * (4 per hour) for each server, ending at `end`.
 */
export async function writeMetricsParquet(
  path: string,
  servers: ReadonlyArray<{ name: string; profile: string }>,
  hours: number,
  options: MetricsFileOptions = {},
): Promise<void> {
  const end = options.end ?? new Date(recentEnd() * 1000);
  const odd = options.oddNames ?? [];
  const { withDuckDb, sqlString } = await import('../../src/metrics/duckdb.js');
  const { listValue } = await import('@duckdb/node-api');
  await withDuckDb(async (conn) => {
    await conn.run(
      `COPY (
        WITH s AS (SELECT unnest($names::VARCHAR[]) AS server_name, unnest($profiles::VARCHAR[]) AS profile),
        t AS (SELECT to_timestamp($end - 900 * i) AS timestamp, i FROM range(1, $n + 1) r(i))
        SELECT t.timestamp::TIMESTAMP AS timestamp, s.server_name, s.profile,
          50 + 20 * sin(i / 10.0 + hash(s.server_name) % 7) AS cpu_pct,
          60 + 5 * cos(i / 20.0) AS mem_pct, 10.0 AS disk_io_mbps, 100 + i % 13 AS net_in_mbps,
          80.0 AS net_out_mbps,
          CASE WHEN s.server_name = $inf AND i % 4 = 0 THEN 'inf'::DOUBLE ELSE 20 + (i % 5) END AS latency_ms,
          0.01 AS error_rate
        FROM s, t
        UNION ALL
        SELECT to_timestamp($end - 900 * i)::TIMESTAMP, o.name, 'web', 50, 60, 10, 100, 80, 20, 0.01
        FROM (SELECT unnest($odd::VARCHAR[]) AS name) o, range(1, 3) r(i) WHERE o.name <> ''
      ) TO ${sqlString(path)} (FORMAT parquet)`,
      {
        names: listValue(servers.map((s) => s.name)),
        profiles: listValue(servers.map((s) => s.profile)),
        end: end.getTime() / 1000,
        n: hours * 4,
        inf: options.infLatencyServer ?? '',
        odd: listValue(['', ...odd]), // never empty: DuckDB cannot type an empty list
      },
    );
  });
}
