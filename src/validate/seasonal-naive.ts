/**
 * Seasonal naive forecast: ŷ(origin + h) = y(origin + h − k·period), with k = floor(h / period) + 1
 * the smallest number of whole periods that reaches back before the origin (so only values known at
 * the origin are used, even when the horizon is longer than a period). `series` is one feature of
 * one server; the result has `horizon` values, NaN where the seasonal value is missing.
 */
export function seasonalNaive(
  series: ArrayLike<number>,
  origin: number,
  horizon: number,
  period: number,
): Float64Array {
  if (!Number.isInteger(period) || period < 1)
    throw new Error(`seasonal period must be a positive integer: ${period}`);
  if (origin > series.length)
    throw new Error(`origin ${origin} is past the end of the series (${series.length})`);
  const out = new Float64Array(horizon);
  for (let h = 0; h < horizon; h++) {
    const source = origin + h - (Math.floor(h / period) + 1) * period;
    out[h] = source >= 0 ? series[source]! : NaN;
  }
  return out;
}

/** Steps in one day at a resolution; the resolution must divide a day. */
export function stepsPerDay(resolutionSeconds: number): number {
  const steps = 86400 / resolutionSeconds;
  if (!Number.isInteger(steps)) throw new Error(`resolution ${resolutionSeconds}s does not divide a day`);
  return steps;
}
