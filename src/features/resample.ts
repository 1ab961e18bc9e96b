import { listValue, type DuckDBConnection } from '@duckdb/node-api';
import type { MetricsSource } from '../metrics/source.js';
import { sqlIdentifier } from '../metrics/duckdb.js';
import { assertServerName } from '../core/server-name.js';

/**
 * Resampling shared by the dataset builder, validation and the inference service, so that the
 * model always sees data bucketed the same way: step = floor(epoch(timestamp) / resolution),
 * one row per (server, step) with the mean of each metric (duplicate samples, identical or not, are
 * averaged into their bucket) and the latest profile. A non-finite sample (NaN, Inf, -Inf) is
 * a missing sample: it is left out of the mean exactly like NULL, so one bad reading costs one
 * sample, not the server's whole window (an Inf would otherwise make the bucket's mean Inf).
 */

export interface ResampleRequest {
  /** Only these servers (validated names); undefined = every server. */
  servers?: readonly string[];
  /** Metric columns, in the order the arrays hold them. */
  features: readonly string[];
  resolutionSeconds: number;
  /** First step (inclusive) and last step (exclusive), in units of `resolutionSeconds` since the epoch. */
  startStep?: number;
  endStep?: number;
}

export interface ResampledRows {
  servers: string[];
  profiles: string[];
  steps: Int32Array;
  /** Row-major [rows, features], always finite or NaN: NaN where no sample in the bucket was finite. */
  values: Float32Array;
}

/** Runs the bucketing query; rows come sorted by server, then step. */
export async function queryResampled(
  conn: DuckDBConnection,
  source: MetricsSource,
  request: ResampleRequest,
): Promise<ResampledRows> {
  const { features, resolutionSeconds } = request;
  if (!Number.isInteger(resolutionSeconds) || resolutionSeconds <= 0) {
    throw new Error(`resolution must be a positive whole number of seconds, got ${resolutionSeconds}`);
  }
  await source.prepare(conn);
  const params: Record<string, ReturnType<typeof listValue> | number> = {};
  const where: string[] = [];
  if (request.servers !== undefined) {
    request.servers.forEach((name, i) => assertServerName(name, `server list entry ${i + 1}`));
    params.servers = listValue([...request.servers]);
    where.push('server_name IN (SELECT unnest($servers::VARCHAR[]))');
  }
  if (request.startStep !== undefined) {
    params.start_ts = request.startStep * resolutionSeconds;
    where.push('timestamp >= to_timestamp($start_ts)');
  }
  if (request.endStep !== undefined) {
    params.end_ts = request.endStep * resolutionSeconds;
    where.push('timestamp < to_timestamp($end_ts)');
  }
  const averages = features
    .map((f) => {
      const x = `${sqlIdentifier(f)}::DOUBLE`;
      return `avg(CASE WHEN isfinite(${x}) THEN ${x} END)::DOUBLE AS ${sqlIdentifier(f)}`;
    })
    .join(', ');
  const sql = `
    SELECT server_name, arg_max(profile, timestamp) AS profile,
           floor(epoch(timestamp) / ${resolutionSeconds})::INTEGER AS step, ${averages}
    FROM ${source.relation()}
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    GROUP BY server_name, step
    ORDER BY server_name, step`;
  const reader = await conn.runAndReadAll(sql, params);
  const columns = reader.getColumns();
  const rows = reader.currentRowCount;
  const values = new Float32Array(rows * features.length);
  features.forEach((_, f) => {
    const column = columns[3 + f] as Array<number | null>;
    for (let r = 0; r < rows; r++) {
      const v = column[r];
      values[r * features.length + f] = v !== null && v !== undefined && Number.isFinite(v) ? v : Number.NaN;
    }
  });
  return {
    servers: columns[0] as string[],
    profiles: (columns[1] as Array<string | null>).map((p) => p ?? ''),
    steps: Int32Array.from(columns[2] as number[]),
    values,
  };
}

export interface ServerSeries {
  server: string;
  profile: string;
  /** First step covered by `values`. */
  startStep: number;
  /** Row-major [steps, features]; NaN where no data. */
  values: Float32Array;
  /** Steps with data before any filling. */
  observedSteps: number;
  /** Last step with data, or -1. */
  lastObservedStep: number;
}

/** Lays resampled rows out on a dense step grid [startStep, endStep) per server. */
export function toDenseSeries(
  rows: ResampledRows,
  nFeatures: number,
  startStep: number,
  endStep: number,
): Map<string, ServerSeries> {
  const nSteps = endStep - startStep;
  const out = new Map<string, ServerSeries>();
  for (let r = 0; r < rows.servers.length; r++) {
    const step = rows.steps[r]!;
    if (step < startStep || step >= endStep) continue;
    const server = rows.servers[r]!;
    let series = out.get(server);
    if (series === undefined) {
      series = {
        server,
        profile: rows.profiles[r]!,
        startStep,
        values: new Float32Array(nSteps * nFeatures).fill(Number.NaN),
        observedSteps: 0,
        lastObservedStep: -1,
      };
      out.set(server, series);
    }
    // Rows come in step order: a profile that changed mid-history ends as the latest one.
    if (rows.profiles[r]) series.profile = rows.profiles[r]!;
    const target = (step - startStep) * nFeatures;
    series.values.set(rows.values.subarray(r * nFeatures, (r + 1) * nFeatures), target);
    series.observedSteps++;
    series.lastObservedStep = Math.max(series.lastObservedStep, step);
  }
  return out;
}

/**
 * Forward-fills each feature across gaps of at most `limit` steps (in place) and returns how many
 * values were filled. Longer gaps stay NaN so nothing is invented over an outage.
 */
export function forwardFill(values: Float32Array, nSteps: number, nFeatures: number, limit: number): number {
  let filled = 0;
  for (let f = 0; f < nFeatures; f++) {
    let last = Number.NaN;
    let gap = 0;
    for (let t = 0; t < nSteps; t++) {
      const i = t * nFeatures + f;
      const v = values[i]!;
      if (!Number.isNaN(v)) {
        last = v;
        gap = 0;
        continue;
      }
      gap++;
      if (!Number.isNaN(last) && gap <= limit) {
        values[i] = last;
        filled++;
      }
    }
  }
  return filled;
}

/** Back-fills leading NaNs of each feature from its first value (in place). */
export function backFillStart(values: Float32Array, nSteps: number, nFeatures: number): void {
  for (let f = 0; f < nFeatures; f++) {
    let first = -1;
    for (let t = 0; t < nSteps; t++) {
      if (!Number.isNaN(values[t * nFeatures + f]!)) {
        first = t;
        break;
      }
    }
    if (first <= 0) continue;
    const v = values[first * nFeatures + f]!;
    for (let t = 0; t < first; t++) values[t * nFeatures + f] = v;
  }
}
