import { round2 } from '../fleet/assess.js';
import type { RetrainConfig } from '../config/retrain-config.js';
import {
  PRIORITIES,
  type DriftThresholds,
  type Priority,
  type UnknownRate,
  type UnknownRateLevel,
} from './types.js';
import type { UnknownCounts } from './unknown-rate.js';

/**
 * The drift engine's numbers and levels (docs/drift.md): drift % = (new + sunset) / servers in
 * the vocabulary × 100, rounded to 2 decimals; every threshold is compared with that rounded
 * value, so the report and the decision agree.
 */

/** The design's calculate_fleet_drift: sets in, percentage (2 decimals) out. */
export function fleetDrift(
  current: Iterable<string>,
  model: Iterable<string>,
): {
  drift_pct: number;
  new_servers: string[];
  sunset_servers: string[];
  total_current: number;
  total_model: number;
} {
  const currentSet = new Set(current);
  const modelSet = new Set(model);
  const newServers = [...currentSet].filter((s) => !modelSet.has(s)).sort();
  const sunsetServers = [...modelSet].filter((s) => !currentSet.has(s)).sort();
  return {
    drift_pct: driftPercent(newServers.length + sunsetServers.length, modelSet.size),
    new_servers: newServers,
    sunset_servers: sunsetServers,
    total_current: currentSet.size,
    total_model: modelSet.size,
  };
}

export function driftPercent(changed: number, known: number): number {
  return known === 0 ? 0 : round2((changed / known) * 100);
}

/** Low from 10 % (inclusive), medium from 20 % to 35 % (both inclusive), high above 35 %. */
export function driftPriority(driftPct: number, t: DriftThresholds): Priority {
  if (driftPct > t.high_drift_above_pct) return 'high';
  if (driftPct >= t.medium_drift_pct) return 'medium';
  if (driftPct >= t.low_drift_pct) return 'low';
  return 'none';
}

/** Acceptable under 5 %, warning from 5 % to 15 % (both inclusive), critical above 15 %. */
export function unknownRateLevel(ratePct: number, t: DriftThresholds): UnknownRateLevel {
  if (ratePct > t.unknown_critical_above_pct) return 'critical';
  if (ratePct >= t.unknown_warning_pct) return 'warning';
  return 'acceptable';
}

export function unknownRate(counts: UnknownCounts, t: DriftThresholds): UnknownRate {
  const ratePct = counts.total === 0 ? 0 : round2((counts.unknown / counts.total) * 100);
  return {
    unknown: counts.unknown,
    total: counts.total,
    rate_pct: ratePct,
    level: unknownRateLevel(ratePct, t),
    source: counts.source,
  };
}

export function thresholdsOf(config: RetrainConfig): DriftThresholds {
  return {
    low_drift_pct: config.low_drift_pct,
    medium_drift_pct: config.medium_drift_pct,
    high_drift_above_pct: config.high_drift_above_pct,
    unknown_warning_pct: config.unknown_warning_pct,
    unknown_critical_above_pct: config.unknown_critical_above_pct,
    max_model_age_days: config.max_model_age_days,
    offline_hours: config.offline_hours,
    sunset_candidate_days: config.sunset_candidate_days,
    sunset_confirmed_days: config.sunset_confirmed_days,
    minimum_history_days: config.minimum_history_days,
    minimum_samples: config.minimum_samples,
  };
}

export function maxPriority(...priorities: Priority[]): Priority {
  return priorities.reduce<Priority>(
    (a, b) => (PRIORITIES.indexOf(b) > PRIORITIES.indexOf(a) ? b : a),
    'none',
  );
}
