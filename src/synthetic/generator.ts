import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { tempPathFor, writeJsonAtomic } from '../core/atomic-write.js';
import { InputError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { DEFAULT_INTERVAL_SECONDS } from '../metrics/contract.js';
import { withDuckDb } from '../metrics/duckdb.js';
import { fleetPlanProblem, planFleet, plannedSamples, type FleetPlan } from './fleet-plan.js';
import { generateSql, loadPlan } from './metrics-sql.js';
import { planPathOf, renderPlanFile } from './plan-file.js';

export interface GenerateOptions {
  servers: number;
  days: number;
  out: string;
  seed?: number;
  intervalSeconds?: number;
  /** End of the window; defaults to now, floored to the interval. */
  end?: Date;
  add?: number;
  sunset?: number;
  /** DuckDB worker threads (default: every core). The output is the same for any value. */
  threads?: number;
  logger?: Logger;
}

export interface GenerateResult {
  path: string;
  planPath: string;
  rows: number;
  servers: number;
  seconds: number;
  plan: FleetPlan;
}

/**
 * Generates a synthetic fleet into a parquet file (atomically) plus `<out>.plan.json`: the plan
 * (fleet-plan.ts) becomes rows through one SQL statement (metrics-sql.ts).
 */
export async function generateFleet(options: GenerateOptions): Promise<GenerateResult> {
  const started = performance.now();
  const intervalSeconds = options.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS;
  const end = options.end ?? floorTo(new Date(), intervalSeconds);
  const planOptions = {
    servers: options.servers,
    days: options.days,
    intervalSeconds,
    end,
    seed: options.seed ?? 1,
    add: options.add ?? 0,
    sunset: options.sunset ?? 0,
  };
  const problem = fleetPlanProblem(planOptions);
  if (problem) throw new InputError(`generate: ${problem}`);
  if (end.getTime() % (intervalSeconds * 1000) !== 0)
    throw new InputError(
      `generate: --end ${end.toISOString()} is not aligned to the ${intervalSeconds}s interval`,
    );

  const plan = planFleet(planOptions);
  const path = resolve(options.out);
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const duckOptions = {
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    // Row order is not part of the contract; keeping it would serialize the parquet writer.
    preserveInsertionOrder: false,
    // The connection may write the output's directory (the temp file beside it) and nothing else.
    access: { directories: [dirname(path)] },
  };
  let rows: number;
  try {
    rows = await withDuckDb(async (conn) => {
      await loadPlan(conn, plan);
      return await copyWithProgress(conn, generateSql(plan, tmp), tmp, options.logger, plan);
    }, duckOptions);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  const planPath = planPathOf(path);
  await writeJsonAtomic(planPath, renderPlanFile(plan));
  return {
    path,
    planPath,
    rows,
    servers: plan.servers.filter((s) => plannedSamples(s) > 0).length,
    seconds: (performance.now() - started) / 1000,
    plan,
  };
}

function floorTo(date: Date, intervalSeconds: number): Date {
  const ms = intervalSeconds * 1000;
  return new Date(Math.floor(date.getTime() / ms) * ms);
}

/** Parquet bytes per row this generator writes (zstd, FLOAT metrics), for the progress estimate. */
const BYTES_PER_ROW_ESTIMATE = 27;

/**
 * Runs the COPY, logging progress every 5 s. DuckDB's own progress counter does not advance
 * during a COPY from the node API, so progress is the temp file's growth against its expected size.
 */
async function copyWithProgress(
  conn: DuckDBConnection,
  sql: string,
  target: string,
  logger: Logger | undefined,
  plan: FleetPlan,
): Promise<number> {
  const total = plan.servers.reduce((sum, s) => sum + plannedSamples(s), 0);
  const expectedBytes = total * BYTES_PER_ROW_ESTIMATE;
  const started = performance.now();
  const timer =
    logger === undefined
      ? undefined
      : setInterval(() => {
          void stat(target)
            .then(({ size }) => {
              const fraction = Math.min(0.99, size / expectedBytes);
              const elapsed = (performance.now() - started) / 1000;
              const eta = fraction > 0 ? (elapsed * (1 - fraction)) / fraction : NaN;
              logger.info(
                {
                  rows_planned: total,
                  written_mb: Math.round(size / 1e6),
                  percent: Math.round(fraction * 100),
                },
                `generating ${total.toLocaleString('en-US')} rows: ~${Math.round(fraction * 100)}% after ${elapsed.toFixed(0)}s` +
                  (Number.isFinite(eta) ? `, ETA ~${eta.toFixed(0)}s` : ''),
              );
            })
            .catch(() => undefined);
        }, 5000);
  try {
    const reader = await conn.runAndReadAll(sql);
    const value = reader.getRows()[0]?.[0];
    return Number(value ?? 0);
  } finally {
    if (timer) clearInterval(timer);
  }
}
