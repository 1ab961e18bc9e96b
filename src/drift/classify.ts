import { countStatuses, round2, type FleetServer } from '../fleet/assess.js';
import type { DriftReport, NewServer, PendingServer, SilentServer, SunsetServer } from './types.js';

/**
 * Which servers count as drift (docs/drift.md):
 * - new server: in the metrics, not in the model's vocabulary, eligible for training and not
 *   sunset-confirmed; not yet eligible → pending (listed with eligible_at, not counted).
 * - sunset server: in the vocabulary and sunset-confirmed, or with no metrics in the source.
 * - silent server: offline or sunset candidate; listed, not counted.
 */
export interface ServerClasses {
  newServers: NewServer[];
  pending: PendingServer[];
  silent: SilentServer[];
  sunset: SunsetServer[];
}

const iso = (d: Date): string => d.toISOString();

export function classifyServers(
  fleet: readonly FleetServer[],
  vocabulary: ReadonlySet<string>,
): ServerClasses {
  const newServers: NewServer[] = [];
  const pending: PendingServer[] = [];
  const silent: SilentServer[] = [];
  for (const s of fleet) {
    if (s.status === 'offline' || s.status === 'sunset_candidate')
      silent.push({
        name: s.name,
        profile: s.profile,
        last_seen: iso(s.lastSeen),
        days_silent: round2(s.daysSilent),
        status: s.status,
        in_model: vocabulary.has(s.name),
      });
    if (vocabulary.has(s.name) || s.status === 'sunset_confirmed') continue;
    const common = {
      name: s.name,
      profile: s.profile,
      first_seen: iso(s.firstSeen),
      samples: s.samples,
      history_days: round2(s.historyDays),
    };
    if (s.eligible) newServers.push(common);
    else
      pending.push({
        ...common,
        eligible_at: s.eligibleAt === null ? null : iso(s.eligibleAt),
        reason: s.pendingReasons.join('; '),
      });
  }
  return { newServers, pending, silent, sunset: sunsetServers(fleet, vocabulary) };
}

function sunsetServers(fleet: readonly FleetServer[], vocabulary: ReadonlySet<string>): SunsetServer[] {
  const byName = new Map(fleet.map((s) => [s.name, s]));
  return [...vocabulary].sort().flatMap((name): SunsetServer[] => {
    const s = byName.get(name);
    if (s === undefined)
      return [{ name, profile: null, last_seen: null, days_silent: null, status: 'absent' }];
    if (s.status !== 'sunset_confirmed') return [];
    return [
      {
        name,
        profile: s.profile,
        last_seen: iso(s.lastSeen),
        days_silent: round2(s.daysSilent),
        status: 'sunset_confirmed',
      },
    ];
  });
}

/** The report's fleet counts: every status, eligible, pending and rejected. */
export function fleetCounts(
  fleet: readonly FleetServer[],
  pending: number,
  rejected: number,
): DriftReport['fleet'] {
  return { ...countStatuses(fleet), eligible: fleet.filter((s) => s.eligible).length, pending, rejected };
}
