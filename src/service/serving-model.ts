import type {
  ForecastFailure,
  ForecastInput,
  ForecastOutcomes,
  ForecastResult,
  LoadOptions,
} from '../model/loaded-model.js';
import type { Encoders } from '../registry/schemas.js';

/**
 * What the service needs from a loaded model. `LoadedModel` (src/model) satisfies it; tests of the
 * swap state machine use hand-written fakes.
 */
export interface ServingModel {
  readonly id: string;
  readonly dir: string;
  /** sha256 of the model's SHA256SUMS. */
  readonly digest: string;
  readonly encoders: Encoders;
  readonly vocabulary: ReadonlySet<string>;
  /**
   * Forecasts a batch server by server: a server whose window or forecast is unusable is a failure
   * with its reason, every other server gets its forecast. Rejects when nothing of the output can
   * be trusted (its shape is not batch × horizon × targets × quantiles: ModelOutputError).
   */
  forecastEach(inputs: readonly ForecastInput[]): Promise<ForecastOutcomes>;
  release(): Promise<void>;
  /** False once the model can no longer forecast (its worker thread died); absent = always usable. */
  readonly alive?: boolean;
}

export type ModelLoader = (
  dir: string,
  options: Pick<LoadOptions, 'expectedDigest'>,
) => Promise<ServingModel>;

export type { ForecastFailure, ForecastInput, ForecastOutcomes, ForecastResult };
