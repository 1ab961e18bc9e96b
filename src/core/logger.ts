import { pino, type Logger } from 'pino';

/**
 * Diagnostics go to stderr as JSON lines (pino), so stdout stays free for a command's
 * result (a table, or JSON with --json). Level from FLEETCAST_LOG_LEVEL, default "info".
 */
export function createLogger(name: string, level = process.env.FLEETCAST_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: ['token', '*.token', 'authorization', '*.authorization', 'webhook', '*.webhook'],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}

export type { Logger };
