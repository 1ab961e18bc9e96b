import { FleetcastError } from '../core/errors.js';

export type ModelLoadFailure = 'missing' | 'checksum' | 'format' | 'onnx' | 'mismatch';

/** A model directory that cannot be served; `reason` says which check failed. */
export class ModelLoadError extends FleetcastError {
  constructor(
    readonly reason: ModelLoadFailure,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'ModelLoadError';
  }
}

/**
 * The model's output does not have the shape its encoders.json declares (batch × horizon × targets
 * × quantiles). Nothing of such an output can be attributed to a server, so the whole call fails.
 */
export class ModelOutputError extends FleetcastError {
  constructor(message: string) {
    super(message);
    this.name = 'ModelOutputError';
  }
}
