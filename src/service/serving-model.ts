import type { ForecastInput, ForecastResult, LoadOptions } from '../model/loaded-model.js';
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
  forecast(inputs: readonly ForecastInput[]): Promise<ForecastResult[]>;
  release(): Promise<void>;
  /** False once the model can no longer forecast (its worker thread died); absent = always usable. */
  readonly alive?: boolean;
}

export type ModelLoader = (
  dir: string,
  options: Pick<LoadOptions, 'expectedDigest'>,
) => Promise<ServingModel>;

export type { ForecastInput, ForecastResult };
