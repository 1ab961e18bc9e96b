import { MS_PER_DAY, MS_PER_HOUR } from '../metrics/contract.js';
import type { InvalidProfileRows, RejectedServer, ServerSummary } from '../metrics/summary.js';
import { assessEligibility, type EligibilityPolicy } from './eligibility.js';
import { classifySilence, serverStatus, type ServerStatus, type StatusPolicy } from './status.js';

/** One server as the fleet policy sees it at `now`. */
export interface FleetServer {
  name: string;
  profile: string;
  firstSeen: Date;
  lastSeen: Date;
  samples: number;
  status: ServerStatus;
  /** asOf − last_seen in days (0 when the last sample is later); asOf: see CollectionState. */
  daysSilent: number;
  historyDays: number;
  eligible: boolean;
  eligibleAt: Date | null;
  pendingReasons: string[];
  /**
   * Present when `profile` (its newest rows') is not settled: another valid profile was seen
   * less than minimum_history_days before its last sample. Absent: settled (docs/fleet.md).
   */
  profileUnsettled?: UnsettledProfile;
  /** Present when some rows have an invalid profile: they never decide `profile`. */
  invalidProfile?: InvalidProfileRows;
}

export interface UnsettledProfile {
  /** The other profiles seen, sorted. */
  others: string[];
  /** Only `profile` since this instant (the other profiles' newest sample). */
  since: Date;
  /** When `profile` becomes settled if the server keeps reporting it. */
  settlesAt: Date;
}

/** A server whose name is valid but none of whose rows has a valid profile, by status. */
export interface UnprofiledServer {
  name: string;
  status: ServerStatus;
  problem: string;
  samples: number;
}

export interface FleetPolicy {
  status: StatusPolicy;
  eligibility: EligibilityPolicy;
}

/** Whether the source as a whole is still being collected (docs/fleet.md, "Stale source"). */
export interface CollectionState {
  /** 'stale': even the newest sample of any server is at least offline_hours old. */
  status: 'reporting' | 'stale' | 'empty';
  /** The newest sample of any server (null: no server). */
  newest: Date | null;
  /** now − newest, in hours (0 when the newest sample is in the future). */
  silentHours: number;
  /**
   * The instant statuses are judged at: `now`, or the newest sample when the source is stale, so
   * that a stopped collector does not list every server offline (the data says nothing about
   * them after it stopped); servers silent before the collector stopped are still offline.
   */
  asOf: Date;
}

/** Pure: the collection state of a fleet at `now` (one rule for fleet status and drift). */
export function collectionState(
  servers: ReadonlyArray<{ lastSeen: Date }>,
  now: Date,
  policy: StatusPolicy,
): CollectionState {
  if (servers.length === 0) return { status: 'empty', newest: null, silentHours: 0, asOf: now };
  const newestMs = Math.max(...servers.map((s) => s.lastSeen.getTime()));
  const silentMs = Math.max(0, now.getTime() - newestMs);
  const stale = classifySilence(silentMs, policy) !== 'active';
  return {
    status: stale ? 'stale' : 'reporting',
    newest: new Date(newestMs),
    silentHours: silentMs / MS_PER_HOUR,
    asOf: stale ? new Date(newestMs) : now,
  };
}

/**
 * Pure: status and training eligibility of every summarized server. Statuses are judged as of
 * collectionState(...).asOf: now, or the newest sample when the whole source is stale.
 */
export function assessFleet(
  servers: readonly ServerSummary[],
  now: Date,
  policy: FleetPolicy,
): FleetServer[] {
  const asOf = collectionState(servers, now, policy.status).asOf;
  return servers.map((server): FleetServer => {
    const eligibility = assessEligibility(server, policy.eligibility);
    const unsettled = unsettledProfile(server, policy.eligibility.minimumHistoryDays);
    return {
      name: server.name,
      profile: server.profile,
      firstSeen: server.firstSeen,
      lastSeen: server.lastSeen,
      samples: server.samples,
      status: serverStatus(server.lastSeen, asOf, policy.status),
      daysSilent: Math.max(0, asOf.getTime() - server.lastSeen.getTime()) / MS_PER_DAY,
      historyDays: eligibility.historyDays,
      eligible: eligibility.eligible,
      eligibleAt: eligibility.eligibleAt,
      pendingReasons: eligibility.reasons,
      ...(unsettled ? { profileUnsettled: unsettled } : {}),
      ...(server.invalidProfile ? { invalidProfile: server.invalidProfile } : {}),
    };
  });
}

/**
 * The profile rule: a server's profile is the one of its newest rows, and it is *settled* once it
 * has been the only valid profile of its rows for minimum_history_days (the history a new server
 * needs before the model learns it). Undefined when settled.
 */
function unsettledProfile(server: ServerSummary, settleDays: number): UnsettledProfile | undefined {
  const other = server.otherProfileSeen;
  if (other === null) return undefined;
  const settlesAt = new Date(other.lastSeen.getTime() + settleDays * MS_PER_DAY);
  if (server.lastSeen.getTime() >= settlesAt.getTime()) return undefined;
  return { others: other.profiles, since: other.lastSeen, settlesAt };
}

/** Status of the servers with a valid name and no row of a valid profile (summary.rejected). */
export function assessUnprofiled(
  rejected: readonly RejectedServer[],
  now: Date,
  status: StatusPolicy,
): UnprofiledServer[] {
  return rejected.flatMap((r) =>
    r.reason === 'profile' && r.value !== null && r.lastSeen !== null
      ? [
          {
            name: r.value,
            status: serverStatus(r.lastSeen, now, status),
            problem: r.problem,
            samples: r.samples,
          },
        ]
      : [],
  );
}

export interface StatusCounts {
  total: number;
  active: number;
  offline: number;
  sunset_candidate: number;
  sunset_confirmed: number;
}

export function countStatuses(servers: readonly FleetServer[]): StatusCounts {
  const counts: StatusCounts = {
    total: servers.length,
    active: 0,
    offline: 0,
    sunset_candidate: 0,
    sunset_confirmed: 0,
  };
  for (const server of servers) counts[server.status]++;
  return counts;
}

/** The servers the next model should learn: eligible for training and not sunset-confirmed. */
export function isTrainable(server: FleetServer): boolean {
  return server.eligible && server.status !== 'sunset_confirmed';
}

/** Rounds to 2 decimals for reports (drift and rates are compared on these rounded values). */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** An untrusted value cut to 256 characters for reports (it is JSON-escaped, never interpolated). */
export function boundedValue(value: string | null): string | null {
  return value === null || value.length <= 256 ? value : `${value.slice(0, 256)}…`;
}
