import { listValue, type DuckDBConnection } from '@duckdb/node-api';
import { InputError } from '../core/errors.js';
import type { MetricsSource } from '../metrics/source.js';

/** The dataset's time window on the resolution grid: steps [startStep, endStep), nSteps of them. */
export interface DatasetWindow {
  startStep: number;
  endStep: number;
  nSteps: number;
  /** Epoch seconds of step 0 of the dataset (startStep × resolution). */
  startEpoch: number;
}

/**
 * The last `days` before `end` (exclusive), or, without `end`, the days up to and including the
 * bucket of the newest sample of `servers`.
 */
export async function datasetWindow(
  conn: DuckDBConnection,
  source: MetricsSource,
  servers: readonly string[],
  request: { resolutionSeconds: number; days: number; end?: Date | undefined },
): Promise<DatasetWindow> {
  const res = request.resolutionSeconds;
  const endEpoch = request.end ? request.end.getTime() / 1000 : await newestSample(conn, source, servers);
  if (endEpoch === null)
    throw new InputError(`${source.description}: no rows for any of the ${servers.length} manifest servers`);
  // An explicit end is exclusive; the newest sample must fall inside the last bucket.
  const endStep = request.end ? Math.floor(endEpoch / res) : Math.floor(endEpoch / res) + 1;
  const nSteps = Math.round((request.days * 86400) / res);
  const startStep = endStep - nSteps;
  return { startStep, endStep, nSteps, startEpoch: startStep * res };
}

async function newestSample(
  conn: DuckDBConnection,
  source: MetricsSource,
  servers: readonly string[],
): Promise<number | null> {
  await source.prepare(conn);
  const reader = await conn.runAndReadAll(
    `SELECT epoch(max(timestamp))::DOUBLE FROM ${source.relation()} WHERE server_name IN (SELECT unnest($servers::VARCHAR[]))`,
    { servers: listValue([...servers]) },
  );
  const value = reader.getRows()[0]?.[0];
  return typeof value === 'number' ? value : null;
}

/** An epoch-seconds time as ISO 8601, for messages and the dataset header. */
export function isoOfEpoch(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}
