/** Exit codes shared by every `fleetcast` command (documented in the README). */
export const ExitCode = {
  ok: 0,
  /** Unexpected runtime failure (I/O, subprocess crash, bug). */
  failure: 1,
  /** Bad input: usage, config, data files, server names. Nothing was written. */
  badInput: 2,
  /** A gate failed: coverage under 100 %, validation gate, verification timeout. */
  gateFailed: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error whose message is meant for the user, with the exit code the CLI should use. */
export class FleetcastError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, options: { exitCode?: ExitCode; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FleetcastError';
    this.exitCode = options.exitCode ?? ExitCode.failure;
  }
}

/** Bad input (a file, field, row or server name): exit code 2. */
export class InputError extends FleetcastError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, exitCode: ExitCode.badInput });
    this.name = 'InputError';
  }
}

/** A gate that must pass did not: exit code 3. */
export class GateError extends FleetcastError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, exitCode: ExitCode.gateFailed });
    this.name = 'GateError';
  }
}

export function getErrorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}

export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof FleetcastError ? error.exitCode : ExitCode.failure;
}
