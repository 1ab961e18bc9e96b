import type { Manifest } from '../fleet/manifest.js';

/** The JSON `fleetcast drift --json` prints; field names are snake_case as printed. */

export type Priority = 'none' | 'low' | 'medium' | 'high';
export const PRIORITIES: readonly Priority[] = ['none', 'low', 'medium', 'high'];
export type UnknownRateLevel = 'acceptable' | 'warning' | 'critical';

export interface NewServer {
  name: string;
  profile: string;
  first_seen: string;
  samples: number;
  history_days: number;
}

export interface SunsetServer {
  name: string;
  /** null when the model's server has no metrics at all in the source. */
  profile: string | null;
  last_seen: string | null;
  days_silent: number | null;
  /** 'absent': no metrics in the source at all. */
  status: 'sunset_confirmed' | 'absent';
}

/** A server that is silent but not yet gone (offline or sunset candidate): listed, not counted. */
export interface SilentServer {
  name: string;
  profile: string;
  last_seen: string;
  days_silent: number;
  status: 'offline' | 'sunset_candidate';
  in_model: boolean;
}

export interface PendingServer {
  name: string;
  profile: string;
  first_seen: string;
  samples: number;
  history_days: number;
  /** When it becomes eligible if it keeps reporting; null when that cannot be estimated. */
  eligible_at: string | null;
  reason: string;
}

export interface UnknownRate {
  unknown: number;
  total: number;
  rate_pct: number;
  level: UnknownRateLevel;
  source: string;
}

export interface DriftThresholds {
  low_drift_pct: number;
  medium_drift_pct: number;
  high_drift_above_pct: number;
  unknown_warning_pct: number;
  unknown_critical_above_pct: number;
  max_model_age_days: number;
  offline_hours: number;
  sunset_candidate_days: number;
  sunset_confirmed_days: number;
  minimum_history_days: number;
  minimum_samples: number;
}

export interface DriftDecision {
  retrain: boolean;
  priority: Priority;
  /** Full sentences with the numbers behind them; they become the pull request body. */
  reasons: string[];
}

export interface ManifestDelta {
  /** The manifest file compared against, or null when none was given. */
  compared_with: string | null;
  /** Whether writing `manifest` would change that file (null without a file to compare). */
  changed: boolean | null;
  added: string[];
  removed: string[];
  profile_changed: string[];
}

export interface DriftReport {
  format_version: 1;
  generated_at: string;
  now: string;
  source: string;
  config_source: string;
  model: {
    id: string | null;
    source: string;
    deployed: boolean;
    servers: number;
    trained_at: string | null;
    age_days: number | null;
  };
  fleet: {
    total: number;
    active: number;
    offline: number;
    sunset_candidate: number;
    sunset_confirmed: number;
    eligible: number;
    pending: number;
    rejected: number;
  };
  /** (new + sunset) / servers in the model × 100, 2 decimals; 0 when the model has no servers. */
  drift_pct: number;
  drift_priority: Priority;
  /** Overall priority (same as decision.priority). */
  priority: Priority;
  new_servers: NewServer[];
  sunset_servers: SunsetServer[];
  silent_servers: SilentServer[];
  pending_servers: PendingServer[];
  rejected_servers: Array<{ value: string | null; problem: string; samples: number }>;
  unknown_rate: UnknownRate | null;
  model_age_days: number | null;
  stale: boolean;
  thresholds: DriftThresholds;
  decision: DriftDecision;
  /** Same as decision.reasons. */
  reasons: string[];
  manifest: Manifest;
  manifest_change: ManifestDelta;
  warnings: string[];
}
