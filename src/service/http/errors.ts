import { z } from 'zod';
import { FleetcastError } from '../../core/errors.js';

/** An error with an HTTP status; the app's error handler answers it with an ErrorResponse. */
export class HttpError extends FleetcastError {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Every error answer: the status, its name, and a message naming the bad field or server. */
export const ErrorResponse = z.strictObject({
  status_code: z.number().int(),
  error: z.string(),
  message: z.string(),
});
export type ErrorResponse = z.infer<typeof ErrorResponse>;

const STATUS_NAMES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function errorBody(statusCode: number, message: string): ErrorResponse {
  return { status_code: statusCode, error: STATUS_NAMES[statusCode] ?? 'Error', message };
}
