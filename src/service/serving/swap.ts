import type { RecentWindow } from '../../features/windows.js';
import type { Pointer } from '../../registry/schemas.js';
import { getErrorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ModelSlot } from './model-slot.js';
import { listServers } from '../../fleet/coverage.js';
import type { ModelLoader, ServingModel } from '../serving-model.js';
import type { FleetMember } from './fleet.js';
import { coverageVerdict, warmUpInputs, warmUpProblems } from './warm-up.js';

/** The model the pointer names. */
export interface SwapTarget {
  modelId: string;
  dir: string;
  /** sha256 of SHA256SUMS pinned by the pointer. */
  digest: string;
  pointer: Pointer;
}

export const SWAP_TRIGGERS = ['startup', 'pointer', 'git', 'admin', 'retry', 'crash'] as const;
export type SwapTrigger = (typeof SWAP_TRIGGERS)[number];
export const SWAP_RESULTS = ['success', 'failure', 'unchanged'] as const;
export type SwapResult = (typeof SWAP_RESULTS)[number];

export interface SwapOutcome {
  result: SwapResult;
  trigger: SwapTrigger;
  /** The model serving after this attempt (null when none could ever be loaded). */
  activeModelId: string | null;
  targetModelId: string | null;
  reason?: string;
  durationMs: number;
  at: string;
}

/** The last swap that changed the serving model. */
export interface LastSwap {
  at: string;
  from: string | null;
  to: string;
  durationMs: number;
}

export interface SwapFailure {
  targetModelId: string | null;
  reason: string;
  since: string;
  attempts: number;
  nextRetryAt: string | null;
}

export interface SwapDeps {
  slot: ModelSlot;
  /** Reads the pointer; null when nothing is deployed. Throws when the pointer is unreadable. */
  readTarget(): Promise<SwapTarget | null>;
  loadModel: ModelLoader;
  /** Latest windows for the new model's input shape (loaded once per shape). */
  windowsFor(model: ServingModel): Promise<ReadonlyMap<string, RecentWindow>>;
  /** Servers every model must handle: the manifest's (inManifest) plus live servers in `windows`. */
  expectedServers(windows: ReadonlyMap<string, RecentWindow>): Promise<FleetMember[]>;
  /** Called after a successful swap (caches, metrics, logs). */
  onSwapped?(model: ServingModel, previous: ServingModel | null): void;
  onOutcome?(outcome: SwapOutcome): void;
  logger?: Logger;
  /** First retry delay after a failed swap; doubles per failure up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  now?: () => Date;
}

export class SwapAbort extends Error {}

/**
 * The swap protocol: load → verify sha256 against the pointer → vocabulary covers the manifest →
 * warm-up forecast of every expected server and of the unknown slot for each profile, exactly
 * shaped and all finite → swap atomically → the slot releases the
 * old session after its in-flight requests. Any failure keeps the old model, records why, and
 * schedules a retry with exponential backoff. Triggers arriving during a load coalesce into one
 * follow-up load.
 */
export class SwapController {
  private running: Promise<SwapOutcome> | null = null;
  private queued: Promise<SwapOutcome> | null = null;
  private queuedTrigger: SwapTrigger = 'pointer';
  private retryTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private failureState: SwapFailure | null = null;
  private failureKey: string | null = null;
  private last: SwapOutcome | null = null;
  private lastSwapState: LastSwap | null = null;
  private activePointer: Pointer | null = null;
  private loadsStarted = 0;

  constructor(private readonly deps: SwapDeps) {}

  get failure(): SwapFailure | null {
    return this.failureState;
  }
  get lastOutcome(): SwapOutcome | null {
    return this.last;
  }
  get lastSwap(): LastSwap | null {
    return this.lastSwapState;
  }
  /** The pointer the active model was loaded from. */
  get pointer(): Pointer | null {
    return this.activePointer;
  }
  get loading(): boolean {
    return this.running !== null;
  }
  /** How many loads have started (coalescing shows up as fewer loads than triggers). */
  get loadCount(): number {
    return this.loadsStarted;
  }

  /** Starts (or joins) a reload. At most one load runs and at most one more waits behind it. */
  trigger(trigger: SwapTrigger): Promise<SwapOutcome> {
    if (this.running === null) return this.start(trigger);
    if (this.queued === null) {
      this.queuedTrigger = trigger;
      this.queued = this.running.then(
        () => this.startQueued(),
        () => this.startQueued(),
      );
    }
    return this.queued;
  }

  /** Stops retries and waits for a running load to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearRetry();
    await this.queued?.catch(() => undefined);
    await this.running?.catch(() => undefined);
  }

  private startQueued(): Promise<SwapOutcome> {
    this.queued = null;
    return this.start(this.queuedTrigger);
  }

  private start(trigger: SwapTrigger): Promise<SwapOutcome> {
    this.clearRetry();
    const run = this.attempt(trigger).finally(() => {
      if (this.running === run) this.running = null;
    });
    this.running = run;
    return run;
  }

  private async attempt(trigger: SwapTrigger): Promise<SwapOutcome> {
    const started = performance.now();
    const now = this.deps.now ?? (() => new Date());
    const active = this.deps.slot.current;
    let target: SwapTarget | null = null;
    let outcome: SwapOutcome;
    try {
      target = await this.deps.readTarget();
      if (target === null) throw new SwapAbort('no model deployed: the registry has no current.json');
      if (
        active !== null &&
        active.alive !== false &&
        active.id === target.modelId &&
        active.digest === target.digest
      ) {
        this.activePointer = target.pointer;
        this.clearFailure();
        outcome = this.outcome('unchanged', trigger, target, started, now());
      } else {
        await this.load(target, trigger, started, now);
        this.clearFailure();
        outcome = this.outcome('success', trigger, target, started, now());
      }
    } catch (error) {
      const reason = getErrorMessage(error);
      this.recordFailure(target, reason, now());
      outcome = { ...this.outcome('failure', trigger, target, started, now()), reason };
      const serving = this.deps.slot.current;
      this.deps.logger?.warn(
        { trigger, target: target?.modelId ?? null, active: serving?.id ?? null, reason },
        serving === null
          ? 'model load failed; no model is serving (forecast endpoints answer 503 until one loads)'
          : `model swap failed; model ${serving.id} keeps serving`,
      );
    }
    this.last = outcome;
    this.deps.onOutcome?.(outcome);
    return outcome;
  }

  private async load(
    target: SwapTarget,
    trigger: SwapTrigger,
    started: number,
    now: () => Date,
  ): Promise<void> {
    // a trigger that arrives during shutdown (a git sync finishing, a file event) loads nothing
    if (this.stopped) throw new SwapAbort('service is shutting down');
    this.loadsStarted++;
    const { logger } = this.deps;
    logger?.info({ trigger, target: target.modelId }, 'loading model');
    const model = await this.deps.loadModel(target.dir, { expectedDigest: target.digest });
    try {
      if (model.digest !== target.digest) {
        throw new SwapAbort(
          `${target.modelId}: SHA256SUMS digest ${model.digest.slice(0, 12)}… does not match the pointer's ${target.digest.slice(0, 12)}…`,
        );
      }
      if (model.id !== target.modelId)
        throw new SwapAbort(
          `${target.dir}: model id ${model.id} does not match the pointer's ${target.modelId}`,
        );
      const windows = await this.deps.windowsFor(model);
      const expected = await this.deps.expectedServers(windows);
      const coverage = coverageVerdict(target.modelId, model.vocabulary, expected, this.deps.slot.current);
      const { missing } = coverage;
      if (coverage.verdict === 'refused')
        throw new SwapAbort(
          `${target.modelId}: vocabulary lacks ${missing.length} manifest server(s): ${listServers(missing)}`,
        );
      if (coverage.verdict !== 'covered')
        logger?.warn(
          { trigger, target: target.modelId, missing: missing.length },
          `accepting ${coverage.verdict} model with a coverage gap`,
        );
      const inputs = warmUpInputs(model, expected, windows, now().getTime() / 1000);
      const outcomes = await model.forecastEach(inputs).catch((error: unknown) => {
        throw new SwapAbort(`${target.modelId}: warm-up forecast failed: ${getErrorMessage(error)}`);
      });
      const problems = warmUpProblems(model, inputs, outcomes);
      if (problems.length > 0)
        throw new SwapAbort(`${target.modelId}: warm-up forecast failed: ${problems.join('; ')}`);
      if (this.stopped) throw new SwapAbort('service is shutting down');
    } catch (error) {
      await model.release().catch(() => undefined);
      throw error;
    }
    const previous = this.deps.slot.swap(model, now());
    this.activePointer = target.pointer;
    const durationMs = Math.round(performance.now() - started);
    this.lastSwapState = { at: now().toISOString(), from: previous?.id ?? null, to: model.id, durationMs };
    logger?.info({ trigger, from: previous?.id ?? null, to: model.id, durationMs }, 'model swapped');
    this.deps.onSwapped?.(model, previous);
  }

  private outcome(
    result: SwapResult,
    trigger: SwapTrigger,
    target: SwapTarget | null,
    started: number,
    at: Date,
  ): SwapOutcome {
    return {
      result,
      trigger,
      activeModelId: this.deps.slot.current?.id ?? null,
      targetModelId: target?.modelId ?? null,
      durationMs: Math.round(performance.now() - started),
      at: at.toISOString(),
    };
  }

  private recordFailure(target: SwapTarget | null, reason: string, at: Date): void {
    const key = target === null ? null : `${target.modelId}@${target.digest}`;
    const attempts =
      this.failureState !== null && this.failureKey === key ? this.failureState.attempts + 1 : 1;
    this.failureKey = key;
    const initial = this.deps.initialBackoffMs ?? 1000;
    const max = this.deps.maxBackoffMs ?? 300_000;
    const delay = Math.min(max, initial * 2 ** Math.min(attempts - 1, 30));
    const nextRetryAt = this.stopped ? null : new Date(at.getTime() + delay).toISOString();
    this.failureState = {
      targetModelId: target?.modelId ?? null,
      reason,
      since: attempts === 1 || this.failureState === null ? at.toISOString() : this.failureState.since,
      attempts,
      nextRetryAt,
    };
    if (!this.stopped) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        void this.trigger('retry');
      }, delay);
      this.retryTimer.unref();
    }
  }

  private clearFailure(): void {
    this.failureState = null;
    this.failureKey = null;
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
