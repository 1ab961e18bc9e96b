import { readManifest } from '../../fleet/manifest.js';
import type { ManifestEntry } from './fleet.js';

/** The manifest's servers; src/fleet owns the format and its validation. */
export async function readManifestServers(path: string): Promise<ManifestEntry[]> {
  return (await readManifest(path)).servers;
}
