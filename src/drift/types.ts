import { z } from 'zod';
import { Manifest } from '../fleet/manifest.js';
import { ServerName } from '../registry/schemas.js';

/**
 * The JSON `fleetcast drift --json` prints; field names are snake_case as printed. Each type is
 * inferred from its schema, so the engine's report and a report read back from a file (the drift
 * action's `report` input, through `DriftReport.parse`) are one type. Objects drop keys they do not
 * know when parsed, so a report from a newer engine still reads.
 */

export const PRIORITIES = ['none', 'low', 'medium', 'high'] as const;
export const Priority = z.enum(PRIORITIES);
export type Priority = z.infer<typeof Priority>;

export const UnknownRateLevel = z.enum(['acceptable', 'warning', 'critical']);
export type UnknownRateLevel = z.infer<typeof UnknownRateLevel>;

const Count = z.number().int().nonnegative();
const Timestamp = z.iso.datetime({ offset: true });

export const NewServer = z.object({
  name: ServerName,
  profile: z.string(),
  first_seen: Timestamp,
  samples: Count,
  history_days: z.number(),
});
export type NewServer = z.infer<typeof NewServer>;

export const SunsetServer = z.object({
  name: ServerName,
  /** null when the model's server has no metrics at all in the source. */
  profile: z.string().nullable(),
  last_seen: Timestamp.nullable(),
  days_silent: z.number().nullable(),
  /** 'absent': no metrics in the source at all. */
  status: z.enum(['sunset_confirmed', 'absent']),
});
export type SunsetServer = z.infer<typeof SunsetServer>;

/** A server that is silent but not yet gone (offline or sunset candidate): listed, not counted. */
export const SilentServer = z.object({
  name: ServerName,
  profile: z.string(),
  last_seen: Timestamp,
  days_silent: z.number(),
  status: z.enum(['offline', 'sunset_candidate']),
  in_model: z.boolean(),
});
export type SilentServer = z.infer<typeof SilentServer>;

export const PendingServer = z.object({
  name: ServerName,
  profile: z.string(),
  first_seen: Timestamp,
  samples: Count,
  history_days: z.number(),
  /** When it becomes eligible if it keeps reporting; null when that cannot be estimated. */
  eligible_at: Timestamp.nullable(),
  reason: z.string(),
});
export type PendingServer = z.infer<typeof PendingServer>;

export const UnknownRate = z.object({
  unknown: Count,
  total: Count,
  rate_pct: z.number().min(0),
  level: UnknownRateLevel,
  source: z.string(),
});
export type UnknownRate = z.infer<typeof UnknownRate>;

export const DriftThresholds = z.object({
  low_drift_pct: z.number(),
  medium_drift_pct: z.number(),
  high_drift_above_pct: z.number(),
  unknown_warning_pct: z.number(),
  unknown_critical_above_pct: z.number(),
  max_model_age_days: z.number(),
  offline_hours: z.number(),
  sunset_candidate_days: z.number(),
  sunset_confirmed_days: z.number(),
  minimum_history_days: z.number(),
  minimum_samples: z.number(),
});
export type DriftThresholds = z.infer<typeof DriftThresholds>;

export const DriftDecision = z.object({
  retrain: z.boolean(),
  priority: Priority,
  /** Full sentences with the numbers behind them; they become the pull request body. */
  reasons: z.array(z.string()),
});
export type DriftDecision = z.infer<typeof DriftDecision>;

export const ManifestDelta = z.object({
  /** The manifest file compared against, or null when none was given. */
  compared_with: z.string().nullable(),
  /** Whether writing `manifest` would change that file (null without a file to compare). */
  changed: z.boolean().nullable(),
  added: z.array(ServerName),
  removed: z.array(ServerName),
  profile_changed: z.array(ServerName),
});
export type ManifestDelta = z.infer<typeof ManifestDelta>;

export const DriftReport = z.object({
  format_version: z.literal(1),
  generated_at: Timestamp,
  now: Timestamp,
  source: z.string(),
  config_source: z.string(),
  model: z.object({
    id: z.string().nullable(),
    source: z.string(),
    deployed: z.boolean(),
    servers: Count,
    trained_at: Timestamp.nullable(),
    /** End of the data the model was trained on (training_info.json data.end); null if not recorded. */
    data_end: Timestamp.nullable().default(null),
    /** As of `now`, from data_end (else from trained_at); null when unknown or after now. */
    age_days: z.number().nullable(),
    /** Reports written before these fields existed read as null. */
    age_from: z.enum(['data_end', 'created_at']).nullable().default(null),
    /** Why the age is not the plain time since data_end (fallback, or data after now). */
    age_note: z.string().nullable().default(null),
  }),
  fleet: z.object({
    total: Count,
    active: Count,
    offline: Count,
    sunset_candidate: Count,
    sunset_confirmed: Count,
    eligible: Count,
    pending: Count,
    rejected: Count,
  }),
  /** (new + sunset) / servers in the model × 100, 2 decimals; 0 when the model has no servers. */
  drift_pct: z.number().min(0),
  drift_priority: Priority,
  /** Overall priority (same as decision.priority). */
  priority: Priority,
  new_servers: z.array(NewServer),
  sunset_servers: z.array(SunsetServer),
  silent_servers: z.array(SilentServer),
  pending_servers: z.array(PendingServer),
  rejected_servers: z.array(z.object({ value: z.string().nullable(), problem: z.string(), samples: Count })),
  unknown_rate: UnknownRate.nullable(),
  model_age_days: z.number().nullable(),
  stale: z.boolean(),
  thresholds: DriftThresholds,
  decision: DriftDecision,
  /** Same as decision.reasons. */
  reasons: z.array(z.string()),
  manifest: Manifest,
  manifest_change: ManifestDelta,
  warnings: z.array(z.string()),
});
export type DriftReport = z.infer<typeof DriftReport>;
