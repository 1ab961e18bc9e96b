/** One series to forecast: the lookback window ending right before the forecast starts. */
export interface ForecastInput {
  server: string;
  /** Profile for servers outside the vocabulary; known servers use their trained profile. */
  profile?: string | null;
  /** [lookback_steps, observed_features] row-major, raw units, no NaN. */
  past: Float32Array;
  /** Epoch seconds of the first lookback step. */
  pastStart: number;
}

/**
 * Why a lookback window cannot go to a model with this lookback and these features (wrong size, a
 * NaN or an Inf), or undefined when it can. Windows loaded from metrics are always usable
 * (resampling drops non-finite samples and gaps are filled); this guards every other source.
 */
export function windowProblem(
  past: Float32Array,
  shape: { lookback_steps: number; observed_features: readonly string[] },
): string | undefined {
  const features = shape.observed_features;
  const nObs = features.length;
  const lookback = shape.lookback_steps;
  if (past.length !== lookback * nObs)
    return `lookback window has ${past.length} values, expected ${lookback} steps × ${nObs} features`;
  for (let i = 0; i < past.length; i++) {
    if (!Number.isFinite(past[i]!))
      return `lookback window has a non-finite ${features[i % nObs]} at step ${Math.floor(i / nObs) + 1} of ${lookback}`;
  }
  return undefined;
}
