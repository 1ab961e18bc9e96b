/** What a model call returns: one forecast per server, or why a server got none. */

export interface ForecastResult {
  server: string;
  /** False when the server is outside the vocabulary and was forecast through the unknown index. */
  known: boolean;
  serverIndex: number;
  /** Epoch seconds of the first forecast step. */
  start: number;
  stepSeconds: number;
  /** [horizon_steps, targets, quantiles] row-major, raw units. */
  values: Float32Array;
}

/** Why one server of a batch got no forecast; the other servers of the batch are unaffected. */
export const FORECAST_FAILURE_REASONS = ['invalid_window', 'non_finite_output'] as const;
export type ForecastFailureReason = (typeof FORECAST_FAILURE_REASONS)[number];

export interface ForecastFailure {
  server: string;
  /** Whether the server is in the vocabulary (false: it went through the unknown index 0). */
  known: boolean;
  /** `invalid_window`: its lookback window has the wrong size or a non-finite value; `non_finite_output`: the model returned NaN or Inf for it. */
  reason: ForecastFailureReason;
  message: string;
}

/** A batch forecast server by server: the usable forecasts, in input order, and the failures. */
export interface ForecastOutcomes {
  results: ForecastResult[];
  failures: ForecastFailure[];
}
