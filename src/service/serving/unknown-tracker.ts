import { unknownRateLevel as driftEngineLevel } from '../../drift/levels.js';
import type { UnknownRateLevel } from '../../drift/types.js';
import { SERVICE_THRESHOLDS } from './thresholds.js';

export type { UnknownRateLevel };

/**
 * Unknown-server detection: the share of the servers forecast that are outside the model
 * vocabulary. It counts servers, not requests: each distinct server counts once per forecast
 * cycle (one load of the input windows, every `--refresh`), however many requests, dashboard views
 * or endpoints asked for it, so a page load cannot move the rate. Pending servers (not yet eligible
 * for training) are counted apart: no retrain could learn them yet. The rate covers the cycles
 * active in a rolling window and restarts when the model changes (a new vocabulary).
 */

/** Unknown-rate levels (< 5 % acceptable, 5–15 % warning, > 15 % critical), from the drift engine. */
export function unknownRateLevel(ratePct: number): UnknownRateLevel {
  return driftEngineLevel(ratePct, SERVICE_THRESHOLDS);
}

export interface UnknownPredictionStats {
  /** Unknown servers, summed over the cycles in the window. */
  unknown: number;
  /** Servers forecast (pending ones excluded), summed over the cycles in the window. */
  total: number;
  /** Pending servers forecast, summed over the cycles in the window (in neither count above). */
  pending: number;
  window_seconds: number;
  rate_pct: number;
  level: UnknownRateLevel;
  /** Distinct unknown servers in the window, sorted (at most `maxServers`). */
  servers: string[];
  /** Distinct pending servers in the window, sorted (at most `maxServers`). */
  pendingServers: string[];
}

export const DEFAULT_UNKNOWN_WINDOW_SECONDS = 3600;
/** Cycles kept at most, whatever the window (a 1 s refresh over a day would be 86,400). */
const MAX_CYCLES = 1440;

interface Cycle {
  cycle: number;
  /** Last time a forecast of this cycle was recorded (ms). */
  lastAt: number;
  /** Servers already counted in this cycle; dropped once two newer cycles exist. */
  seen: Set<string> | null;
  total: number;
  unknown: number;
  pending: number;
  unknownServers: Set<string>;
  pendingServers: Set<string>;
}

export class UnknownPredictionTracker {
  /** Oldest first. */
  private cycles: Cycle[] = [];

  constructor(
    readonly windowSeconds = DEFAULT_UNKNOWN_WINDOW_SECONDS,
    private readonly now: () => number = Date.now,
    private readonly maxServers = 1000,
  ) {
    if (!(windowSeconds > 0)) throw new Error('unknown-prediction window must be positive');
  }

  /** Records a forecast of `server` in forecast cycle `cycle`; repeats within a cycle count once. */
  record(cycle: number, server: string, known: boolean, pending = false): void {
    const entry = this.cycleFor(cycle);
    if (entry === null) return;
    entry.lastAt = this.now();
    if (entry.seen === null || entry.seen.has(server)) return;
    entry.seen.add(server);
    if (pending) {
      entry.pending++;
      if (entry.pendingServers.size < this.maxServers) entry.pendingServers.add(server);
      return;
    }
    entry.total++;
    if (!known) {
      entry.unknown++;
      if (entry.unknownServers.size < this.maxServers) entry.unknownServers.add(server);
    }
  }

  /** Forgets every cycle: the model changed, and with it the vocabulary. */
  reset(): void {
    this.cycles = [];
  }

  stats(): UnknownPredictionStats {
    this.prune();
    let unknown = 0;
    let total = 0;
    let pending = 0;
    const servers = new Set<string>();
    const pendingServers = new Set<string>();
    for (const c of this.cycles) {
      unknown += c.unknown;
      total += c.total;
      pending += c.pending;
      for (const s of c.unknownServers) if (servers.size < this.maxServers) servers.add(s);
      for (const s of c.pendingServers) if (pendingServers.size < this.maxServers) pendingServers.add(s);
    }
    // Rounded first, like the drift engine, so the reported rate and its level always agree.
    const ratePct = total === 0 ? 0 : Math.round((unknown / total) * 10_000) / 100;
    return {
      unknown,
      total,
      pending,
      window_seconds: this.windowSeconds,
      rate_pct: ratePct,
      level: unknownRateLevel(ratePct),
      servers: [...servers].sort(),
      pendingServers: [...pendingServers].sort(),
    };
  }

  /** The cycle's entry, created when new; null for a cycle already closed or forgotten. */
  private cycleFor(cycle: number): Cycle | null {
    for (let i = this.cycles.length - 1; i >= 0 && i >= this.cycles.length - 3; i--) {
      if (this.cycles[i]!.cycle === cycle) return this.cycles[i]!;
    }
    const newest = this.cycles.at(-1);
    if (newest !== undefined && newest.cycle > cycle) return null; // a request on an old snapshot
    const entry: Cycle = {
      cycle,
      lastAt: this.now(),
      seen: new Set(),
      total: 0,
      unknown: 0,
      pending: 0,
      unknownServers: new Set(),
      pendingServers: new Set(),
    };
    this.cycles.push(entry);
    const older = this.cycles.at(-3);
    if (older !== undefined) older.seen = null;
    this.prune();
    return entry;
  }

  private prune(): void {
    const oldest = this.now() - this.windowSeconds * 1000;
    let drop = 0;
    while (drop < this.cycles.length && this.cycles[drop]!.lastAt < oldest) drop++;
    drop = Math.max(drop, this.cycles.length - MAX_CYCLES);
    if (drop > 0) this.cycles.splice(0, drop);
  }
}
