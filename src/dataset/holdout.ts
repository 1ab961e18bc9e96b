/**
 * Which servers are held out of training to measure forecasts for servers the model has never
 * seen (they are only ever shown to the trainer through the unknown index 0).
 *
 * Stratified by profile: each profile gets its share of the holdout (largest remainders), so the
 * unknown-vs-known comparison is not skewed by a holdout that happens to be, say, batch-heavy.
 * Deterministic and stable: within a profile, the servers with the smallest 32-bit FNV-1a hashes
 * of their names are held out. Adding or removing one server changes the choice by at most a
 * couple of servers (one profile's share can move to another), and the same fleet always gives
 * the same holdout set. Count: round(fraction × n), at least 1 once the fleet has `minFleet`
 * servers, none below that (too few to spare one).
 */
export interface HoldoutOptions {
  fraction: number;
  minFleet: number;
}

export const DEFAULT_HOLDOUT: HoldoutOptions = { fraction: 0.05, minFleet: 10 };

export function chooseHoldout(
  servers: readonly string[],
  options: HoldoutOptions = DEFAULT_HOLDOUT,
  profileOf: (server: string) => string | undefined = () => undefined,
): Set<string> {
  const unique = [...new Set(servers)];
  if (options.fraction < 0 || options.fraction >= 1)
    throw new Error(`holdout fraction must be in [0, 1): ${options.fraction}`);
  if (unique.length < options.minFleet || options.fraction === 0) return new Set();
  const count = Math.max(1, Math.round(options.fraction * unique.length));
  const groups = new Map<string, string[]>();
  for (const name of unique) {
    const profile = profileOf(name) ?? '';
    groups.set(profile, [...(groups.get(profile) ?? []), name]);
  }
  const chosen = new Set<string>();
  for (const [profile, quota] of apportion(groups, count, unique.length)) {
    const ranked = groups
      .get(profile)!
      .map((name) => ({ name, hash: fnv1a32(name) }))
      .sort((a, b) => a.hash - b.hash || (a.name < b.name ? -1 : 1));
    for (const r of ranked.slice(0, quota)) chosen.add(r.name);
  }
  return chosen;
}

/** Largest-remainder shares of `count` per group (ties: the larger group, then the name). */
function apportion(groups: ReadonlyMap<string, string[]>, count: number, total: number): Map<string, number> {
  const shares = [...groups].map(([profile, names]) => {
    const exact = (count * names.length) / total;
    return { profile, size: names.length, quota: Math.floor(exact), remainder: exact - Math.floor(exact) };
  });
  let left = count - shares.reduce((sum, s) => sum + s.quota, 0);
  const byRemainder = [...shares].sort(
    (a, b) => b.remainder - a.remainder || b.size - a.size || (a.profile < b.profile ? -1 : 1),
  );
  for (const share of byRemainder) {
    if (left === 0) break;
    share.quota++;
    left--;
  }
  return new Map(shares.map((s) => [s.profile, s.quota]));
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
