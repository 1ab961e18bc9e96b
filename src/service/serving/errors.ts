import { FleetcastError } from '../../core/errors.js';

/** No model is serving yet (nothing deployed, or every load failed): HTTP answers 503 with the reason. */
export class ModelUnavailableError extends FleetcastError {
  constructor(reason: string) {
    super(reason);
    this.name = 'ModelUnavailableError';
  }
}
