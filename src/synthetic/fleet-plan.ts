import { KNOWN_PROFILES, MS_PER_DAY, type KnownProfile } from '../metrics/contract.js';
import { mulberry32 } from '../core/seeded-random.js';

/**
 * The pure half of the generator: which servers exist, their roles, their parameters, and when
 * each one reports. The SQL half (generator.ts) turns this into rows.
 */

export interface FleetPlanOptions {
  /** Servers that report for the whole window. */
  servers: number;
  days: number;
  intervalSeconds: number;
  /** End of the window (exclusive); the last sample is one interval before it. */
  end: Date;
  seed: number;
  /** Extra servers that start reporting mid-window. */
  add: number;
  /** Servers of the base fleet that stop reporting (offline, sunset candidate, sunset confirmed). */
  sunset: number;
}

export type PlannedKind = 'base' | 'added' | 'sunset';
/** What the fleet status at `end` should be for a planted server ('absent': no rows at all). */
export type PlannedStatus = 'active' | 'offline' | 'sunset_candidate' | 'sunset_confirmed' | 'absent';

export interface PlannedServer {
  index: number;
  name: string;
  profile: KnownProfile;
  kind: PlannedKind;
  /** First and last step (inclusive) with a sample; step k is at start + k × interval. */
  firstStep: number;
  lastStep: number;
  params: ServerParams;
}

/** Per-server levels, drawn from a seeded PRNG so the same seed gives the same fleet. */
export interface ServerParams {
  cpuBase: number;
  cpuAmp: number;
  cpuTrendPerDay: number;
  memBase: number;
  memLeakPct: number;
  memLeakPeriodDays: number;
  diskBase: number;
  netBase: number;
  latencyBase: number;
  errorBase: number;
  noise: number;
}

export interface FleetPlan {
  start: Date;
  end: Date;
  intervalSeconds: number;
  steps: number;
  seed: number;
  servers: PlannedServer[];
}

/** Role mix of a generated fleet, as a repeating cycle of 20: 30 % web, 25 % api, 15 % each other. */
const PROFILE_CYCLE: readonly KnownProfile[] = [
  'web', 'api', 'database', 'web', 'cache', 'api', 'batch', 'web', 'api', 'database',
  'web', 'cache', 'api', 'batch', 'web', 'database', 'api', 'cache', 'web', 'batch',
]; // prettier-ignore

/** Per-profile ranges the per-server parameters are drawn from. */
const PROFILE_RANGES: Record<KnownProfile, Record<keyof ServerParams, [number, number]>> = {
  web: {
    cpuBase: [10, 25], cpuAmp: [20, 45], cpuTrendPerDay: [-0.05, 0.25], memBase: [35, 55],
    memLeakPct: [0, 8], memLeakPeriodDays: [3, 10], diskBase: [2, 10], netBase: [40, 200],
    latencyBase: [25, 80], errorBase: [0.0005, 0.004], noise: [1.5, 4],
  },
  api: {
    cpuBase: [15, 30], cpuAmp: [20, 40], cpuTrendPerDay: [-0.05, 0.3], memBase: [40, 60],
    memLeakPct: [0, 12], memLeakPeriodDays: [2, 7], diskBase: [2, 12], netBase: [60, 300],
    latencyBase: [15, 60], errorBase: [0.001, 0.006], noise: [2, 5],
  },
  database: {
    cpuBase: [20, 40], cpuAmp: [10, 25], cpuTrendPerDay: [0, 0.2], memBase: [60, 80],
    memLeakPct: [0, 3], memLeakPeriodDays: [14, 30], diskBase: [40, 250], netBase: [30, 150],
    latencyBase: [2, 12], errorBase: [0.0001, 0.001], noise: [1, 3],
  },
  cache: {
    cpuBase: [5, 15], cpuAmp: [10, 25], cpuTrendPerDay: [-0.05, 0.1], memBase: [55, 85],
    memLeakPct: [0, 6], memLeakPeriodDays: [5, 20], diskBase: [0.5, 5], netBase: [100, 600],
    latencyBase: [0.3, 2], errorBase: [0.00005, 0.0005], noise: [1, 2.5],
  },
  batch: {
    cpuBase: [5, 15], cpuAmp: [40, 75], cpuTrendPerDay: [0, 0.4], memBase: [20, 40],
    memLeakPct: [0, 15], memLeakPeriodDays: [1, 4], diskBase: [20, 150], netBase: [10, 80],
    latencyBase: [100, 800], errorBase: [0.0005, 0.01], noise: [2, 6],
  },
}; // prettier-ignore

/** How long planted servers have reported (added) or been silent (sunset), in days before `end`. */
export const PLANTED = {
  /** Added servers alternate: pending (history 1.0–5.9 days) and eligible (history ≥ 8 days). */
  pendingHistoryDays: (i: number): number => 1 + ((i * 7) % 50) / 10,
  eligibleHistoryDays: (i: number, days: number): number => 8 + ((i * 3) % Math.max(1, days - 9)),
  /** Sunset servers cycle offline (silent 1.5–5.5 d), candidate (8–27 d), confirmed (31–40 d). */
  silenceDays: (i: number): number => {
    const j = Math.floor(i / 3);
    if (i % 3 === 0) return 1.5 + (j % 5);
    if (i % 3 === 1) return 8 + ((j * 5) % 20);
    return 31 + (j % 10);
  },
} as const;

export function serverName(profile: string, index: number, width: number): string {
  return `${profile}-${String(index + 1).padStart(width, '0')}`;
}

export function planFleet(options: FleetPlanOptions): FleetPlan {
  const { servers, days, intervalSeconds, end, seed, add, sunset } = options;
  const intervalMs = intervalSeconds * 1000;
  const steps = Math.floor((days * MS_PER_DAY) / intervalMs);
  const start = new Date(end.getTime() - steps * intervalMs);
  const total = servers + add;
  const width = Math.max(4, String(total).length);
  const stepsFor = (d: number): number => Math.round((d * MS_PER_DAY) / intervalMs);

  const planned: PlannedServer[] = [];
  for (let index = 0; index < total; index++) {
    const profile = PROFILE_CYCLE[index % PROFILE_CYCLE.length]!;
    planned.push({
      index,
      name: serverName(profile, index, width),
      profile,
      kind: index < servers ? 'base' : 'added',
      firstStep: 0,
      lastStep: steps - 1,
      params: drawParams(profile, seed, index),
    });
  }
  // Added servers: even ones still pending (< 7 days of history), odd ones already eligible
  // when the window is long enough to hold 8+ days.
  for (let i = 0; i < add; i++) {
    const historyDays =
      i % 2 === 1 && days >= 10 ? PLANTED.eligibleHistoryDays(i, days) : PLANTED.pendingHistoryDays(i);
    planned[servers + i]!.firstStep = Math.max(0, steps - 1 - stepsFor(historyDays));
  }
  // Sunset servers: spread evenly over the base fleet so every profile loses some.
  for (let i = 0; i < sunset; i++) {
    const index = Math.floor(((i + 0.5) * servers) / sunset);
    const server = planned[index]!;
    server.kind = 'sunset';
    server.lastStep = steps - 1 - stepsFor(PLANTED.silenceDays(i));
  }
  return { start, end, intervalSeconds, steps, seed, servers: planned };
}

/** Validates generator options, returning the first problem in words. */
export function fleetPlanProblem(options: FleetPlanOptions): string | undefined {
  const { servers, days, intervalSeconds, add, sunset, seed } = options;
  if (!Number.isInteger(servers) || servers < 1 || servers > 1_000_000)
    return `--servers must be an integer from 1 to 1000000, got ${servers}`;
  if (!(days > 0 && days <= 3660)) return `--days must be a number from 0 to 3660, got ${days}`;
  if (!Number.isInteger(add) || add < 0) return `--add must be a non-negative integer, got ${add}`;
  if (!Number.isInteger(sunset) || sunset < 0 || sunset > servers)
    return `--sunset must be an integer from 0 to --servers (${servers}), got ${sunset}`;
  if (!Number.isSafeInteger(seed) || seed < 0) return `--seed must be a non-negative integer, got ${seed}`;
  if (intervalSeconds < 1 || intervalSeconds > 86_400)
    return `--interval must be from 1s to 24h, got ${intervalSeconds}s`;
  if (Number.isNaN(options.end.getTime())) return '--end is not a valid date';
  if (Math.floor((days * 86_400) / intervalSeconds) < 2) return '--days must hold at least 2 intervals';
  return undefined;
}

/** The planned samples of a server (before the generator's rare dropped samples). */
export function plannedSamples(server: PlannedServer): number {
  return Math.max(0, server.lastStep - server.firstStep + 1);
}

function drawParams(profile: KnownProfile, seed: number, index: number): ServerParams {
  const next = mulberry32(hash32(seed, index));
  const ranges = PROFILE_RANGES[profile];
  const params = {} as ServerParams;
  for (const key of Object.keys(ranges) as (keyof ServerParams)[]) {
    const [lo, hi] = ranges[key];
    params[key] = Math.round((lo + (hi - lo) * next()) * 1e6) / 1e6;
  }
  return params;
}

/** A 32-bit mix of two integers (from the murmur3 finalizer), for seeding per-server streams. */
function hash32(a: number, b: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export { KNOWN_PROFILES };
