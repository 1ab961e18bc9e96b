import { FleetcastError } from '../core/errors.js';

/** A forge call failed; `status` is the HTTP status when the forge is GitHub (undefined otherwise). */
export class ForgeError extends FleetcastError {
  readonly status: number | undefined;
  readonly operation: string;
  constructor(operation: string, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(`${operation}: ${message}`, { cause: options.cause });
    this.name = 'ForgeError';
    this.operation = operation;
    this.status = options.status;
  }
}

/** The branch moved since the caller looked at it; nothing was overwritten. */
export class BranchMovedError extends ForgeError {
  constructor(branch: string, expected: string | null, actual: string | undefined) {
    super(
      'commit files',
      `branch ${branch} moved (expected ${expected ?? 'no branch'}, found ${actual ?? 'no branch'}); not overwriting it`,
    );
    this.name = 'BranchMovedError';
  }
}
