import type { DuckDBConnection } from '@duckdb/node-api';
import { KNOWN_PROFILES, METRIC_NAMES } from '../metrics/contract.js';
import { sqlString } from '../metrics/duckdb.js';
import { plannedSamples, type FleetPlan } from './fleet-plan.js';

/**
 * The SQL half of the generator: the plan goes into a temp table, and one COPY statement turns it
 * into rows, every value from a seeded hash, so the same seed gives the same parquet file.
 */

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
export async function loadPlan(conn: DuckDBConnection, plan: FleetPlan): Promise<void> {
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
