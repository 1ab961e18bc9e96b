import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getErrorMessage } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/logger.js';
import { modelDir } from '../../registry/layout.js';
import { readPointer } from '../../registry/pointer.js';
import type { Pointer } from '../../registry/schemas.js';
import type { ModelLoader, ServingModel } from '../serving-model.js';
import { ModelWorkerPool, WorkerModel } from '../worker/pool.js';
import { mergeFleet, type FleetMember, type ManifestEntry } from './fleet.js';
import { FLEET_CHUNK_SIZE, type FleetForecast, type ForecastBatch } from './forecast-batch.js';
import { ForecastFailures } from './forecast-failures.js';
import { Forecaster } from './forecaster.js';
import { currentCoverage, currentDrift, currentStale, healthStatus, readyResponse } from './health.js';
import { ServiceMetrics } from './metrics.js';
import { ModelSlot } from './model-slot.js';
import { CANDIDATE_STATE_FILE, CandidateEvaluator } from './candidate.js';
import { LiveAccuracy, liveShape, type LiveAccuracyOptions } from './live-accuracy.js';
import { modelAge } from './monitor.js';
import { redactPaths } from './public-text.js';
import { ServingHistory } from './serving-history.js';
import type { GitSyncStatus, ModelError, ServiceState, ShutdownState, WindowError } from './service-state.js';
import { SwapController, type SwapOutcome, type SwapTarget, type SwapTrigger } from './swap.js';
import { UnknownPredictionTracker, DEFAULT_UNKNOWN_WINDOW_SECONDS } from './unknown-tracker.js';
import { WindowCache, type WindowFetcher, type WindowSnapshot } from './window-cache.js';

export interface ForecastServiceOptions {
  /** Model registry directory (current.json + models/). */
  registry: string;
  /** Latest input windows from the metrics source. */
  windowFetcher: WindowFetcher;
  /** Reads the fleet manifest; omitted = no manifest (the fleet is whatever reports metrics). */
  loadManifest?: () => Promise<ManifestEntry[]>;
  /** Default: each model in a pooled worker thread (worker/pool.ts). */
  loadModel?: ModelLoader;
  /** How often windows (and the manifest) are reloaded; default 60 s. 0 disables the timer. */
  refreshIntervalMs?: number;
  /**
   * A server whose data ends longer ago than this is stale (flagged in forecasts, /health
   * degraded). Default: twice the longer of the refresh interval and the model's resolution.
   */
  staleAfterMs?: number;
  /** Absolute paths answers may name by a label instead (the registry is always one). */
  publicPaths?: ReadonlyArray<readonly [string, string]>;
  unknownWindowSeconds?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  logger?: Logger;
  /** Servers per model call in the streamed fleet forecast; default FLEET_CHUNK_SIZE. */
  fleetChunkSize?: number;
  /** Process metrics (CPU, heap, event loop) in /metrics; default true. */
  defaultMetrics?: boolean;
  now?: () => Date;
  /**
   * The service's own state directory (never the GitOps repository): live accuracy is kept there
   * (`live-accuracy.json`), read at start, written periodically and on close. Omitted: in memory only.
   */
  stateDir?: string;
  /** How often the state is written; default 5 min. 0: only on close. */
  stateSaveIntervalMs?: number;
  /** Live accuracy window and memory bounds (live-accuracy.ts). */
  liveAccuracy?: Omit<LiveAccuracyOptions, 'logger'>;
  /** The model to serve instead of current.json's (a pinned instance: pinned-target.ts). */
  readTarget?: () => Promise<SwapTarget | null>;
}

export const LIVE_ACCURACY_FILE = 'live-accuracy.json';

/**
 * The inference service without HTTP: follows the pointer through the swap controller, keeps
 * the latest windows and the manifest in memory, and forecasts through a Forecaster. /health and
 * /status are built from its state (ServiceState) by health.ts and status.ts.
 */
export class ForecastService implements ServiceState {
  readonly slot: ModelSlot;
  readonly swap: SwapController;
  readonly windows: WindowCache;
  readonly unknown: UnknownPredictionTracker;
  readonly metrics: ServiceMetrics;
  readonly logger: Logger;
  readonly now: () => Date;
  /** The model worker threads, unless the caller brought its own loader. */
  private workers: ModelWorkerPool | null = null;
  private manifestEntries: ManifestEntry[] | null = null;
  private fleetCache: {
    manifest: ManifestEntry[] | null;
    snapshot: WindowSnapshot;
    fleet: FleetMember[];
  } | null = null;
  private readonly forecaster: Forecaster;
  private refreshTimer: NodeJS.Timeout | null = null;
  private lastWindowError: WindowError | null = null;
  private failedSwapCount = 0;
  private lastModelError: ModelError | null = null;
  private gitStatus: (() => GitSyncStatus) | null = null;
  private readonly publicPaths: ReadonlyArray<readonly [string, string]>;
  private closed = false;
  readonly failures: ForecastFailures;
  /** Served forecasts scored against later actuals (live-accuracy.ts). */
  readonly live: LiveAccuracy;
  /** Swap events and live q-risk over time, for the dashboard (serving-history.ts). */
  readonly history: ServingHistory;
  private saveTimer: NodeJS.Timeout | null = null;
  private shutdownState: ShutdownState | null = null;
  /** The pointer's candidate, shadow or A/B (candidate.ts). */
  readonly candidate: CandidateEvaluator;
  private lastPointer: Pointer | null = null;

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
    this.failures = new ForecastFailures(this.now);
    this.live = new LiveAccuracy({ ...options.liveAccuracy, logger: this.logger });
    this.history = new ServingHistory({
      ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}),
      logger: this.logger,
      now: this.now,
    });
    this.publicPaths = [[options.registry, '<registry>'], ...(options.publicPaths ?? [])];
    this.metrics = new ServiceMetrics(
      {
        unknownRatePct: () => {
          if (this.slot.current === null) return null;
          const stats = this.unknown.stats();
          return stats.total === 0 ? null : stats.rate_pct;
        },
        coveragePct: () => currentCoverage(this)?.coverage_pct ?? null,
        modelAgeSeconds: () => {
          const model = this.slot.current;
          return model === null ? null : modelAge(model.id, this.now()).age_seconds;
        },
        modelId: () => this.slot.current?.id ?? null,
        degraded: () => healthStatus(this) !== 'ok',
        ready: () => readyResponse(this).status === 'ready',
        driftPct: () => currentDrift(this)?.drift_pct ?? null,
        failingServers: () => this.failures.countByReason(),
        staleServers: () => currentStale(this)?.servers.length ?? null,
        invalidServerNames: () => this.snapshot?.invalidNames.count ?? null,
        liveAccuracy: () => this.live.summary(),
        liveAccuracyErrors: () => this.live.errors,
      },
      { defaultMetrics: options.defaultMetrics ?? true },
    );
    const loadModel = options.loadModel ?? (this.workers = new ModelWorkerPool()).load;
    this.candidate = new CandidateEvaluator({
      registry: options.registry,
      loadModel,
      windows: this.windows,
      slot: this.slot,
      fleetFor: (snapshot) => this.fleetFor(snapshot),
      live: this.live,
      liveOptions: options.liveAccuracy ?? {},
      logger: this.logger,
      now: this.now,
      statePath: options.stateDir === undefined ? null : join(options.stateDir, CANDIDATE_STATE_FILE),
    });
    this.swap = new SwapController({
      slot: this.slot,
      // a pinned instance (options.readTarget) follows no pointer, so it evaluates no candidate
      readTarget: options.readTarget ?? (() => this.readTarget()),
      loadModel,
      windowsFor: async (model) => (await this.windows.ensure(model.encoders)).windows,
      expectedServers: async (windows) => mergeFleet(this.manifestEntries, windows),
      onSwapped: (model, previous) => {
        const candidate = this.candidate.slot.current;
        this.windows.retainOnly([model.encoders, ...(candidate === null ? [] : [candidate.encoders])]);
        // a new vocabulary: the unknown rate and the failed servers start over
        this.unknown.reset();
        this.failures.reset();
        this.lastModelError = null;
        void this.history.swapped(previous?.id ?? null, model.id);
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
    this.forecaster = new Forecaster({
      slot: this.slot,
      windows: this.windows,
      state: this,
      unknown: this.unknown,
      predictions: this.metrics.predictions,
      failureCount: this.metrics.forecastFailures,
      failures: this.failures,
      staleAfterSeconds: (model) => this.staleAfterFor(model),
      onModelError: (model, error) => {
        const message = getErrorMessage(error);
        this.lastModelError = { at: this.now().toISOString(), modelId: model.id, message };
        this.logger.error({ model: model.id, error: message }, 'model call failed; nothing of it was served');
      },
      chunkSize: options.fleetChunkSize ?? FLEET_CHUNK_SIZE,
      abCandidate: (model) => this.candidate.abLease(model),
      onServed: (model, snapshot, results) => {
        if (this.live.scoreCycle(snapshot, model.encoders) > 0) this.sampleHistory();
        this.live.record(liveShape(model), results, snapshot.windows);
      },
    });
  }

  get model(): ServingModel | null {
    return this.slot.current;
  }
  get snapshot(): WindowSnapshot | undefined {
    const model = this.slot.current;
    return model ? this.windows.get(model.encoders) : undefined;
  }
  get windowError(): WindowError | null {
    return this.lastWindowError;
  }
  get failedSwaps(): number {
    return this.failedSwapCount;
  }
  get modelError(): ModelError | null {
    return this.lastModelError;
  }
  get modelInRegistry(): boolean | null {
    const model = this.slot.current;
    return model === null ? null : existsSync(model.dir);
  }
  get staleAfterSeconds(): number | null {
    const model = this.slot.current;
    return model === null ? null : this.staleAfterFor(model);
  }
  get gitSync(): GitSyncStatus | null {
    return this.gitStatus?.() ?? null;
  }
  get shuttingDown(): ShutdownState | null {
    return this.shutdownState;
  }

  /** Turns readiness false for good (the first request wins); forecasts are still answered. */
  beginShutdown(trigger: ShutdownState['trigger']): ShutdownState {
    this.shutdownState ??= { trigger, at: this.now().toISOString() };
    return this.shutdownState;
  }

  /** The git follower's state, for /health (run.ts wires it with `--git`). */
  followGit(status: () => GitSyncStatus): void {
    this.gitStatus = status;
  }

  /** A message without this host's absolute paths (public-text.ts); a bound function, passed around. */
  readonly publicText = (text: string): string => redactPaths(text, this.publicPaths);

  /** Seconds after which a server's data is stale for this model (ForecastServiceOptions.staleAfterMs). */
  staleAfterFor(model: ServingModel): number {
    if (this.options.staleAfterMs !== undefined) return this.options.staleAfterMs / 1000;
    const refreshSeconds = (this.options.refreshIntervalMs ?? 60_000) / 1000;
    return 2 * Math.max(refreshSeconds, model.encoders.resolution_seconds);
  }
  /** Where live accuracy is kept; null without a state directory. */
  get liveStatePath(): string | null {
    return this.options.stateDir === undefined ? null : join(this.options.stateDir, LIVE_ACCURACY_FILE);
  }
  get hasManifest(): boolean {
    return this.options.loadManifest !== undefined;
  }
  get manifest(): readonly ManifestEntry[] | null {
    return this.manifestEntries;
  }

  /** Reads the manifest, loads the deployed model and starts the refresh timer. */
  async start(): Promise<SwapOutcome> {
    const statePath = this.liveStatePath;
    if (statePath !== null) {
      if (await this.live.load(statePath)) this.logger.info({ path: statePath }, 'live accuracy restored');
      await this.history.load();
      await this.candidate.load();
      const every = this.options.stateSaveIntervalMs ?? 300_000;
      if (every > 0 && !this.closed) {
        this.saveTimer = setInterval(() => {
          void this.live.save(statePath);
          void this.history.save();
          void this.candidate.save();
        }, every);
        this.saveTimer.unref();
      }
    }
    if (this.options.loadManifest) this.manifestEntries = await this.options.loadManifest();
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
        this.manifestEntries = await this.options.loadManifest();
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
      const snapshot = await this.windows.refresh(model.encoders);
      this.lastWindowError = null;
      if (this.live.scoreCycle(snapshot, model.encoders) > 0) this.sampleHistory();
      await this.candidate.cycle(snapshot);
    } catch (error) {
      this.lastWindowError = { at: this.now().toISOString(), message: getErrorMessage(error) };
      this.logger.warn(
        { error: this.lastWindowError.message },
        'metrics window refresh failed; keeping the previous windows',
      );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.refreshTimer !== null) clearInterval(this.refreshTimer);
    if (this.saveTimer !== null) clearInterval(this.saveTimer);
    const statePath = this.liveStatePath;
    if (statePath !== null) await Promise.all([this.live.save(statePath), this.history.save()]);
    await this.swap.stop();
    await this.candidate.close();
    await this.slot.close();
    await this.workers?.close();
  }

  /** Forecasts the named servers (already validated names). */
  predict(servers: readonly string[]): Promise<ForecastBatch> {
    return this.forecaster.predict(servers);
  }

  /** The whole fleet in one batch, with coverage. */
  fleetForecast(): Promise<FleetForecast> {
    return this.forecaster.fleetForecast();
  }

  /** `fleetForecast()` as JSON text in pieces, for a streamed response (Forecaster.fleetForecastJson). */
  fleetForecastJson(chunkSize?: number): Promise<AsyncGenerator<string>> {
    return this.forecaster.fleetForecastJson(chunkSize);
  }

  /** The fleet (manifest ∪ live servers), recomputed only when the manifest or windows change. */
  fleetFor(snapshot: WindowSnapshot): FleetMember[] {
    const cached = this.fleetCache;
    const manifest = this.manifestEntries;
    if (cached && cached.manifest === manifest && cached.snapshot === snapshot) return cached.fleet;
    const fleet = mergeFleet(manifest, snapshot.windows, snapshot.pending);
    this.fleetCache = { manifest, snapshot, fleet };
    return fleet;
  }

  /** The live q-risk history takes a sample (it decides whether one is due). */
  private sampleHistory(): void {
    this.history.sampleAccuracy(() => this.live.summary());
  }

  private async readTarget(): Promise<SwapTarget | null> {
    const pointer = await readPointer(this.options.registry);
    this.lastPointer = pointer;
    if (pointer === null) return null;
    return {
      modelId: pointer.model_id,
      dir: modelDir(this.options.registry, pointer.model_id),
      digest: pointer.sha256,
      pointer,
    };
  }

  private recordOutcome(outcome: SwapOutcome): void {
    // after every pointer read, so the candidate is checked beside the serving model it joins
    if (!this.closed) void this.candidate.sync(this.lastPointer?.candidate);
    if (outcome.result === 'unchanged') return;
    this.metrics.swaps.inc({ result: outcome.result });
    if (outcome.result === 'failure') this.failedSwapCount++;
  }
}
