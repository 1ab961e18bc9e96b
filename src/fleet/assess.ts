import { MS_PER_DAY } from '../metrics/contract.js';
import type { ServerSummary } from '../metrics/summary.js';
import { assessEligibility, type EligibilityPolicy } from './eligibility.js';
import { serverStatus, type ServerStatus, type StatusPolicy } from './status.js';

/** One server as the fleet policy sees it at `now`. */
export interface FleetServer {
  name: string;
  profile: string;
  firstSeen: Date;
  lastSeen: Date;
  samples: number;
  status: ServerStatus;
  /** now − last_seen in days (0 when the last sample is in the future). */
  daysSilent: number;
  historyDays: number;
  eligible: boolean;
  eligibleAt: Date | null;
  pendingReasons: string[];
}

export interface FleetPolicy {
  status: StatusPolicy;
  eligibility: EligibilityPolicy;
}

/** Pure: status and training eligibility of every summarized server. */
export function assessFleet(
  servers: readonly ServerSummary[],
  now: Date,
  policy: FleetPolicy,
): FleetServer[] {
  return servers.map((server) => {
    const eligibility = assessEligibility(server, policy.eligibility);
    return {
      name: server.name,
      profile: server.profile,
      firstSeen: server.firstSeen,
      lastSeen: server.lastSeen,
      samples: server.samples,
      status: serverStatus(server.lastSeen, now, policy.status),
      daysSilent: Math.max(0, now.getTime() - server.lastSeen.getTime()) / MS_PER_DAY,
      historyDays: eligibility.historyDays,
      eligible: eligibility.eligible,
      eligibleAt: eligibility.eligibleAt,
      pendingReasons: eligibility.reasons,
    };
  });
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
