import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { FAILURE_REASONS, type FailureReason } from './forecast-failures.js';
import type { LiveModelAccuracy } from './live-accuracy.js';

type LiveQRisk = LiveModelAccuracy['q_risk'][number];

/** Live values the gauges read at scrape time; null = unknown (the gauge is left out of the scrape). */
export interface MetricsProbe {
  unknownRatePct(): number | null;
  coveragePct(): number | null;
  modelAgeSeconds(): number | null;
  modelId(): string | null;
  degraded(): boolean;
  /** What GET /readyz says: a model serves and no shutdown was requested. */
  ready(): boolean;
  /** Fleet drift % of the serving model (as /status.drift); null before a model and its windows. */
  driftPct(): number | null;
  /** Servers whose latest forecast failed, by reason. */
  failingServers(): ReadonlyMap<FailureReason, number>;
  staleServers(): number | null;
  invalidServerNames(): number | null;
  /** Live accuracy per model (live-accuracy.ts). */
  liveAccuracy(): readonly LiveModelAccuracy[];
  liveAccuracyErrors(): number;
}

/**
 * An unlabeled gauge that is absent from the scrape while its value is unknown. prom-client's
 * `reset()` would write 0 instead, and a 0 is a value: "model age > 30 days" could never fire
 * while no model serves, and "coverage < 100" would fire for the wrong reason.
 */
class OptionalGauge extends Gauge {
  constructor(
    name: string,
    help: string,
    private readonly read: () => number | null,
    registers: Registry[],
  ) {
    super({ name, help, registers });
  }

  override async get(): ReturnType<Gauge['get']> {
    const metric = await super.get();
    const value = this.read();
    return { ...metric, values: value === null ? [] : [{ value, labels: {} }] };
  }
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
  /** Forecasts a server did not get because its window or the model's output was unusable. */
  readonly forecastFailures: Counter<'reason'>;
  readonly liveAccuracyErrors: Counter;

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
    this.forecastFailures = new Counter({
      name: 'fleetcast_forecast_failures_total',
      help: 'Server forecasts not served because the window or the model output was unusable, by reason',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of FAILURE_REASONS) this.forecastFailures.inc({ reason }, 0);
    new Gauge({
      name: 'fleetcast_servers_without_forecast',
      help: 'Servers whose latest forecast failed (window or model output unusable), by reason',
      labelNames: ['reason'],
      registers,
      collect() {
        for (const [reason, count] of probe.failingServers()) this.set({ reason }, count);
      },
    });
    new OptionalGauge(
      'fleetcast_unknown_prediction_rate_pct',
      'Percent of the servers forecast that are outside the vocabulary (distinct servers per forecast cycle, pending servers excluded) over the rolling window; absent before any forecast',
      () => probe.unknownRatePct(),
      registers,
    );
    new OptionalGauge(
      'fleetcast_prediction_coverage_pct',
      'Percent of expected servers forecast through their own embedding; absent while no model serves',
      () => probe.coveragePct(),
      registers,
    );
    new OptionalGauge(
      'fleetcast_fleet_drift_pct',
      'Fleet drift of the serving model: (new + sunset servers) / servers in its vocabulary × 100, against the manifest (else the servers reporting metrics); absent while no model serves',
      () => probe.driftPct(),
      registers,
    );
    new OptionalGauge(
      'fleetcast_model_age_seconds',
      'Seconds since the serving model started training; absent while no model serves',
      () => probe.modelAgeSeconds(),
      registers,
    );
    new OptionalGauge(
      'fleetcast_stale_servers',
      'Expected servers whose newest data is older than the stale limit; absent while no model serves',
      () => probe.staleServers(),
      registers,
    );
    new OptionalGauge(
      'fleetcast_invalid_server_names',
      'Server names in the recent metrics that fail the server-name rule (skipped); absent before the first load',
      () => probe.invalidServerNames(),
      registers,
    );
    // The model's live q-risk and seasonal naive's on the same points: one gauge each, same labels.
    for (const [name, help, pick] of [
      [
        'fleetcast_live_qrisk',
        'q-risk of the served forecasts against the actuals that arrived since, over the live-accuracy window, by model, target and quantile; absent before a scored point',
        (r: LiveQRisk) => r.q_risk,
      ],
      [
        'fleetcast_live_naive_qrisk',
        'q-risk of seasonal naive (the value one day earlier) on the same scored points, by model, target and quantile',
        (r: LiveQRisk) => r.naive_q_risk,
      ],
    ] as const)
      new Gauge({
        name,
        help,
        labelNames: ['model', 'target', 'quantile'],
        registers,
        collect() {
          this.reset();
          for (const m of probe.liveAccuracy())
            for (const r of m.q_risk) {
              const value = pick(r);
              if (value !== null)
                this.set({ model: m.model, target: r.target, quantile: String(r.quantile) }, value);
            }
        },
      });
    new Gauge({
      name: 'fleetcast_live_scored_points',
      help: 'Forecast steps (server × step) scored against actuals in the live-accuracy window, by model',
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        for (const m of probe.liveAccuracy()) this.set({ model: m.model }, m.scored_points);
      },
    });
    this.liveAccuracyErrors = new Counter({
      name: 'fleetcast_live_accuracy_errors_total',
      help: 'Errors in recording, scoring or persisting live accuracy (logged; forecasts are served regardless)',
      registers,
      collect() {
        this.reset();
        this.inc(probe.liveAccuracyErrors());
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
      name: 'fleetcast_ready',
      help: '1 while GET /readyz answers ready (a model serves and no shutdown was requested), else 0',
      registers,
      collect() {
        this.set(probe.ready() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'fleetcast_health_degraded',
      help: '1 while /health is not ok (degraded: see its reasons; unavailable: no model is serving)',
      registers,
      collect() {
        this.set(probe.degraded() ? 1 : 0);
      },
    });
  }
}
