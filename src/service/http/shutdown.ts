import { z } from 'zod';
import { getErrorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ForecastService } from '../serving/forecast-service.js';

/** Default pause between "not ready" and the drain: a few load-balancer health-check periods. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 5_000;

/** POST /admin/shutdown: accepted; what happens next and when. */
export const ShutdownResponse = z.strictObject({
  status: z.literal('shutting_down'),
  /** When the shutdown was first requested (a repeated request answers the first one's times). */
  requested_at: z.string(),
  /** Readiness turned false at `requested_at`; the drain starts at `drain_at`. */
  drain_at: z.string(),
  grace_seconds: z.number(),
  /** In-flight requests still running this long after `drain_at` are cut. */
  drain_timeout_seconds: z.number(),
  model_id: z.string().nullable(),
});
export type ShutdownResponse = z.infer<typeof ShutdownResponse>;

export interface GracefulShutdownOptions {
  /** How long readiness is false before the drain starts (load balancers notice and stop sending). */
  graceMs: number;
  /** How long the drain waits for in-flight requests (server.ts); reported, not enforced here. */
  drainTimeoutMs: number;
  logger?: Logger;
}

/**
 * A requested shutdown (POST /admin/shutdown): readiness false at once, forecasts still answered
 * through a grace period, then the server's graceful close (stop accepting, drain in-flight
 * requests, release the models). `closed` resolves after that close, so `fleetcast serve` exits 0.
 */
export class GracefulShutdown {
  private close: (() => Promise<void>) | null = null;
  private answer: ShutdownResponse | null = null;
  private resolveClosed!: () => void;
  /** Resolves once a requested shutdown has closed the server. */
  readonly closed: Promise<void> = new Promise((resolve) => (this.resolveClosed = resolve));

  constructor(
    private readonly service: Pick<ForecastService, 'beginShutdown' | 'model' | 'now'>,
    private readonly options: GracefulShutdownOptions,
  ) {}

  /** The close to run after the grace period (run.ts binds the listening server's once it listens). */
  attach(close: () => Promise<void>): void {
    this.close = close;
  }

  /** Starts the shutdown, or answers the one already started (idempotent). */
  request(): ShutdownResponse {
    if (this.answer !== null) return this.answer;
    const state = this.service.beginShutdown('admin');
    const drainAt = new Date(Date.parse(state.at) + this.options.graceMs);
    this.answer = {
      status: 'shutting_down',
      requested_at: state.at,
      drain_at: drainAt.toISOString(),
      grace_seconds: this.options.graceMs / 1000,
      drain_timeout_seconds: this.options.drainTimeoutMs / 1000,
      model_id: this.service.model?.id ?? null,
    };
    this.options.logger?.info(
      { graceMs: this.options.graceMs, drainAt: this.answer.drain_at },
      'shutdown requested: not ready from now on; draining after the grace period',
    );
    setTimeout(() => void this.drain(), this.options.graceMs);
    return this.answer;
  }

  private async drain(): Promise<void> {
    try {
      if (this.close === null) throw new Error('no server to close');
      this.options.logger?.info('grace period over: draining in-flight requests');
      await this.close();
    } catch (error) {
      this.options.logger?.error({ error: getErrorMessage(error) }, 'shutdown failed');
    } finally {
      this.resolveClosed();
    }
  }
}
