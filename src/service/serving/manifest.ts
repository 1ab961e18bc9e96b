import { readManifest } from '../../fleet/manifest.js';
import type { ManifestServer } from './fleet.js';

/** The manifest's servers as the service needs them (name and profile); src/fleet owns the format. */
export async function readManifestServers(path: string): Promise<ManifestServer[]> {
  const manifest = await readManifest(path);
  return manifest.servers.map((s) => ({ name: s.name, profile: s.profile }));
}
