import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Live values the gauges read at scrape time. */
export interface MetricsProbe {
  unknownRatePct(): number;
  coveragePct(): number | null;
  modelAgeSeconds(): number | null;
  modelId(): string | null;
  degraded(): boolean;
}

/**
 * Prometheus metrics on the service's own registry (never prom-client's global one, so two
 * services in one process, as in tests, do not collide). Names are listed in docs/service.md.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly requestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly predictions: Counter<'known'>;
  readonly swaps: Counter<'result'>;

  constructor(probe: MetricsProbe, options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'fleetcast_' });
    this.requestDuration = new Histogram({
      name: 'fleetcast_http_request_duration_seconds',
      help: 'HTTP request latency by route and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.predictions = new Counter({
      name: 'fleetcast_predictions_total',
      help: 'Server forecasts served, by whether the server is in the model vocabulary',
      labelNames: ['known'],
      registers,
    });
    this.predictions.inc({ known: 'true' }, 0);
    this.predictions.inc({ known: 'false' }, 0);
    this.swaps = new Counter({
      name: 'fleetcast_model_swaps_total',
      help: 'Model reload attempts that changed the model (success) or kept the old one (failure)',
      labelNames: ['result'],
      registers,
    });
    this.swaps.inc({ result: 'success' }, 0);
    this.swaps.inc({ result: 'failure' }, 0);
    new Gauge({
      name: 'fleetcast_unknown_prediction_rate_pct',
      help: 'Percent of forecasts for servers outside the vocabulary over the rolling window',
      registers,
      collect() {
        this.set(probe.unknownRatePct());
      },
    });
    new Gauge({
      name: 'fleetcast_prediction_coverage_pct',
      help: 'Percent of expected servers forecast through their own embedding',
      registers,
      collect() {
        const value = probe.coveragePct();
        if (value === null) this.reset();
        else this.set(value);
      },
    });
    new Gauge({
      name: 'fleetcast_model_age_seconds',
      help: 'Seconds since the serving model started training',
      registers,
      collect() {
        const value = probe.modelAgeSeconds();
        if (value === null) this.reset();
        else this.set(value);
      },
    });
    new Gauge({
      name: 'fleetcast_model_info',
      help: 'The serving model (value 1, model id as a label)',
      labelNames: ['model_id'],
      registers,
      collect() {
        this.reset();
        const id = probe.modelId();
        if (id !== null) this.set({ model_id: id }, 1);
      },
    });
    new Gauge({
      name: 'fleetcast_health_degraded',
      help: '1 while the last reload failed (the previous model keeps serving) or no model is loaded',
      registers,
      collect() {
        this.set(probe.degraded() ? 1 : 0);
      },
    });
  }
}
