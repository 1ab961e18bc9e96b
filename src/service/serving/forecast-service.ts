import { listServers, vocabularyCoverage } from '../../fleet/coverage.js';
import { modelDir } from '../../registry/layout.js';
import { readPointer } from '../../registry/pointer.js';
import { getErrorMessage } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/logger.js';
import { ModelUnavailableError } from './errors.js';
import { mergeFleet, type FleetMember, type ManifestEntry } from './fleet.js';
import { formatForecast, type ServerForecast } from './forecast-format.js';
import { ServiceMetrics } from './metrics.js';
import { ModelSlot } from './model-slot.js';
import { fleetCoverage, fleetDrift, modelAge, type CoverageSummary } from './monitor.js';
import { SwapController, type SwapOutcome, type SwapTarget, type SwapTrigger } from './swap.js';
import type { ForecastInput, ForecastResult, ModelLoader, ServingModel } from '../serving-model.js';
import { UnknownPredictionTracker, DEFAULT_UNKNOWN_WINDOW_SECONDS } from './unknown-tracker.js';
import { WindowCache, type WindowFetcher, type WindowSnapshot } from './window-cache.js';
import { ModelWorkerPool, WorkerModel } from '../worker/pool.js';

export interface ForecastServiceOptions {
  /** Model registry directory (current.json + models/). */
  registry: string;
  /** Latest input windows from the metrics source. */
  windowFetcher: WindowFetcher;
  /** Reads the fleet manifest; omitted = no manifest (the fleet is whatever reports metrics). */
  loadManifest?: () => Promise<ManifestEntry[]>;
  /** Default: each model in its own worker thread (worker-model.ts). */
  loadModel?: ModelLoader;
  /** How often windows (and the manifest) are reloaded; default 60 s. 0 disables the timer. */
  refreshIntervalMs?: number;
  unknownWindowSeconds?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  logger?: Logger;
  /** Servers per model call in the streamed fleet forecast; default FLEET_CHUNK_SIZE. */
  fleetChunkSize?: number;
  /** Process metrics (CPU, heap, event loop) in /metrics; default true. */
  defaultMetrics?: boolean;
  now?: () => Date;
}

export interface MissingForecast {
  server: string;
  reason: string;
}

export interface ForecastBatch {
  model_id: string;
  generated_at: string;
  step_seconds: number;
  horizon_steps: number;
  targets: string[];
  quantiles: number[];
  forecasts: ServerForecast[];
  missing: MissingForecast[];
}

export interface FleetEntry extends ServerForecast {
  in_manifest: boolean;
}

export interface FleetForecast extends Omit<ForecastBatch, 'forecasts'> {
  coverage: CoverageSummary;
  servers: Array<
    FleetEntry | (MissingForecast & { in_manifest: boolean; known: boolean; profile: string | null })
  >;
}

export type HealthStatus = 'ok' | 'degraded' | 'unavailable';

/** Servers per model call in a streamed fleet forecast (chunking costs nothing in session.run). */
export const FLEET_CHUNK_SIZE = 100;

/** Each server's input window (with its profile), or why it has none. */
function planInputs(
  snapshot: WindowSnapshot,
  servers: readonly string[],
  profiles: ReadonlyMap<string, string | null>,
): { inputs: ForecastInput[]; missing: MissingForecast[] } {
  const inputs: ForecastInput[] = [];
  const missing: MissingForecast[] = [];
  for (const server of servers) {
    const window = snapshot.windows.get(server);
    if (window === undefined) {
      missing.push({ server, reason: 'no recent metrics for this server' });
      continue;
    }
    inputs.push({ ...window.input, profile: window.input.profile ?? profiles.get(server) ?? null });
  }
  return { inputs, missing };
}

/** The fleet's `servers` array: a forecast per server, or the reason it has none. */
function fleetEntries(
  model: ServingModel,
  fleet: readonly FleetMember[],
  forecasts: readonly ServerForecast[],
  missingList: readonly MissingForecast[],
): FleetForecast['servers'] {
  const byName = new Map(forecasts.map((f) => [f.server, f]));
  const missing = new Map(missingList.map((m) => [m.server, m.reason]));
  return fleet.map((s) => {
    const forecast = byName.get(s.name);
    if (forecast !== undefined) return { ...forecast, in_manifest: s.inManifest };
    return {
      server: s.name,
      reason: missing.get(s.name) ?? 'no recent metrics',
      in_manifest: s.inManifest,
      known: model.vocabulary.has(s.name),
      profile: s.profile,
    };
  });
}

/**
 * The inference service without HTTP: follows the pointer through the swap controller, keeps
 * the latest windows in memory, forecasts, and tracks unknown-server predictions.
 */
export class ForecastService {
  readonly slot: ModelSlot;
  readonly swap: SwapController;
  readonly windows: WindowCache;
  readonly unknown: UnknownPredictionTracker;
  readonly metrics: ServiceMetrics;
  readonly logger: Logger;
  /** The model worker threads, unless the caller brought its own loader. */
  private workers: ModelWorkerPool | null = null;
  private manifest: ManifestEntry[] | null = null;
  private fleetCache: {
    manifest: ManifestEntry[] | null;
    snapshot: WindowSnapshot;
    fleet: FleetMember[];
  } | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private windowError: { at: string; message: string } | null = null;
  private failedSwaps = 0;
  private closed = false;
  private readonly now: () => Date;

  constructor(private readonly options: ForecastServiceOptions) {
    this.now = options.now ?? (() => new Date());
    this.logger = options.logger ?? createLogger('fleetcast-serve');
    this.slot = new ModelSlot((model, error) =>
      this.logger.warn({ model: model.id, error: getErrorMessage(error) }, 'releasing a model failed'),
    );
    this.windows = new WindowCache(options.windowFetcher, this.now);
    this.unknown = new UnknownPredictionTracker(
      options.unknownWindowSeconds ?? DEFAULT_UNKNOWN_WINDOW_SECONDS,
    );
    this.metrics = new ServiceMetrics(
      {
        unknownRatePct: () => this.unknown.stats().rate_pct,
        coveragePct: () => this.coverage()?.coverage_pct ?? null,
        modelAgeSeconds: () => {
          const model = this.slot.current;
          return model === null ? null : modelAge(model.id, this.now()).age_seconds;
        },
        modelId: () => this.slot.current?.id ?? null,
        degraded: () => this.healthStatus() !== 'ok',
      },
      { defaultMetrics: options.defaultMetrics ?? true },
    );
    this.swap = new SwapController({
      slot: this.slot,
      readTarget: () => this.readTarget(),
      loadModel: options.loadModel ?? (this.workers = new ModelWorkerPool()).load,
      windowsFor: async (model) => (await this.windows.ensure(model.encoders)).windows,
      expectedServers: async (windows) => mergeFleet(this.manifest, windows),
      onSwapped: (model) => {
        this.windows.retainOnly([model.encoders]);
        if (model instanceof WorkerModel) {
          model.onUnexpectedExit = (error) => {
            this.logger.error(
              { model: model.id, error: error.message },
              'model worker died; reloading the model',
            );
            void this.swap.trigger('crash');
          };
        }
      },
      onOutcome: (outcome) => this.recordOutcome(outcome),
      logger: this.logger,
      ...(options.initialBackoffMs !== undefined ? { initialBackoffMs: options.initialBackoffMs } : {}),
      ...(options.maxBackoffMs !== undefined ? { maxBackoffMs: options.maxBackoffMs } : {}),
      now: this.now,
    });
  }

  get hasManifest(): boolean {
    return this.options.loadManifest !== undefined;
  }

  /** Reads the manifest, loads the deployed model and starts the refresh timer. */
  async start(): Promise<SwapOutcome> {
    if (this.options.loadManifest) this.manifest = await this.options.loadManifest();
    const outcome = await this.swap.trigger('startup');
    const interval = this.options.refreshIntervalMs ?? 60_000;
    if (interval > 0 && !this.closed) {
      this.refreshTimer = setInterval(() => void this.refresh(), interval);
      this.refreshTimer.unref();
    }
    return outcome;
  }

  /** Asks for a reload (pointer change, admin call); concurrent calls coalesce. */
  reload(trigger: SwapTrigger): Promise<SwapOutcome> {
    return this.swap.trigger(trigger);
  }

  /** Re-reads the manifest and the active model's windows; failures keep the previous data. */
  async refresh(): Promise<void> {
    if (this.options.loadManifest) {
      try {
        this.manifest = await this.options.loadManifest();
      } catch (error) {
        this.logger.warn(
          { error: getErrorMessage(error) },
          'manifest reload failed; keeping the previous one',
        );
      }
    }
    const model = this.slot.current;
    if (model === null) return;
    try {
      await this.windows.refresh(model.encoders);
      this.windowError = null;
    } catch (error) {
      this.windowError = { at: this.now().toISOString(), message: getErrorMessage(error) };
      this.logger.warn(
        { error: this.windowError.message },
        'metrics window refresh failed; keeping the previous windows',
      );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.refreshTimer !== null) clearInterval(this.refreshTimer);
    await this.swap.stop();
    await this.slot.close();
    await this.workers?.close();
  }

  /** Forecasts the named servers (already validated names). */
  async predict(servers: readonly string[]): Promise<ForecastBatch> {
    return this.withModel(async (model, snapshot) => {
      const fleet = this.fleetFor(snapshot);
      const profiles = new Map(fleet.map((s) => [s.name, s.profile]));
      return this.forecastMany(model, snapshot, [...new Set(servers)], profiles);
    });
  }

  /** The whole fleet in one batch, with coverage. */
  async fleetForecast(): Promise<FleetForecast> {
    return this.withModel(async (model, snapshot) => {
      const fleet = this.fleetFor(snapshot);
      const profiles = new Map(fleet.map((s) => [s.name, s.profile]));
      const batch = await this.forecastMany(
        model,
        snapshot,
        fleet.map((s) => s.name),
        profiles,
      );
      const { forecasts, ...rest } = batch;
      return {
        ...rest,
        coverage: fleetCoverage(model, fleet, snapshot.windows, this.hasManifest),
        servers: fleetEntries(model, fleet, forecasts, batch.missing),
      };
    });
  }

  /**
   * The same document as `fleetForecast()`, as JSON text in pieces for a streamed response. The
   * fleet goes to the model in chunks with the next chunk queued before the current one is awaited,
   * so each chunk is formatted, serialized and sent while the model computes the next one: the JSON
   * and HTTP work overlaps the model instead of following it. Errors that decide the status code
   * (no model: 503; unreadable metrics) are thrown here, before the first piece.
   */
  async fleetForecastJson(
    chunkSize = this.options.fleetChunkSize ?? FLEET_CHUNK_SIZE,
  ): Promise<AsyncGenerator<string>> {
    // Pre-flight with a short lease; the generator takes its own lease when it starts, so a
    // generator that is never iterated holds nothing.
    await this.withModel(async () => undefined);
    return this.fleetJsonPieces(chunkSize);
  }

  private async *fleetJsonPieces(chunkSize: number): AsyncGenerator<string> {
    const lease = this.slot.acquire();
    if (lease === null) throw new ModelUnavailableError(this.swap.failure?.reason ?? 'no model loaded yet');
    const pending: Array<Promise<ForecastResult[]>> = [];
    try {
      const model = lease.model;
      const snapshot = this.windows.get(model.encoders) ?? (await this.windows.ensure(model.encoders));
      const fleet = this.fleetFor(snapshot);
      const profiles = new Map(fleet.map((s) => [s.name, s.profile]));
      const chunks: FleetMember[][] = [];
      for (let i = 0; i < fleet.length; i += chunkSize) chunks.push(fleet.slice(i, i + chunkSize));
      const plans = chunks.map((chunk) =>
        planInputs(
          snapshot,
          chunk.map((s) => s.name),
          profiles,
        ),
      );
      const start = (i: number): void => {
        const plan = plans[i];
        if (plan === undefined || pending[i] !== undefined) return;
        const run = plan.inputs.length > 0 ? model.forecast(plan.inputs) : Promise.resolve([]);
        run.catch(() => undefined); // awaited below; this keeps an abandoned chunk from being unhandled
        pending[i] = run;
      };
      start(0);
      const head = JSON.stringify({
        ...this.batchMeta(model),
        missing: plans.flatMap((p) => p.missing),
        coverage: fleetCoverage(model, fleet, snapshot.windows, this.hasManifest),
      });
      yield `${head.slice(0, -1)},"servers":[`;
      for (let i = 0; i < chunks.length; i++) {
        start(i + 1);
        const plan = plans[i]!;
        const forecasts = this.recordResults(model, plan.inputs, await pending[i]!);
        const entries = JSON.stringify(fleetEntries(model, chunks[i]!, forecasts, plan.missing));
        yield `${i > 0 ? ',' : ''}${entries.slice(1, -1)}`;
      }
      yield ']}';
    } finally {
      // a stopped consumer must not release the model under a chunk still running on it
      await Promise.allSettled(pending);
      lease.done();
    }
  }

  healthStatus(): HealthStatus {
    if (this.slot.current === null) return 'unavailable';
    return this.swap.failure !== null || this.coverageGap() !== null ? 'degraded' : 'ok';
  }

  /** Why the serving model does not cover the manifest, or null when it does. */
  coverageGap(): string | null {
    const model = this.slot.current;
    if (!model || !this.hasManifest) return null;
    const { missing } = vocabularyCoverage(
      (this.manifest ?? []).map((s) => s.name),
      model.vocabulary,
    );
    if (missing.length === 0) return null;
    return `model ${model.id} lacks ${missing.length} manifest server(s), forecast as unknown: ${listServers(missing)}`;
  }

  health(): Record<string, unknown> {
    const model = this.slot.current;
    const failure = this.swap.failure;
    const snapshot = model ? this.windows.get(model.encoders) : undefined;
    const status = this.healthStatus();
    return {
      status,
      reason: failure?.reason ?? (model === null ? 'no model loaded' : this.coverageGap()),
      model_id: model?.id ?? null,
      model_digest: model?.digest ?? null,
      model_age: model ? modelAge(model.id, this.now()) : null,
      deployed_at: this.swap.pointer?.deployed_at ?? null,
      pointer_reason: this.swap.pointer?.reason ?? null,
      last_swap: this.swap.lastSwap,
      last_reload: this.swap.lastOutcome,
      failed_swaps: this.failedSwaps,
      retry: failure
        ? {
            target_model_id: failure.targetModelId,
            attempts: failure.attempts,
            since: failure.since,
            next_retry_at: failure.nextRetryAt,
          }
        : null,
      windows: snapshot
        ? {
            servers: snapshot.windows.size,
            loaded_at: snapshot.loadedAt.toISOString(),
            newest_data: snapshot.newestData?.toISOString() ?? null,
            last_error: this.windowError,
          }
        : null,
    };
  }

  /** The seed's monitor status: drift, unknown-prediction rate, coverage, model age. */
  status(): Record<string, unknown> {
    const model = this.slot.current;
    const snapshot = model ? this.windows.get(model.encoders) : undefined;
    const fleet = snapshot ? this.fleetFor(snapshot) : [];
    const { servers: unknownServers, ...unknownPredictions } = this.unknown.stats();
    return {
      status: this.healthStatus(),
      model: model
        ? {
            id: model.id,
            ...modelAge(model.id, this.now()),
            deployed_at: this.swap.pointer?.deployed_at ?? null,
          }
        : null,
      drift: model ? fleetDrift(model, fleet, this.hasManifest) : null,
      unknown_predictions: unknownPredictions,
      unknown_servers: unknownServers,
      coverage: this.coverage(),
      last_swap: this.swap.lastSwap,
      failed_swaps: this.failedSwaps,
    };
  }

  coverage(): CoverageSummary | null {
    const model = this.slot.current;
    const snapshot = model ? this.windows.get(model.encoders) : undefined;
    if (!model || !snapshot) return null;
    return fleetCoverage(model, this.fleetFor(snapshot), snapshot.windows, this.hasManifest);
  }

  /** The fleet (manifest ∪ live servers), recomputed only when the manifest or windows change. */
  fleetFor(snapshot: WindowSnapshot): FleetMember[] {
    const cached = this.fleetCache;
    if (cached && cached.manifest === this.manifest && cached.snapshot === snapshot) return cached.fleet;
    const fleet = mergeFleet(this.manifest, snapshot.windows);
    this.fleetCache = { manifest: this.manifest, snapshot, fleet };
    return fleet;
  }

  private async withModel<T>(fn: (model: ServingModel, snapshot: WindowSnapshot) => Promise<T>): Promise<T> {
    const lease = this.slot.acquire();
    if (lease === null) throw new ModelUnavailableError(this.swap.failure?.reason ?? 'no model loaded yet');
    try {
      const snapshot =
        this.windows.get(lease.model.encoders) ?? (await this.windows.ensure(lease.model.encoders));
      return await fn(lease.model, snapshot);
    } finally {
      lease.done();
    }
  }

  private async forecastMany(
    model: ServingModel,
    snapshot: WindowSnapshot,
    servers: readonly string[],
    profiles: ReadonlyMap<string, string | null>,
  ): Promise<ForecastBatch> {
    const { inputs, missing } = planInputs(snapshot, servers, profiles);
    const results = inputs.length > 0 ? await model.forecast(inputs) : [];
    return {
      ...this.batchMeta(model),
      forecasts: this.recordResults(model, inputs, results),
      missing,
    };
  }

  private batchMeta(model: ServingModel): Omit<ForecastBatch, 'forecasts' | 'missing'> {
    const { encoders } = model;
    return {
      model_id: model.id,
      generated_at: this.now().toISOString(),
      step_seconds: encoders.resolution_seconds,
      horizon_steps: encoders.horizon_steps,
      targets: encoders.targets,
      quantiles: encoders.quantiles,
    };
  }

  /** Formats results and counts them as known/unknown predictions (rolling rate, /metrics). */
  private recordResults(
    model: ServingModel,
    inputs: readonly ForecastInput[],
    results: readonly ForecastResult[],
  ): ServerForecast[] {
    let unknown = 0;
    const forecasts = results.map((result, i) => {
      this.unknown.record(result.server, result.known);
      if (!result.known) unknown++;
      const profile = result.known
        ? (model.encoders.server_profiles[result.server] ?? null)
        : (inputs[i]!.profile ?? null);
      return formatForecast(result, model.encoders, profile);
    });
    if (results.length - unknown > 0)
      this.metrics.predictions.inc({ known: 'true' }, results.length - unknown);
    if (unknown > 0) this.metrics.predictions.inc({ known: 'false' }, unknown);
    return forecasts;
  }

  private async readTarget(): Promise<SwapTarget | null> {
    const pointer = await readPointer(this.options.registry);
    if (pointer === null) return null;
    return {
      modelId: pointer.model_id,
      dir: modelDir(this.options.registry, pointer.model_id),
      digest: pointer.sha256,
      pointer,
    };
  }

  private recordOutcome(outcome: SwapOutcome): void {
    if (outcome.result === 'unchanged') return;
    this.metrics.swaps.inc({ result: outcome.result });
    if (outcome.result === 'failure') this.failedSwaps++;
  }
}
