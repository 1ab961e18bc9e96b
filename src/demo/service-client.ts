import { setTimeout as sleep } from 'node:timers/promises';
import { FleetcastError } from '../core/errors.js';

/** Small HTTP client for the demo's view of the inference service. */
export interface ServiceView {
  modelId: string | null;
  status: string;
  coveragePct: number | null;
  /** Servers the service expects (its manifest), as of its last refresh. */
  expectedServers: number | null;
  unknownRatePct: number | null;
  /** Manifest servers the serving model does not know (forecast through the unknown index). */
  unknownManifestServers: number | null;
  lastSwapMs: number | null;
}

export class ServiceClient {
  constructor(readonly baseUrl: string) {}

  async json<T>(path: string, init?: RequestInit): Promise<T> {
    const response = await fetch(new URL(path, this.baseUrl), init);
    if (!response.ok && response.status !== 503) {
      throw new Error(`${init?.method ?? 'GET'} ${path}: HTTP ${response.status} ${await response.text()}`);
    }
    return (await response.json()) as T;
  }

  async view(): Promise<ServiceView> {
    const health = await this.json<Record<string, unknown>>('/health');
    const status = await this.json<Record<string, unknown>>('/status');
    const coverage = status.coverage as Record<string, unknown> | null | undefined;
    const unknown = status.unknown_predictions as Record<string, unknown> | null | undefined;
    const lastSwap = health.last_swap as Record<string, unknown> | null | undefined;
    return {
      modelId: typeof health.model_id === 'string' ? health.model_id : null,
      status: String(health.status),
      coveragePct: typeof coverage?.coverage_pct === 'number' ? coverage.coverage_pct : null,
      expectedServers: typeof coverage?.expected === 'number' ? coverage.expected : null,
      unknownRatePct: typeof unknown?.rate_pct === 'number' ? unknown.rate_pct : null,
      unknownManifestServers: Array.isArray(coverage?.unknown) ? coverage.unknown.length : null,
      lastSwapMs: typeof lastSwap?.duration_ms === 'number' ? lastSwap.duration_ms : null,
    };
  }

  /** Asks for forecasts of `servers` the way a dashboard or client would (counts unknown servers). */
  async predict(servers: readonly string[]): Promise<{ known: number; unknown: number }> {
    const body = await this.json<{ forecasts?: Array<{ known?: boolean }> }>('/predict', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ servers }),
    });
    const forecasts = body.forecasts ?? [];
    const known = forecasts.filter((f) => f.known === true).length;
    return { known, unknown: forecasts.length - known };
  }

  /** Polls /health until the service serves `modelId`; returns how long that took. */
  async waitForModel(modelId: string, timeoutMs: number): Promise<number> {
    const started = performance.now();
    for (;;) {
      const health = await this.json<Record<string, unknown>>('/health').catch(
        () => ({}) as Record<string, unknown>,
      );
      if (health.model_id === modelId) return performance.now() - started;
      if (performance.now() - started > timeoutMs) {
        throw new Error(
          `the service did not switch to ${modelId} within ${timeoutMs / 1000}s (health: ${JSON.stringify(health)})`,
        );
      }
      await sleep(200);
    }
  }

  /** Polls the view until `done` holds; a FleetcastError with the last view after `timeoutMs`. */
  async waitForView(done: (view: ServiceView) => boolean, timeoutMs: number): Promise<ServiceView> {
    const started = performance.now();
    for (;;) {
      const view = await this.view();
      if (done(view)) return view;
      if (performance.now() - started > timeoutMs)
        throw new FleetcastError(`the service did not reach the expected state: ${JSON.stringify(view)}`);
      await sleep(250);
    }
  }
}
