/**
 * Which servers are held out of training to measure forecasts for servers the model has never
 * seen (they are only ever shown to the trainer through the unknown index 0).
 *
 * Deterministic and stable: each server gets a 32-bit FNV-1a hash of its name; the servers with
 * the smallest hashes are held out. Adding or removing one server changes the choice by at most
 * one server, and the same fleet always gives the same holdout set. Count: round(fraction × n),
 * at least 1 once the fleet has `minFleet` servers, none below that (too few to spare one).
 */
export interface HoldoutOptions {
  fraction: number;
  minFleet: number;
}

export const DEFAULT_HOLDOUT: HoldoutOptions = { fraction: 0.05, minFleet: 10 };

export function chooseHoldout(
  servers: readonly string[],
  options: HoldoutOptions = DEFAULT_HOLDOUT,
): Set<string> {
  const unique = [...new Set(servers)];
  if (options.fraction < 0 || options.fraction >= 1)
    throw new Error(`holdout fraction must be in [0, 1): ${options.fraction}`);
  if (unique.length < options.minFleet || options.fraction === 0) return new Set();
  const count = Math.max(1, Math.round(options.fraction * unique.length));
  const ranked = unique
    .map((name) => ({ name, hash: fnv1a32(name) }))
    .sort((a, b) => a.hash - b.hash || (a.name < b.name ? -1 : 1));
  return new Set(ranked.slice(0, count).map((r) => r.name));
}

/** 32-bit FNV-1a over the UTF-8 bytes (identical to the usual Python implementation). */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}
