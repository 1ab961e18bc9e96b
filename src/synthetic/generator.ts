import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { tempPathFor, writeJsonAtomic } from '../core/atomic-write.js';
import { InputError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { assessEligibility, DEFAULT_ELIGIBILITY_POLICY } from '../fleet/eligibility.js';
import { classifySilence, DEFAULT_STATUS_POLICY } from '../fleet/status.js';
import { DEFAULT_INTERVAL_SECONDS, KNOWN_PROFILES, METRIC_NAMES } from '../metrics/contract.js';
import { sqlString, withDuckDb } from '../metrics/duckdb.js';
import {
  fleetPlanProblem,
  planFleet,
  plannedSamples,
  type FleetPlan,
  type PlannedServer,
  type PlannedStatus,
} from './fleet-plan.js';

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

/** What `<out>.plan.json` holds: the window and every planted server with its expected status. */
export interface PlanFile {
  format_version: 1;
  options: {
    servers: number;
    days: number;
    interval_seconds: number;
    seed: number;
    add: number;
    sunset: number;
  };
  start: string;
  end: string;
  servers_total: number;
  expected_status_counts: Record<PlannedStatus, number>;
  planted: Array<{
    name: string;
    profile: string;
    kind: 'added' | 'sunset';
    first_seen: string | null;
    last_seen: string | null;
    planned_samples: number;
    expected_status: PlannedStatus;
    expected_eligible: boolean;
  }>;
}

/** Generates a synthetic fleet into a parquet file (atomically) plus `<out>.plan.json`. */
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
  const duckOptions = options.threads === undefined ? {} : { threads: options.threads };
  let rows: number;
  try {
    rows = await withDuckDb(async (conn) => {
      // Row order is not part of the contract; keeping it would serialize the parquet writer.
      await conn.run('SET preserve_insertion_order = false');
      await loadPlan(conn, plan);
      return await copyWithProgress(conn, generateSql(plan, tmp), tmp, options.logger, plan);
    }, duckOptions);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  const planPath = `${path}.plan.json`;
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

/** The planted servers and the status the fleet policy should give them at `plan.end`. */
export function renderPlanFile(plan: FleetPlan): PlanFile {
  const counts: Record<PlannedStatus, number> = {
    active: 0,
    offline: 0,
    sunset_candidate: 0,
    sunset_confirmed: 0,
    absent: 0,
  };
  const planted: PlanFile['planted'] = [];
  for (const server of plan.servers) {
    const status = expectedStatus(plan, server);
    counts[status]++;
    if (server.kind === 'base') continue;
    const samples = plannedSamples(server);
    const firstSeen = samples > 0 ? stepTime(plan, server.firstStep) : null;
    const lastSeen = samples > 0 ? stepTime(plan, server.lastStep) : null;
    planted.push({
      name: server.name,
      profile: server.profile,
      kind: server.kind,
      first_seen: firstSeen?.toISOString() ?? null,
      last_seen: lastSeen?.toISOString() ?? null,
      planned_samples: samples,
      expected_status: status,
      expected_eligible:
        firstSeen !== null &&
        lastSeen !== null &&
        assessEligibility({ firstSeen, lastSeen, samples }, DEFAULT_ELIGIBILITY_POLICY).eligible,
    });
  }
  return {
    format_version: 1,
    options: {
      servers: plan.servers.filter((s) => s.kind !== 'added').length,
      days: (plan.steps * plan.intervalSeconds) / 86_400,
      interval_seconds: plan.intervalSeconds,
      seed: plan.seed,
      add: plan.servers.filter((s) => s.kind === 'added').length,
      sunset: plan.servers.filter((s) => s.kind === 'sunset').length,
    },
    start: plan.start.toISOString(),
    end: plan.end.toISOString(),
    servers_total: plan.servers.length,
    expected_status_counts: counts,
    planted,
  };
}

function expectedStatus(plan: FleetPlan, server: PlannedServer): PlannedStatus {
  if (plannedSamples(server) === 0) return 'absent';
  const silentMs = plan.end.getTime() - stepTime(plan, server.lastStep).getTime();
  return classifySilence(silentMs, DEFAULT_STATUS_POLICY);
}

function stepTime(plan: FleetPlan, step: number): Date {
  return new Date(plan.start.getTime() + step * plan.intervalSeconds * 1000);
}

function floorTo(date: Date, intervalSeconds: number): Date {
  const ms = intervalSeconds * 1000;
  return new Date(Math.floor(date.getTime() / ms) * ms);
}

const PARAM_COLUMNS = [
  'cpu_base',
  'cpu_amp',
  'cpu_trend',
  'mem_base',
  'mem_leak',
  'mem_period',
  'disk_base',
  'net_base',
  'lat_base',
  'err_base',
  'noise',
] as const;

/** Loads the per-server plan into a temp table through an appender (no SQL text from names). */
async function loadPlan(conn: DuckDBConnection, plan: FleetPlan): Promise<void> {
  await conn.run(
    `CREATE TEMP TABLE plan_servers (s INTEGER, server_name VARCHAR, profile VARCHAR, pi UTINYINT,
      first_k INTEGER, last_k INTEGER, ${PARAM_COLUMNS.map((c) => `${c} DOUBLE`).join(', ')})`,
  );
  const appender = await conn.createAppender('plan_servers');
  for (const server of plan.servers) {
    if (plannedSamples(server) === 0) continue;
    const p = server.params;
    appender.appendInteger(server.index);
    appender.appendVarchar(server.name);
    appender.appendVarchar(server.profile);
    appender.appendUTinyInt(KNOWN_PROFILES.indexOf(server.profile));
    appender.appendInteger(server.firstStep);
    appender.appendInteger(server.lastStep);
    for (const value of [
      p.cpuBase,
      p.cpuAmp,
      p.cpuTrendPerDay,
      p.memBase,
      p.memLeakPct,
      p.memLeakPeriodDays,
      p.diskBase,
      p.netBase,
      p.latencyBase,
      p.errorBase,
      p.noise,
    ])
      appender.appendDouble(value);
    appender.endRow();
  }
  appender.flushSync();
  appender.closeSync();
}

/**
 * Daily load shapes per profile (0–1), as Gaussian bumps on the UTC hour, times a weekday factor:
 * web peaks mid-afternoon and evening, api at 11:00 and 16:00, database follows api with a
 * nightly backup, cache follows web, batch runs at night and harder on Sundays.
 */
function shapeSql(profile: string, tod: string, dow: string): string {
  const bump = (hour: number, width: number): string =>
    `exp(-pow(least(abs(${tod} - ${hour / 24}), 1 - abs(${tod} - ${hour / 24})) / ${width / 24}, 2) / 2)`;
  const weekend = (factor: number): string => `(CASE WHEN ${dow} >= 5 THEN ${factor} ELSE 1.0 END)`;
  switch (profile) {
    case 'web':
      return `(0.65 * ${bump(14, 3.5)} + 0.35 * ${bump(20.5, 1.8)}) * ${weekend(0.75)}`;
    case 'api':
      return `(0.55 * ${bump(11, 2.5)} + 0.45 * ${bump(16, 2.5)}) * ${weekend(0.6)}`;
    case 'database':
      return `(0.6 * ${bump(12, 4)} + 0.4 * ${bump(2, 1)}) * ${weekend(0.85)}`;
    case 'cache':
      return `(0.7 * ${bump(14.5, 4)} + 0.3 * ${bump(21, 2)}) * ${weekend(0.8)}`;
    default:
      return `(0.9 * ${bump(3, 1.5)} + 0.1) * (CASE WHEN ${dow} = 6 THEN 1.1 ELSE 0.9 END)`;
  }
}

/** A value in [-1, 1] from 16 bits of a 64-bit hash. */
function unit(hash: string, shift: number): string {
  return `(((${hash} >> ${shift}) & 65535)::DOUBLE / 32767.5::DOUBLE - 1.0::DOUBLE)`;
}

/** The COPY statement: plan_servers × time steps, every value from a seeded hash, never random(). */
export function generateSql(plan: FleetPlan, target: string): string {
  const interval = plan.intervalSeconds;
  const startEpoch = Math.round(plan.start.getTime() / 1000);
  const stepsPerDay = Math.max(1, Math.round(86_400 / interval));
  const seed = plan.seed;
  const epoch = `(${startEpoch} + range * ${interval})`;
  const tod = `((${epoch} % 86400) / 86400.0)`;
  const dow = `(((${epoch} // 86400) + 3) % 7)`;
  const shapes = KNOWN_PROFILES.map((p, i) => `${shapeSql(p, tod, dow)} AS shape_${i}`).join(',\n      ');
  const load = `CASE pi ${KNOWN_PROFILES.map((_, i) => `WHEN ${i} THEN shape_${i}`).join(' ')} END`;
  // An incident hits a server on about 2.5 % of days, for 15 min to 2 h (at 5-min steps).
  const incident = `CASE WHEN hi % 1000 < 25 AND sod >= (hi >> 10) % ${stepsPerDay}
      AND sod < (hi >> 10) % ${stepsPerDay} + 3 + (hi >> 40) % 24 THEN 1.0::DOUBLE ELSE 0.0::DOUBLE END`;
  const metrics = {
    cpu_pct: `least(100, greatest(0, cpu_base + cpu_amp * load + cpu_trend * days + noise * ${unit('h1', 0)} + 35 * inc))`,
    mem_pct: `least(100, greatest(0, mem_base + mem_leak * (days / mem_period - floor(days / mem_period)) + 5 * load + 0.3 * noise * ${unit('h1', 16)}))`,
    disk_io_mbps: `greatest(0, disk_base * (0.3 + 1.4 * load) * (1 + 0.15 * ${unit('h1', 32)}) + 10 * inc)`,
    net_in_mbps: `greatest(0, net_base * (0.25 + load) * (1 + 0.1 * ${unit('h1', 48)}))`,
    net_out_mbps: `greatest(0, 0.8 * net_base * (0.25 + load) * (1 + 0.1 * ${unit('h2', 0)}))`,
    latency_ms: `greatest(0.05, lat_base * (1 + 0.7 * load * load + 0.05 * ${unit('h2', 16)}) * (1 + 3 * inc))`,
    error_rate: `least(1, greatest(0, err_base * (1 + load + 0.3 * ${unit('h2', 32)}) + 0.04 * inc))`,
  } satisfies Record<(typeof METRIC_NAMES)[number], string>;
  const metricSelect = METRIC_NAMES.map(
    (name) => `${metrics[name as keyof typeof metrics]}::FLOAT AS ${name}`,
  ).join(',\n    ');
  return `COPY (
  WITH steps AS MATERIALIZED (
    SELECT range AS k, make_timestamp(${epoch} * 1000000) AS ts, range % ${stepsPerDay} AS sod,
      range // ${stepsPerDay} AS day, (range * ${interval})::DOUBLE / 86400.0::DOUBLE AS days,
      ${shapes}
    FROM range(${plan.steps})
  ),
  hashed AS (
    SELECT ts, server_name, profile, sod, days, ${PARAM_COLUMNS.join(', ')}, ${load} AS load,
      hash(s, k, ${seed}) AS h1, hash(k, s, ${seed} + 1) AS h2, hash(s, day, ${seed} + 2) AS hi,
      k = first_k OR k = last_k AS edge
    FROM (
      -- servers that report all window long need no range filter; a filter on the cross join
      -- would become a sorting range join over every row
      SELECT * FROM (SELECT * FROM plan_servers WHERE first_k = 0 AND last_k = ${plan.steps - 1})
      CROSS JOIN steps
      UNION ALL
      SELECT * FROM plan_servers JOIN steps ON k BETWEEN first_k AND last_k
      WHERE NOT (first_k = 0 AND last_k = ${plan.steps - 1})
    )
  ),
  rows AS (SELECT *, ${incident} AS inc FROM hashed)
  SELECT ts AS timestamp, server_name, profile,
    ${metricSelect}
  FROM rows
  -- about 1 sample in 2,000 goes missing, as real scrapes do (never a server's first or last)
  WHERE edge OR (h2 >> 48) % 2000 <> 0
) TO ${sqlString(target)} (FORMAT parquet, COMPRESSION zstd)`;
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
