import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from '../core/atomic-write.js';
import { InputError } from '../core/errors.js';
import { PROFILE_PATTERN } from '../metrics/contract.js';
import { compareNames } from '../core/server-name.js';
import { ServerName } from '../registry/schemas.js';
import { isTrainable, type FleetServer, type UnprofiledServer } from './assess.js';

/**
 * fleet/manifest.json: the servers the model should know. Only stable attributes (name, profile,
 * first_seen), sorted by name, one server per line, so the file changes only when membership
 * does and a pull request diff shows exactly which servers came and went.
 *
 * Membership rule: a server is in the manifest when its metrics name is valid, it is eligible for
 * training (≥ minimum_history_days of history and ≥ minimum_samples samples) and it is not
 * sunset-confirmed (silent ≥ sunset_confirmed_days days) at `now`. A server already listed keeps
 * its first_seen, because the metrics window rolls forward and would otherwise move it.
 *
 * Bad rows never change the manifest (docs/fleet.md, "Profiles and bad rows"): a listed server
 * leaves only by the sunset rule, and its profile changes only to a settled one (the profile of
 * its newest rows, alone for minimum_history_days). A change the data asks for but that rule
 * refuses is *held*: not made, and reported with the server named.
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
  /** Changes the metrics asked for that bad or conflicting rows kept out, by server (sorted). */
  held: HeldChange[];
}

/** A manifest change not made because the rows behind it are bad or disagree. */
export interface HeldChange {
  server: string;
  problem: string;
}

export interface ProposeOptions {
  /** Servers with a valid name whose rows have no valid profile (assessUnprofiled). */
  unprofiled?: readonly UnprofiledServer[];
}

const day = (date: Date): string => date.toISOString().slice(0, 10);

/** The manifest the fleet implies, keeping first_seen of servers already listed. Pure. */
export function proposeManifest(
  current: Manifest | null,
  fleet: readonly FleetServer[],
  options: ProposeOptions = {},
): ManifestChange {
  const before = new Map((current?.servers ?? []).map((s) => [s.name, s]));
  const servers: ManifestServer[] = [];
  const added: ManifestServer[] = [];
  const changed: Array<[ManifestServer, ManifestServer]> = [];
  const held: HeldChange[] = [];
  for (const server of fleet) {
    if (!isTrainable(server)) continue;
    const old = before.get(server.name);
    const unsettled = server.profileUnsettled;
    if (unsettled !== undefined && old?.profile !== server.profile) {
      const rows =
        `its rows carry ${server.profile} since ${day(unsettled.since)}, after ${unsettled.others.join(', ')}; ` +
        `the profile settles on ${day(unsettled.settlesAt)} if they keep to ${server.profile}`;
      if (old === undefined) held.push({ server: server.name, problem: `not added: ${rows}` });
      else {
        servers.push(old);
        held.push({ server: server.name, problem: `profile kept at ${old.profile}: ${rows}` });
      }
      continue;
    }
    const entry: ManifestServer = {
      name: server.name,
      profile: server.profile,
      first_seen: old?.first_seen ?? day(server.firstSeen),
    };
    servers.push(entry);
    if (old === undefined) added.push(entry);
    else if (old.profile !== entry.profile) changed.push([old, entry]);
  }
  // A listed server that reports, but with no valid profile on any row, stays until it is sunset.
  const listed = new Set(servers.map((s) => s.name));
  for (const server of options.unprofiled ?? []) {
    const old = before.get(server.name);
    if (old === undefined || listed.has(server.name) || server.status === 'sunset_confirmed') continue;
    servers.push(old);
    listed.add(server.name);
    held.push({
      server: server.name,
      problem: `kept (not removed): none of its ${server.samples} rows has a valid profile (${server.problem})`,
    });
  }
  servers.sort((a, b) => compareNames(a.name, b.name));
  held.sort((a, b) => compareNames(a.server, b.server));
  const removed = [...before.values()].filter((s) => !listed.has(s.name));
  return { manifest: { format_version: 1, servers }, added, removed, changed, held };
}
