import type { RecentWindow } from '../../features/windows.js';
import type { ManifestServer } from '../../fleet/manifest.js';

/** What the service reads from a manifest entry (src/fleet owns the format). */
export type ManifestEntry = Pick<ManifestServer, 'name' | 'profile'>;

/** A server the service is expected to forecast: listed in the manifest, or reporting metrics. */
export interface FleetMember {
  name: string;
  /** Role from the manifest or the metrics; null when neither names one. */
  profile: string | null;
  /** Listed in the fleet manifest (otherwise seen only in the metrics). */
  inManifest: boolean;
  /**
   * Why a server outside the manifest is not eligible for training yet (too little history or too
   * few samples), or null. A pending server is forecast, flagged, and left out of the
   * unknown-prediction rate: no retrain could learn it yet.
   */
  pending: string | null;
}

/**
 * The fleet the service forecasts: every manifest server, plus servers that report metrics but
 * are not (yet) in the manifest, so new servers show up (flagged unknown) instead of vanishing.
 * Without a manifest the fleet is whatever reports metrics. Sorted by name.
 */
export function mergeFleet(
  manifest: readonly ManifestEntry[] | null,
  windows: ReadonlyMap<string, RecentWindow>,
  pending: ReadonlyMap<string, string> = new Map(),
): FleetMember[] {
  const fleet = new Map<string, FleetMember>();
  for (const server of manifest ?? []) {
    fleet.set(server.name, { name: server.name, profile: server.profile, inManifest: true, pending: null });
  }
  for (const [name, window] of windows) {
    if (!fleet.has(name))
      fleet.set(name, {
        name,
        profile: window.profile || null,
        inManifest: false,
        pending: pending.get(name) ?? null,
      });
  }
  return [...fleet.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
