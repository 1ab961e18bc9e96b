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
