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
