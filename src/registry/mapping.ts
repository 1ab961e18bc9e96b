import { compareNames, serverNameProblem } from '../core/server-name.js';
import { InputError } from '../core/errors.js';
import type { ServerMapping } from './schemas.js';

/** Index 0 is the "unknown server" embedding row; real servers start at 1. */
export const FIRST_SERVER_INDEX = 1;

/**
 * Assigns embedding indices to the manifest's servers so that an index never changes meaning
 * between two models (docs/MODEL_FORMAT.md, server_mapping.json):
 * - a server in the previous mapping keeps its index;
 * - a server that was retired and comes back gets its old index again;
 * - a new server takes `next_index` (assigned in name order, so the result is deterministic);
 * - a server dropped from the fleet moves to `retired`, keeping its index reserved.
 * Pure: the previous mapping is not modified.
 */
export function assignServerIndices(
  previous: ServerMapping | null,
  manifestServers: readonly string[],
): ServerMapping {
  const wanted = uniqueSorted(manifestServers);
  const prevServers = previous?.servers ?? {};
  const prevRetired = previous?.retired ?? {};
  let next = Math.max(previous?.next_index ?? FIRST_SERVER_INDEX, FIRST_SERVER_INDEX, maxIndex(previous) + 1);

  const servers: Record<string, number> = {};
  const wantedSet = new Set(wanted);
  for (const name of wanted) {
    const kept = prevServers[name] ?? prevRetired[name];
    if (kept !== undefined) servers[name] = kept;
  }
  for (const name of wanted) {
    if (servers[name] === undefined) servers[name] = next++;
  }

  const retired: Record<string, number> = {};
  for (const [name, index] of [...Object.entries(prevRetired), ...Object.entries(prevServers)]) {
    if (!wantedSet.has(name)) retired[name] = index;
  }
  return {
    format_version: 1,
    servers: sortKeys(servers),
    retired: sortKeys(retired),
    next_index: next,
  };
}

/** Servers whose index differs between two mappings (should be none for servers in both). */
export function changedIndices(a: ServerMapping, b: ServerMapping): string[] {
  return Object.keys(a.servers).filter(
    (name) => b.servers[name] !== undefined && b.servers[name] !== a.servers[name],
  );
}

function uniqueSorted(names: readonly string[]): string[] {
  const seen = new Set<string>();
  names.forEach((name, i) => {
    const problem = serverNameProblem(name);
    if (problem !== undefined) throw new InputError(`manifest server #${i + 1}: ${problem}`);
    if (seen.has(name)) throw new InputError(`manifest lists server ${name} twice`);
    seen.add(name);
  });
  return [...seen].sort(compareNames);
}

function maxIndex(mapping: ServerMapping | null): number {
  if (mapping === null) return 0;
  return Math.max(0, ...Object.values(mapping.servers), ...Object.values(mapping.retired));
}

function sortKeys(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => compareNames(a, b)));
}
