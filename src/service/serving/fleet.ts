import type { RecentWindow } from '../../features/windows.js';
import type { FleetServer } from '../serving-model.js';

/** A manifest entry as the service needs it (the manifest format belongs to src/fleet). */
export interface ManifestServer {
  name: string;
  profile: string | null;
}

/**
 * The fleet the service forecasts: every manifest server, plus servers that report metrics but
 * are not (yet) in the manifest, so new servers show up (flagged unknown) instead of vanishing.
 * Without a manifest the fleet is whatever reports metrics. Sorted by name.
 */
export function mergeFleet(
  manifest: readonly ManifestServer[] | null,
  windows: ReadonlyMap<string, RecentWindow>,
): FleetServer[] {
  const fleet = new Map<string, FleetServer>();
  for (const server of manifest ?? []) {
    fleet.set(server.name, { name: server.name, profile: server.profile, inManifest: true });
  }
  for (const [name, window] of windows) {
    const listed = fleet.get(name);
    if (listed === undefined) fleet.set(name, { name, profile: window.profile || null, inManifest: false });
    else if (listed.profile === null && window.profile) listed.profile = window.profile;
  }
  return [...fleet.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
