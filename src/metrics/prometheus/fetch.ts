import { preview } from '../../core/server-name.js';
import type { PrometheusClient, RangeRequest, RangeSeries } from './client.js';
import { profileOf, serverNameOf, type PrometheusMapping } from './mapping.js';

const MAX_EXAMPLES = 5;

/** What a fetch skipped, so that no caller reports "ok" over data it never saw. */
export interface SkipCounts {
  /** Series whose server label gave an unsafe server name (src/core/server-name.ts). */
  unsafeNameSeries: number;
  unsafeNameSamples: number;
  unsafeNameExamples: string[];
  /** A second series for the same server in one query (e.g. host:9100 and host:9200). */
  duplicateSeries: number;
  duplicateSamples: number;
  duplicateExamples: string[];
  /** NaN or ±Inf values (0/0 in a query): stored as NULL. */
  nonFiniteSamples: number;
  /** Profile label values that are not a valid profile: the profile is left NULL. */
  invalidProfiles: number;
}

export function emptySkips(): SkipCounts {
  return {
    unsafeNameSeries: 0,
    unsafeNameSamples: 0,
    unsafeNameExamples: [],
    duplicateSeries: 0,
    duplicateSamples: 0,
    duplicateExamples: [],
    nonFiniteSamples: 0,
    invalidProfiles: 0,
  };
}

/** One time chunk pivoted to the contract's wide rows: values[server][column * points + i]. */
export interface PivotedChunk {
  /** Unix seconds of the first point. */
  start: number;
  step: number;
  points: number;
  /** Server index (into FetchResult.servers) → column-major values, NaN where missing. */
  servers: Map<number, Float64Array>;
}

export interface ServerEntry {
  name: string;
  profile: string | null;
}

export interface FetchStats {
  requests: RangeRequest[];
  /** Points received and kept (one per series and timestamp). */
  samples: number;
  skips: SkipCounts;
}

/**
 * Splits [from, to] (unix seconds on the step grid) into chunks of at most `chunkPoints` points,
 * queries every mapped column for every chunk with `concurrency` requests in flight, and hands each
 * chunk to `sink` once all of its columns have arrived. Throws on the first request that fails
 * for good (after the client's retries): the caller must then discard everything it received.
 */
export async function fetchRange(
  client: PrometheusClient,
  mapping: PrometheusMapping,
  from: number,
  to: number,
  servers: Map<string, number>,
  serverList: ServerEntry[],
  sink: (chunk: PivotedChunk) => void,
): Promise<FetchStats> {
  const step = mapping.stepMs / 1000;
  const stats: FetchStats = { requests: [], samples: 0, skips: emptySkips() };
  const chunks: Array<{ start: number; end: number; pending: number; pivot: PivotedChunk }> = [];
  for (let start = from; start <= to;) {
    const end = Math.min(to, start + (mapping.chunkPoints - 1) * step);
    const points = Math.round((end - start) / step) + 1;
    chunks.push({
      start,
      end,
      pending: mapping.columns.length,
      pivot: { start, step, points, servers: new Map() },
    });
    start = end + step;
  }
  const tasks = chunks.flatMap((chunk) => mapping.columns.map((_, column) => ({ chunk, column })));
  const ncols = mapping.columns.length;

  const absorb = (chunk: (typeof chunks)[number], column: number, result: RangeSeries[]): void => {
    const { pivot } = chunk;
    const seen = new Set<number>();
    for (const series of result) {
      const named = serverNameOf(series.metric, mapping);
      if ('problem' in named) {
        stats.skips.unsafeNameSeries++;
        stats.skips.unsafeNameSamples += series.values.length;
        const raw = series.metric[mapping.serverLabel];
        const example = `${preview(raw ?? null)}: ${named.problem}`;
        if (
          stats.skips.unsafeNameExamples.length < MAX_EXAMPLES &&
          !stats.skips.unsafeNameExamples.includes(example)
        )
          stats.skips.unsafeNameExamples.push(example);
        continue;
      }
      let index = servers.get(named.name);
      if (index === undefined) {
        index = serverList.length;
        servers.set(named.name, index);
        serverList.push({ name: named.name, profile: null });
      }
      if (seen.has(index)) {
        stats.skips.duplicateSeries++;
        stats.skips.duplicateSamples += series.values.length;
        const example = `${named.name} in ${mapping.columns[column]!.name} (${preview(series.metric[mapping.serverLabel])})`;
        if (
          stats.skips.duplicateExamples.length < MAX_EXAMPLES &&
          !stats.skips.duplicateExamples.includes(example)
        )
          stats.skips.duplicateExamples.push(example);
        continue;
      }
      seen.add(index);
      const entry = serverList[index]!;
      if (entry.profile === null) {
        const profile = profileOf(series.metric, mapping);
        if (profile.invalid) stats.skips.invalidProfiles++;
        entry.profile = profile.profile;
      }
      let values = pivot.servers.get(index);
      if (values === undefined) {
        values = new Float64Array(ncols * pivot.points).fill(NaN);
        pivot.servers.set(index, values);
      }
      const base = column * pivot.points;
      for (const [t, text] of series.values) {
        const i = Math.round((t - pivot.start) / step);
        if (i < 0 || i >= pivot.points) continue;
        const value = Number(text);
        if (!Number.isFinite(value)) {
          stats.skips.nonFiniteSamples++;
          continue;
        }
        values[base + i] = value;
        stats.samples++;
      }
    }
  };

  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < tasks.length && !failed) {
      const { chunk, column } = tasks[next++]!;
      const request: RangeRequest = {
        query: mapping.columns[column]!.query,
        start: chunk.start,
        end: chunk.end,
        step,
      };
      stats.requests.push(request);
      let result: RangeSeries[];
      try {
        result = await client.queryRange(request);
      } catch (error) {
        failed = true;
        throw error;
      }
      absorb(chunk, column, result);
      if (--chunk.pending === 0) {
        sink(chunk.pivot);
        chunk.pivot.servers = new Map();
      }
    }
  };
  const workers = Array.from({ length: Math.min(mapping.concurrency, tasks.length) }, worker);
  // allSettled first: a failing request must not leave others writing after we return
  const settled = await Promise.allSettled(workers);
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (rejected !== undefined) throw rejected.reason;
  return stats;
}
