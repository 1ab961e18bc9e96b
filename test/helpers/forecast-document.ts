import assert from 'node:assert/strict';

/** One unit of the 4th significant digit of `v`: the precision the service rounds forecasts to. */
function lastDigitUnit(v: number): number {
  return v === 0 ? 0 : 10 ** (Math.floor(Math.log10(Math.abs(v))) - 3);
}

/** Numbers that differ by more than one unit of their 4th significant digit, with their paths. */
function numberMismatches(actual: unknown, expected: unknown, path: string, out: string[]): void {
  if (typeof actual === 'number' && typeof expected === 'number') {
    const unit = Math.max(lastDigitUnit(actual), lastDigitUnit(expected));
    if (Math.abs(actual - expected) > unit * (1 + 1e-9)) out.push(`${path}: ${actual} vs ${expected}`);
    return;
  }
  if (typeof actual !== 'object' || actual === null || typeof expected !== 'object' || expected === null)
    return;
  for (const key of Object.keys(expected)) {
    numberMismatches(
      (actual as Record<string, unknown>)[key],
      (expected as Record<string, unknown>)[key],
      `${path}.${key}`,
      out,
    );
  }
}

/** Replaces every number with 0, so the rest of two documents can be compared exactly. */
function withoutNumbers(value: unknown): unknown {
  if (typeof value === 'number') return 0;
  if (Array.isArray(value)) return value.map(withoutNumbers);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutNumbers(v)]));
  return value;
}

/**
 * Two forecast documents are the same: identical structure, names and strings, and every number
 * within one unit of its 4th significant digit (float32 results may differ in the last bit between
 * batch sizes, which rounding can turn into one unit).
 */
export function assertSameForecastDocument(actual: unknown, expected: unknown): void {
  assert.deepEqual(withoutNumbers(actual), withoutNumbers(expected));
  const mismatches: string[] = [];
  numberMismatches(actual, expected, '$', mismatches);
  assert.deepEqual(mismatches, [], 'numbers further apart than one unit of the 4th significant digit');
}
