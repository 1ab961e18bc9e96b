import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from '../core/atomic-write.js';
import { InputError } from '../core/errors.js';
import { PROFILE_PATTERN } from '../metrics/contract.js';
import { compareNames } from '../core/server-name.js';
import { ServerName } from '../registry/schemas.js';
import { isTrainable, type FleetServer } from './assess.js';

/**
 * fleet/manifest.json: the servers the model should know. Only stable attributes (name, profile,
 * first_seen), sorted by name, one server per line, so the file changes only when membership
 * does and a pull request diff shows exactly which servers came and went.
 *
 * Membership rule: a server is in the manifest when its metrics name is valid, it is eligible for
 * training (≥ minimum_history_days of history and ≥ minimum_samples samples) and it is not
 * sunset-confirmed (silent ≥ sunset_confirmed_days days) at `now`. A server already listed keeps
 * its first_seen, because the metrics window rolls forward and would otherwise move it.
 */

const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine((text) => new Date(`${text}T00:00:00Z`).toISOString().startsWith(text), 'is not a real date');

export const ManifestServer = z.strictObject({
  name: ServerName,
  profile: z.string().regex(PROFILE_PATTERN, `must match ${PROFILE_PATTERN.source}`),
  first_seen: IsoDate,
});
export type ManifestServer = z.infer<typeof ManifestServer>;

export const Manifest = z
  .strictObject({ format_version: z.literal(1), servers: z.array(ManifestServer) })
  .superRefine((manifest, ctx) => {
    manifest.servers.forEach((server, i) => {
      const previous = manifest.servers[i - 1];
      if (previous === undefined) return;
      if (previous.name === server.name)
        ctx.addIssue({
          code: 'custom',
          path: ['servers', i, 'name'],
          message: `duplicate server ${server.name}`,
        });
      else if (compareNames(previous.name, server.name) > 0)
        ctx.addIssue({
          code: 'custom',
          path: ['servers', i, 'name'],
          message: `not sorted: ${server.name} comes after ${previous.name}`,
        });
    });
  });
export type Manifest = z.infer<typeof Manifest>;

export const EMPTY_MANIFEST: Manifest = { format_version: 1, servers: [] };

/** Parses manifest text; errors name the file, the row (servers[i]) and the field. */
export function parseManifest(text: string, where: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(
      `${where}: not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const result = Manifest.safeParse(json);
  if (result.success) return result.data;
  const lines = result.error.issues.slice(0, 20).map((issue) => {
    const path = issue.path
      .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
      .join('');
    return `${where}: ${path || '(root)'}: ${issue.message}`;
  });
  const more = result.error.issues.length - lines.length;
  throw new InputError(lines.join('\n') + (more > 0 ? `\n${where}: … and ${more} more problems` : ''));
}

export async function readManifest(path: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${path}: cannot read manifest (${code ?? String(error)})`, { cause: error });
  }
  return parseManifest(text, path);
}

/** Reads the manifest, or returns null when the file does not exist yet. */
export async function readManifestIfExists(path: string): Promise<Manifest | null> {
  try {
    return await readManifest(path);
  } catch (error) {
    if (error instanceof InputError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
      return null;
    throw error;
  }
}

/** Canonical text: sorted, one server object per line, trailing newline. Pure. */
export function renderManifest(manifest: Manifest): string {
  const servers = [...manifest.servers].sort((a, b) => compareNames(a.name, b.name));
  const lines = servers.map(
    (s) => `    ${JSON.stringify({ name: s.name, profile: s.profile, first_seen: s.first_seen })}`,
  );
  const list = lines.length === 0 ? '[]' : `[\n${lines.join(',\n')}\n  ]`;
  return `{\n  "format_version": ${manifest.format_version},\n  "servers": ${list}\n}\n`;
}

export async function writeManifest(path: string, manifest: Manifest): Promise<void> {
  await writeFileAtomic(path, renderManifest(Manifest.parse(manifest)));
}

export interface ManifestChange {
  manifest: Manifest;
  added: ManifestServer[];
  removed: ManifestServer[];
  /** Servers whose profile changed: [before, after]. */
  changed: Array<[ManifestServer, ManifestServer]>;
}

/** The manifest the fleet implies, keeping first_seen of servers already listed. Pure. */
export function proposeManifest(current: Manifest | null, fleet: readonly FleetServer[]): ManifestChange {
  const before = new Map((current?.servers ?? []).map((s) => [s.name, s]));
  const servers: ManifestServer[] = [];
  const added: ManifestServer[] = [];
  const changed: Array<[ManifestServer, ManifestServer]> = [];
  for (const server of fleet) {
    if (!isTrainable(server)) continue;
    const old = before.get(server.name);
    const entry: ManifestServer = {
      name: server.name,
      profile: server.profile,
      first_seen: old?.first_seen ?? server.firstSeen.toISOString().slice(0, 10),
    };
    servers.push(entry);
    if (old === undefined) added.push(entry);
    else if (old.profile !== entry.profile) changed.push([old, entry]);
  }
  servers.sort((a, b) => compareNames(a.name, b.name));
  const kept = new Set(servers.map((s) => s.name));
  const removed = [...before.values()].filter((s) => !kept.has(s.name));
  return { manifest: { format_version: 1, servers }, added, removed, changed };
}
