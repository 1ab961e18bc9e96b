import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from '../../core/atomic-write.js';
import { getErrorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { modelDir } from '../../registry/layout.js';
import type { PointerCandidate } from '../../registry/schemas.js';
import type { ModelLoader, ServingModel } from '../serving-model.js';
import { CandidateRoute } from './candidate-route.js';
import type { FleetMember } from './fleet.js';
import { fleetProfiles, planInputs } from './forecast-batch.js';
import {
  DEFAULT_LIVE_WINDOW_SECONDS,
  LiveAccuracy,
  liveShape,
  type LiveAccuracyOptions,
  type LiveModelAccuracy,
} from './live-accuracy.js';
import { ModelSlot, type ModelLease } from './model-slot.js';
import { coverageVerdict, warmUpInputs, warmUpProblems } from './warm-up.js';
import { shapeKey, type WindowCache, type WindowSnapshot } from './window-cache.js';

/**
 * The candidate model beside the serving one (docs/candidate.md). It lives in its own slot (and,
 * through the worker pool, on the other worker thread), loaded with the sha256 the pointer pins
 * and warmed up like a swap. Every forecast cycle (window load) both models forecast the whole
 * fleet from the same windows; the servers both forecast are recorded in a comparison of their
 * own (a LiveAccuracy holding just these two models), so the two are scored on exactly the same
 * points. The candidate's forecasts also go to the service's live accuracy under its model id.
 * In A/B mode `abRoute()` tells the forecaster which servers the candidate serves.
 */

export const CandidateComparisonJson = z.strictObject({
  serving_model_id: z.string(),
  /** Null when the models can be scored on the same points; else why not. */
  incomparable: z.string().nullable(),
  /** Forecast steps (server × time) scored for both models, in the live-accuracy window. */
  shared_points: z.number().int(),
  /** Hours from the first shared forecast's start to the newest actual. */
  live_hours: z.number(),
  window_seconds: z.number(),
  /** Mean over targets of each model's q-risk at P50 and P90 on the shared points. */
  q_risk: z.strictObject({
    p50: z.strictObject({ candidate: z.number().nullable(), serving: z.number().nullable() }),
    p90: z.strictObject({ candidate: z.number().nullable(), serving: z.number().nullable() }),
  }),
  /** Per target and quantile, both models (live-accuracy.ts). */
  models: z.array(
    z.strictObject({
      model: z.string(),
      scored_points: z.number().int(),
      q_risk: z.array(
        z.strictObject({ target: z.string(), quantile: z.number(), q_risk: z.number().nullable() }),
      ),
    }),
  ),
});
export type CandidateComparisonJson = z.infer<typeof CandidateComparisonJson>;

/** `/status` → `candidate`: what the pointer asks for, whether it is loaded, and the comparison. */
export const CandidateStatusJson = z.strictObject({
  model_id: z.string(),
  mode: z.enum(['shadow', 'ab']),
  /** A/B: share of servers the candidate serves; null in shadow mode. */
  share: z.number().nullable(),
  since: z.string(),
  state: z.enum(['loading', 'active', 'failed']),
  /** Why the candidate could not be loaded or used (state `failed`). */
  error: z.string().nullable(),
  /** Forecast cycles the candidate ran. */
  cycles: z.number().int(),
  comparison: CandidateComparisonJson.nullable(),
});
export type CandidateStatusJson = z.infer<typeof CandidateStatusJson>;

export const CANDIDATE_STATE_FILE = 'candidate-comparison.json';

const StateFile = z.strictObject({
  format_version: z.literal(1),
  candidate_model_id: z.string(),
  serving_model_id: z.string(),
  first_origin: z.number().nullable(),
  newest_actual: z.number().nullable(),
  live: z.string(),
});

export interface CandidateDeps {
  registry: string;
  loadModel: ModelLoader;
  windows: WindowCache;
  slot: ModelSlot;
  fleetFor(snapshot: WindowSnapshot): FleetMember[];
  /** The service's live accuracy: the candidate's forecasts are recorded there under its id too. */
  live: LiveAccuracy;
  liveOptions: Omit<LiveAccuracyOptions, 'logger'>;
  logger: Logger;
  now: () => Date;
  /** The comparison is kept here (CANDIDATE_STATE_FILE) across restarts; null: memory only. */
  statePath: string | null;
}

interface Loaded {
  spec: PointerCandidate;
  state: 'loading' | 'active' | 'failed';
  error: string | null;
  model: ServingModel | null;
}

export class CandidateEvaluator {
  /** The candidate's own slot: a model in use by a cycle or a request is released after it. */
  readonly slot: ModelSlot;
  private loaded: Loaded | null = null;
  private route: CandidateRoute | null = null;
  private comparison: LiveAccuracy;
  /** The pair the comparison is about (candidate id, serving id). */
  private pair: { candidate: string; serving: string } | null = null;
  private firstOrigin: number | null = null;
  private newestActual: number | null = null;
  private lastCycle: string | null = null;
  private cycles = 0;
  private syncing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly deps: CandidateDeps) {
    this.slot = new ModelSlot((model, error) =>
      deps.logger.warn({ model: model.id, error: getErrorMessage(error) }, 'releasing the candidate failed'),
    );
    this.comparison = this.newComparison();
  }

  private newComparison(): LiveAccuracy {
    return new LiveAccuracy({ ...this.deps.liveOptions, maxModels: 2, logger: this.deps.logger });
  }

  /** The candidate the pointer names now (null: none); loads, replaces or drops it. Serialized. */
  sync(spec: PointerCandidate | null | undefined): Promise<void> {
    const next = this.syncing.then(() => this.apply(spec ?? null));
    this.syncing = next.catch(() => undefined);
    return next;
  }

  private async apply(spec: PointerCandidate | null): Promise<void> {
    if (this.closed) return;
    const current = this.loaded?.spec;
    if (spec === null) {
      if (current !== undefined) this.deps.logger.info({ candidate: current.model_id }, 'candidate removed');
      this.loaded = null;
      this.route = null;
      await this.drop();
      return;
    }
    if (
      current?.model_id === spec.model_id &&
      current.sha256 === spec.sha256 &&
      this.loaded?.state !== 'failed'
    ) {
      // same model: a mode or share change applies at once, the comparison goes on
      this.loaded = { ...this.loaded!, spec };
      this.route =
        spec.mode === 'ab' && this.loaded.state === 'active' ? new CandidateRoute(spec.share!) : null;
      return;
    }
    this.loaded = { spec, state: 'loading', error: null, model: null };
    this.route = null;
    await this.drop();
    let model: ServingModel | null = null;
    try {
      model = await this.deps.loadModel(modelDir(this.deps.registry, spec.model_id), {
        expectedDigest: spec.sha256,
      });
      await this.warmUp(model, spec);
    } catch (error) {
      await model?.release().catch(() => undefined);
      const message = getErrorMessage(error);
      this.loaded = { spec, state: 'failed', error: message, model: null };
      this.deps.logger.error(
        { candidate: spec.model_id, error: message },
        'candidate not loaded; serving is unaffected',
      );
      return;
    }
    if (this.closed || this.loaded?.spec !== spec) {
      await model.release().catch(() => undefined);
      return;
    }
    this.slot.swap(model, this.deps.now());
    this.loaded = { spec, state: 'active', error: null, model };
    this.route = spec.mode === 'ab' ? new CandidateRoute(spec.share!) : null;
    this.deps.logger.info(
      {
        candidate: spec.model_id,
        mode: spec.mode,
        ...(spec.share === undefined ? {} : { share: spec.share }),
      },
      'candidate loaded',
    );
    // the first cycle now, not at the next window load
    const serving = this.deps.slot.current;
    const snapshot = serving === null ? undefined : this.deps.windows.get(serving.encoders);
    if (snapshot !== undefined) await this.cycle(snapshot);
  }

  /** Resolves once the candidate the pointer named last is loaded (or failed, or dropped). */
  settled(): Promise<void> {
    return this.syncing;
  }

  /** The swap's checks, for a model that may serve in A/B: finite forecasts for every server. */
  private async warmUp(model: ServingModel, spec: PointerCandidate): Promise<void> {
    const snapshot = await this.deps.windows.ensure(model.encoders);
    const fleet = this.deps.fleetFor(snapshot);
    const serving = this.deps.slot.current;
    if (spec.mode === 'ab') {
      const { missing } = coverageVerdict(model.id, model.vocabulary, fleet, null);
      if (missing.length > 0)
        throw new Error(
          `${model.id} misses ${missing.length} manifest server(s) (${missing.slice(0, 5).join(', ')}); in A/B it would serve them unknown forecasts`,
        );
      if (serving !== null && shapeKey(serving.encoders) !== shapeKey(model.encoders))
        throw new Error(
          `${model.id} reads windows of another shape (${shapeKey(model.encoders)}) than ${serving.id} (${shapeKey(serving.encoders)}); A/B needs the same input windows`,
        );
    }
    const inputs = warmUpInputs(model, fleet, snapshot.windows, this.deps.now().getTime() / 1000);
    const problems = warmUpProblems(model, inputs, await model.forecastEach(inputs));
    if (problems.length > 0) throw new Error(`warm-up failed: ${problems.slice(0, 3).join('; ')}`);
  }

  /** Retires the loaded candidate; it is released once requests using it finish (the slot stays usable). */
  private async drop(): Promise<void> {
    if (this.slot.current === null) return;
    await this.slot.close();
  }

  /**
   * A/B only: a lease on the candidate and which servers it serves, for one request; null when
   * no candidate serves (shadow, loading, failed) or it cannot take `serving`'s windows.
   */
  abLease(serving: ServingModel): { lease: ModelLease; serves(server: string): boolean } | null {
    const route = this.route;
    if (route === null) return null;
    const lease = this.slot.acquire();
    if (lease === null) return null;
    if (shapeKey(lease.model.encoders) !== shapeKey(serving.encoders)) {
      lease.done();
      return null;
    }
    return { lease, serves: (server) => route.serves(server) };
  }

  /** Why these two models cannot be scored on the same points; null when they can. */
  static incomparable(a: ServingModel, b: ServingModel): string | null {
    const x = a.encoders;
    const y = b.encoders;
    if (x.resolution_seconds !== y.resolution_seconds)
      return `resolution ${y.resolution_seconds} s vs ${x.resolution_seconds} s`;
    if (x.horizon_steps !== y.horizon_steps) return `horizon ${y.horizon_steps} vs ${x.horizon_steps} steps`;
    if (x.targets.join(',') !== y.targets.join(','))
      return `targets ${y.targets.join(',')} vs ${x.targets.join(',')}`;
    if (x.quantiles.join(',') !== y.quantiles.join(','))
      return `quantiles ${y.quantiles.join(',')} vs ${x.quantiles.join(',')}`;
    if (x.observed_features.join(',') !== y.observed_features.join(','))
      return `observed features ${y.observed_features.join(',')} vs ${x.observed_features.join(',')}`;
    return null;
  }

  /**
   * One forecast cycle of the candidate: once per window load of the serving model, both models
   * forecast every fleet server from the same windows; the servers both forecast go into the
   * comparison, which then scores what the windows now cover. Never throws (logged).
   */
  async cycle(servingSnapshot: WindowSnapshot): Promise<void> {
    const servingLease = this.deps.slot.acquire();
    const candidateLease = this.slot.acquire();
    try {
      if (servingLease === null || candidateLease === null) return;
      const serving = servingLease.model;
      const candidate = candidateLease.model;
      if (servingSnapshot.key !== shapeKey(serving.encoders)) return;
      const key = `${serving.id}/${candidate.id}/${servingSnapshot.cycle}`;
      if (this.lastCycle === key) return;
      this.lastCycle = key;
      const candidateSnapshot =
        shapeKey(candidate.encoders) === servingSnapshot.key
          ? servingSnapshot
          : await this.deps.windows.refresh(candidate.encoders);
      this.resetIfNewPair(candidate.id, serving.id);
      const fleet = this.deps.fleetFor(servingSnapshot);
      const names = fleet.map((s) => s.name);
      const profiles = fleetProfiles(fleet);
      const incomparable = CandidateEvaluator.incomparable(serving, candidate);
      const candidatePlan = planInputs(candidate, candidateSnapshot, names, profiles);
      const servingPlan =
        incomparable === null ? planInputs(serving, servingSnapshot, names, profiles) : null;
      const [candidateOut, servingOut] = await Promise.all([
        candidate.forecastEach(candidatePlan.inputs),
        servingPlan === null ? null : serving.forecastEach(servingPlan.inputs),
      ]);
      this.cycles++;
      this.deps.live.record(liveShape(candidate), candidateOut.results, candidateSnapshot.windows);
      this.deps.live.scoreCycle(candidateSnapshot, candidate.encoders);
      if (servingOut === null) return;
      const both = new Set(servingOut.results.map((r) => r.server));
      const shared = candidateOut.results.filter((r) => both.has(r.server));
      const sharedNames = new Set(shared.map((r) => r.server));
      this.comparison.record(
        liveShape(serving),
        servingOut.results.filter((r) => sharedNames.has(r.server)),
        servingSnapshot.windows,
      );
      this.comparison.record(liveShape(candidate), shared, candidateSnapshot.windows);
      for (const r of shared)
        if (this.firstOrigin === null || r.start < this.firstOrigin) this.firstOrigin = r.start;
      this.comparison.scoreCycle(servingSnapshot, serving.encoders);
      const newest = servingSnapshot.newestData?.getTime();
      if (newest !== undefined && (this.newestActual === null || newest / 1000 > this.newestActual))
        this.newestActual = newest / 1000;
    } catch (error) {
      this.deps.logger.warn(
        { error: getErrorMessage(error) },
        'candidate forecast cycle failed; serving is unaffected',
      );
    } finally {
      servingLease?.done();
      candidateLease?.done();
    }
  }

  private resetIfNewPair(candidate: string, serving: string): void {
    if (this.pair?.candidate === candidate && this.pair.serving === serving) return;
    this.pair = { candidate, serving };
    this.comparison = this.newComparison();
    this.firstOrigin = null;
    this.newestActual = null;
  }

  /** `/status` → `candidate`; null when the pointer names none. */
  status(): CandidateStatusJson | null {
    const loaded = this.loaded;
    if (loaded === null) return null;
    const { spec } = loaded;
    return {
      model_id: spec.model_id,
      mode: spec.mode,
      share: spec.share ?? null,
      since: spec.since,
      state: loaded.state,
      error: loaded.error,
      cycles: this.cycles,
      comparison: this.comparisonJson(),
    };
  }

  private comparisonJson(): CandidateComparisonJson | null {
    const serving = this.deps.slot.current;
    const candidate = this.slot.current;
    if (serving === null || candidate === null) return null;
    const incomparable = CandidateEvaluator.incomparable(serving, candidate);
    const samePair = this.pair?.candidate === candidate.id && this.pair.serving === serving.id;
    const summary = samePair && incomparable === null ? this.comparison.summary() : [];
    const of = (id: string) => summary.find((m) => m.model === id);
    const c = of(candidate.id);
    const s = of(serving.id);
    const shared = Math.min(c?.scored_points ?? 0, s?.scored_points ?? 0);
    const liveHours =
      shared > 0 && this.firstOrigin !== null && this.newestActual !== null
        ? Math.max(0, (this.newestActual - this.firstOrigin) / 3600)
        : 0;
    return {
      serving_model_id: serving.id,
      incomparable,
      shared_points: shared,
      live_hours: Number(liveHours.toFixed(3)),
      window_seconds: this.deps.liveOptions.windowSeconds ?? DEFAULT_LIVE_WINDOW_SECONDS,
      q_risk: {
        p50: { candidate: meanQRisk(c, 0.5), serving: meanQRisk(s, 0.5) },
        p90: { candidate: meanQRisk(c, 0.9), serving: meanQRisk(s, 0.9) },
      },
      models: [c, s]
        .filter((m): m is LiveModelAccuracy => m !== undefined)
        .map((m) => ({
          model: m.model,
          scored_points: m.scored_points,
          q_risk: m.q_risk.map((q) => ({ target: q.target, quantile: q.quantile, q_risk: q.q_risk })),
        })),
    };
  }

  /** Writes the comparison (atomically); errors are logged. */
  async save(): Promise<void> {
    const path = this.deps.statePath;
    if (path === null || this.pair === null) return;
    try {
      const file: z.infer<typeof StateFile> = {
        format_version: 1,
        candidate_model_id: this.pair.candidate,
        serving_model_id: this.pair.serving,
        first_origin: this.firstOrigin,
        newest_actual: this.newestActual,
        live: this.comparison.serialize(),
      };
      await writeFileAtomic(path, JSON.stringify(file));
    } catch (error) {
      this.deps.logger.warn(
        { path, error: getErrorMessage(error) },
        'writing the candidate comparison failed',
      );
    }
  }

  /** Restores a saved comparison; it applies only while the same two models are compared. */
  async load(): Promise<boolean> {
    const path = this.deps.statePath;
    if (path === null) return false;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return false;
    }
    try {
      const file = StateFile.parse(JSON.parse(text));
      const comparison = this.newComparison();
      comparison.restore(file.live);
      this.comparison = comparison;
      this.pair = { candidate: file.candidate_model_id, serving: file.serving_model_id };
      this.firstOrigin = file.first_origin;
      this.newestActual = file.newest_actual;
      return true;
    } catch (error) {
      this.deps.logger.warn(
        { path, error: getErrorMessage(error) },
        'candidate comparison unreadable; starting empty',
      );
      return false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.syncing;
    await this.save();
    this.route = null;
    await this.slot.close();
  }
}

/** Mean over targets of the q-risk at quantile `q`; null when any target has none yet. */
function meanQRisk(model: LiveModelAccuracy | undefined, q: number): number | null {
  if (model === undefined) return null;
  const values = model.q_risk.filter((r) => Math.abs(r.quantile - q) < 1e-9).map((r) => r.q_risk);
  if (values.length === 0 || values.some((v) => v === null)) return null;
  return (values as number[]).reduce((a, b) => a + b, 0) / values.length;
}
