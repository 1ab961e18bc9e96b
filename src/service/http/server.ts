import type { Logger } from '../../core/logger.js';
import type { FleetcastApp } from './app.js';
import type { ForecastService } from '../serving/forecast-service.js';

/** How long the graceful close waits for in-flight requests before cutting connections. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

export interface ListenOptions {
  host: string;
  port: number;
  /** How long shutdown waits for in-flight requests before cutting connections. Default 30 s. */
  drainTimeoutMs?: number;
  /** Whole-request limit (slow clients); default 30 s. */
  requestTimeoutMs?: number;
  /** Limit for receiving a request's headers (slow-header clients); default 10 s. */
  headersTimeoutMs?: number;
  /** Idle keep-alive limit; default 72 s (above common load-balancer idle timeouts, so the proxy closes first). */
  keepAliveTimeoutMs?: number;
  logger?: Logger;
}

export interface RunningServer {
  /** `http://host:port` actually bound (port 0 picks a free one). */
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish, then releases the models. Idempotent. */
  close(): Promise<void>;
}

/** Listens with timeouts set; the app itself is built by buildApp. */
export async function listen(
  app: FleetcastApp,
  service: ForecastService,
  options: ListenOptions,
): Promise<RunningServer> {
  const server = app.server;
  // Node enforces both only as often as the app's connectionsCheckingInterval (app.ts: 1 s;
  // Node's default of 30 s would let a slow-header client hold a socket three times too long).
  server.requestTimeout = options.requestTimeoutMs ?? 30_000;
  server.headersTimeout = Math.min(server.requestTimeout, options.headersTimeoutMs ?? 10_000);
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 72_000;
  await app.listen({ host: options.host, port: options.port });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const drainMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
      const force = setTimeout(() => {
        options.logger?.warn({ drainMs }, 'in-flight requests did not finish in time; closing connections');
        server.closeAllConnections();
      }, drainMs);
      force.unref();
      // Connections that finish their last response during shutdown would otherwise idle until
      // the keep-alive timeout; close each as soon as it is idle.
      const idle = setInterval(() => server.closeIdleConnections(), 50);
      try {
        await app.close(); // stops accepting, answers new requests 503, waits for in-flight ones
      } finally {
        clearTimeout(force);
        clearInterval(idle);
      }
      await service.close();
    })();
    return closing;
  };
  return { url: `http://${host}:${port}`, port, close };
}

/** Closes the server on SIGTERM / SIGINT (a second signal exits at once). */
export function closeOnSignals(
  running: { close(): Promise<void> },
  logger: Logger,
  onClosed: () => void,
): void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (signalled) process.exit(130);
    signalled = true;
    logger.info({ signal }, 'shutting down: draining in-flight requests');
    running.close().then(onClosed, (error: unknown) => {
      logger.error({ error: String(error) }, 'shutdown failed');
      onClosed();
    });
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}
