import { MS_PER_DAY, MS_PER_HOUR } from '../metrics/contract.js';

/**
 * Fleet status from silence (time since a server's last sample), per the retrain policy:
 * offline after 24 h, sunset candidate after 7 days, sunset confirmed after 30 days.
 * Each bound is inclusive: exactly 24 h of silence is offline.
 */
export type ServerStatus = 'active' | 'offline' | 'sunset_candidate' | 'sunset_confirmed';
export const SERVER_STATUSES: readonly ServerStatus[] = [
  'active',
  'offline',
  'sunset_candidate',
  'sunset_confirmed',
];

export interface StatusPolicy {
  offlineHours: number;
  sunsetCandidateDays: number;
  sunsetConfirmedDays: number;
}

export const DEFAULT_STATUS_POLICY: StatusPolicy = {
  offlineHours: 24,
  sunsetCandidateDays: 7,
  sunsetConfirmedDays: 30,
};

export function classifySilence(silentMs: number, policy: StatusPolicy): ServerStatus {
  if (silentMs >= policy.sunsetConfirmedDays * MS_PER_DAY) return 'sunset_confirmed';
  if (silentMs >= policy.sunsetCandidateDays * MS_PER_DAY) return 'sunset_candidate';
  if (silentMs >= policy.offlineHours * MS_PER_HOUR) return 'offline';
  return 'active';
}

/** Status of a server last seen at `lastSeen` (a sample in the future counts as active). */
export function serverStatus(lastSeen: Date, now: Date, policy: StatusPolicy): ServerStatus {
  return classifySilence(Math.max(0, now.getTime() - lastSeen.getTime()), policy);
}

/** Throws when thresholds are not increasing, which would make a status unreachable. */
export function statusPolicyProblem(policy: StatusPolicy): string | undefined {
  const offlineDays = policy.offlineHours / 24;
  if (!(policy.offlineHours > 0)) return 'offline_hours must be > 0';
  if (!(policy.sunsetCandidateDays > offlineDays))
    return `sunset_candidate_days (${policy.sunsetCandidateDays}) must exceed offline_hours (${policy.offlineHours}) in days`;
  if (!(policy.sunsetConfirmedDays > policy.sunsetCandidateDays))
    return `sunset_confirmed_days (${policy.sunsetConfirmedDays}) must exceed sunset_candidate_days (${policy.sunsetCandidateDays})`;
  return undefined;
}
