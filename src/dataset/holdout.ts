/**
 * Which servers are held out of training to measure forecasts for servers the model has never
 * seen (they are only ever shown to the trainer through the unknown index 0).
 *
 * Stratified by profile, then by activity: each profile gets its share of the holdout (largest
 * remainders), and within a profile the servers, ranked by activity (the mean of the first target
 * over the training window), are cut into as many equal strata as the profile's share, one server
 * held out per stratum. So the unknown servers' load matches the fleet's: on a real fleet where a
 * third of the servers idle under 1 % CPU, a holdout of idle servers (or of a contiguous block of
 * names) would make the unknown-vs-known ratio measure nothing.
 *
 * Deterministic: within a stratum, the server with the smallest 32-bit FNV-1a hash of its name is
 * held out, so the same fleet and data always give the same holdout set; servers without an
 * activity figure rank last. Count: round(fraction × n), at least 1 once the fleet has `minFleet`
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
  activityOf: (server: string) => number | undefined = () => undefined,
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
    if (quota === 0) continue;
    const byActivity = groups
      .get(profile)!
      .map((name) => ({ name, activity: activityOf(name), hash: fnv1a32(name) }))
      .sort((a, b) => byActivityThenName(a, b));
    for (let s = 0; s < quota; s++) {
      const stratum = byActivity.slice(
        Math.floor((s * byActivity.length) / quota),
        Math.floor(((s + 1) * byActivity.length) / quota),
      );
      const pick = stratum.sort((a, b) => a.hash - b.hash || (a.name < b.name ? -1 : 1))[0];
      if (pick) chosen.add(pick.name);
    }
  }
  return chosen;
}

function byActivityThenName(
  a: { name: string; activity: number | undefined },
  b: { name: string; activity: number | undefined },
): number {
  const x = a.activity !== undefined && Number.isFinite(a.activity) ? a.activity : Number.POSITIVE_INFINITY;
  const y = b.activity !== undefined && Number.isFinite(b.activity) ? b.activity : Number.POSITIVE_INFINITY;
  if (x !== y) return x < y ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
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
