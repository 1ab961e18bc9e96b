import { unknownRateLevel as driftEngineLevel } from '../../drift/levels.js';
import type { UnknownRateLevel } from '../../drift/types.js';
import { SERVICE_THRESHOLDS } from './thresholds.js';

export type { UnknownRateLevel };

/**
 * Unknown-server detection: predictions for servers outside the model vocabulary,
 * counted over a rolling window in fixed buckets, so memory stays constant under any load.
 */

/** Unknown-rate levels (< 5 % acceptable, 5–15 % warning, > 15 % critical), from the drift engine. */
export function unknownRateLevel(ratePct: number): UnknownRateLevel {
  return driftEngineLevel(ratePct, SERVICE_THRESHOLDS);
}

export interface UnknownPredictionStats {
  unknown: number;
  total: number;
  window_seconds: number;
  rate_pct: number;
  level: UnknownRateLevel;
  /** Distinct unknown servers predicted in the window, sorted (at most `maxServers`). */
  servers: string[];
}

export const DEFAULT_UNKNOWN_WINDOW_SECONDS = 3600;
const BUCKETS = 60;

interface Bucket {
  /** Bucket number (time / bucket length); stale buckets are reset on use. */
  slot: number;
  unknown: number;
  total: number;
  servers: Set<string>;
}

export class UnknownPredictionTracker {
  private readonly bucketMs: number;
  private readonly buckets: Bucket[];

  constructor(
    readonly windowSeconds = DEFAULT_UNKNOWN_WINDOW_SECONDS,
    private readonly now: () => number = Date.now,
    private readonly maxServers = 1000,
  ) {
    if (!(windowSeconds > 0)) throw new Error('unknown-prediction window must be positive');
    this.bucketMs = (windowSeconds * 1000) / BUCKETS;
    this.buckets = Array.from({ length: BUCKETS }, () => ({
      slot: -1,
      unknown: 0,
      total: 0,
      servers: new Set(),
    }));
  }

  record(server: string, known: boolean): void {
    const bucket = this.bucketFor(Math.floor(this.now() / this.bucketMs));
    bucket.total++;
    if (!known) {
      bucket.unknown++;
      if (bucket.servers.size < this.maxServers) bucket.servers.add(server);
    }
  }

  stats(): UnknownPredictionStats {
    const current = Math.floor(this.now() / this.bucketMs);
    let unknown = 0;
    let total = 0;
    const servers = new Set<string>();
    for (const bucket of this.buckets) {
      if (bucket.slot <= current - BUCKETS || bucket.slot > current) continue;
      unknown += bucket.unknown;
      total += bucket.total;
      for (const s of bucket.servers) if (servers.size < this.maxServers) servers.add(s);
    }
    // Rounded first, like the drift engine, so the reported rate and its level always agree.
    const ratePct = total === 0 ? 0 : Math.round((unknown / total) * 10_000) / 100;
    return {
      unknown,
      total,
      window_seconds: this.windowSeconds,
      rate_pct: ratePct,
      level: unknownRateLevel(ratePct),
      servers: [...servers].sort(),
    };
  }

  private bucketFor(slot: number): Bucket {
    const bucket = this.buckets[slot % BUCKETS]!;
    if (bucket.slot !== slot) {
      bucket.slot = slot;
      bucket.unknown = 0;
      bucket.total = 0;
      bucket.servers.clear();
    }
    return bucket;
  }
}
