import { FleetcastError } from '../../core/errors.js';

/** An error with an HTTP status; the app's error handler sends `{error, message}` with it. */
export class HttpError extends FleetcastError {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}
