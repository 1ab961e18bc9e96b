/**
 * The coverage rule: every manifest server must be in the model's vocabulary, so that it is
 * forecast through its own embedding row instead of the unknown index. This is its one owner:
 * validation (which adds a finite-forecast check per server), the service's warm-up (which
 * refuses a newer model with a gap) and the service's /health and /status all call it.
 */
export interface VocabularyCoverage {
  /** Distinct manifest servers. */
  intended: number;
  /** Manifest servers in the vocabulary, sorted. */
  covered: string[];
  /** Manifest servers outside the vocabulary, sorted. */
  missing: string[];
  /** covered / intended × 100 (100 for an empty manifest). */
  percent: number;
}

/** Pure: which of `manifestServers` the vocabulary covers (duplicates count once). */
export function vocabularyCoverage(
  manifestServers: Iterable<string>,
  vocabulary: ReadonlySet<string>,
): VocabularyCoverage {
  const servers = [...new Set(manifestServers)].sort();
  const covered: string[] = [];
  const missing: string[] = [];
  for (const server of servers) (vocabulary.has(server) ? covered : missing).push(server);
  return {
    intended: servers.length,
    covered,
    missing,
    percent: servers.length === 0 ? 100 : (covered.length / servers.length) * 100,
  };
}

/** `a, b, …, j, … (12 in all)`: the first `max` names of a list, for a one-line message. */
export function listServers(names: readonly string[], max = 10): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown}, … (${names.length} in all)` : shown;
}
