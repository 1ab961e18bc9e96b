import assert from 'node:assert/strict';

/**
 * Asserts that pointer changes made concurrently form one chain: each names, as previous_model_id,
 * the model the pointer named just before it, starting from `first` and passing every change once.
 * Returns the model at the end of the chain (the one the pointer must name now).
 */
export function assertOneChain(
  first: string,
  changes: ReadonlyArray<{ model_id: string; previous_model_id: string | null }>,
): string {
  const byPrevious = new Map<string | null, string[]>();
  for (const c of changes)
    byPrevious.set(c.previous_model_id, [...(byPrevious.get(c.previous_model_id) ?? []), c.model_id]);
  for (const [previous, next] of byPrevious)
    assert.equal(
      next.length,
      1,
      `${next.length} deploys all claim to replace ${previous}: ${next.join(', ')}`,
    );
  let at = first;
  for (let i = 0; i < changes.length; i++) {
    const next = byPrevious.get(at);
    assert.ok(next !== undefined, `the chain breaks after ${at}: no deploy replaced it`);
    at = next[0]!;
  }
  return at;
}
