import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from '../../core/atomic-write.js';
import { getErrorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { RecentWindow } from '../../features/windows.js';
import { quantileLoss } from '../../validate/qrisk.js';
import type { ForecastResult, ServingModel } from '../serving-model.js';
import { BUCKETS_PER_WINDOW, LiveSlots } from './live-slots.js';

/**
 * Live accuracy: the forecasts the service served, scored against the actuals that later window
 * loads bring, beside seasonal naive (the value one day earlier) on the same points.
 *
 * Memory bound. Per model (at most `maxModels`, default 3), per server, at most `maxOrigins`
 * (default 2) forecast origins, each `horizon × targets × quantiles` float32 values. A new origin
 * is kept only when it starts at least `originSpacingSteps` (default: the horizon) after the last
 * kept one, so kept forecasts do not overlap and every horizon step is scored equally often; the
 * oldest origin is dropped first. Each origin also keeps seasonal naive's forecast (horizon ×
 * targets). At 10,000 servers, horizon 24, 2 targets, 3 quantiles: 10,000 × 2 × 24 × 2 × (3 + 1)
 * × 4 B ≈ 15 MB per model (live-slots.ts). Rolling sums live in time buckets (`windowSeconds / 24`
 * each, by the scored step's time): per model a few numbers per target and quantile, per server a
 * ring of 24 buckets × 4 float64 (≈ 7.7 MB per model at 10,000 servers).
 */
export interface LiveAccuracyOptions {
  /** Scored steps older than this (by step time, against the newest scored step) fall out; default 24 h. */
  windowSeconds?: number;
  maxOrigins?: number;
  /** Default: the model's horizon (non-overlapping origins). */
  originSpacingSteps?: number;
  maxModels?: number;
  logger: Logger;
}

export const DEFAULT_LIVE_WINDOW_SECONDS = 86_400;
const NAIVE_LAG_SECONDS = 86_400;
const WORST_SERVERS = 5;
/** Sums per target × quantile: model loss, Σ|y|, points, then on points with a naive value: model loss, naive loss, Σ|y|, points. */
const SUMS = 7;

/** The model's shape, as far as scoring needs it. */
export interface LiveModelShape {
  id: string;
  targets: readonly string[];
  quantiles: readonly number[];
  horizon_steps: number;
  resolution_seconds: number;
  observed_features: readonly string[];
}

interface ModelState {
  shape: LiveModelShape;
  servers: LiveSlots;
  /** bucket → sums (SUMS per target × quantile). */
  buckets: Map<number, Float64Array>;
  lastUsed: number;
}

export const LiveQRisk = z.strictObject({
  target: z.string(),
  quantile: z.number(),
  q_risk: z.number().nullable(),
  naive_q_risk: z.number().nullable(),
  /** Model loss / naive loss on the points where naive has a value; < 1: the model beats naive. */
  ratio_vs_naive: z.number().nullable(),
});

export const LiveModelAccuracy = z.strictObject({
  model: z.string(),
  scored_points: z.number().int(),
  naive_points: z.number().int(),
  /**
   * Hours of the window that hold scored points (counted in buckets of window / 24): how long the
   * model has been scored, up to the window. Live regression checks require a minimum of it.
   */
  scored_hours: z.number(),
  window_seconds: z.number(),
  q_risk: z.array(LiveQRisk),
  /** Highest q-risk (the middle quantile, all targets pooled) first. */
  worst_servers: z.array(
    z.strictObject({ server: z.string(), q_risk: z.number(), points: z.number().int() }),
  ),
});
export type LiveModelAccuracy = z.infer<typeof LiveModelAccuracy>;

const StateFile = z.strictObject({
  format_version: z.literal(1),
  models: z.array(
    z.strictObject({
      shape: z.strictObject({
        id: z.string(),
        targets: z.array(z.string()),
        quantiles: z.array(z.number()),
        horizon_steps: z.number().int().positive(),
        resolution_seconds: z.number().int().positive(),
        observed_features: z.array(z.string()),
      }),
      last_used: z.number(),
      buckets: z.array(z.tuple([z.number(), z.array(z.number())])),
      servers: z.array(
        z.strictObject({
          server: z.string(),
          origins: z.array(
            z.strictObject({
              start: z.number(),
              scored: z.number().int(),
              values: z.string(),
              /** Seasonal naive from the origin (float32 base64, NaN: none); absent in older files. */
              naive: z.string().optional(),
            }),
          ),
          buckets: z.array(z.tuple([z.number(), z.number(), z.number(), z.number()])),
        }),
      ),
    }),
  ),
});

function middleQuantile(quantiles: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < quantiles.length; i++)
    if (Math.abs(quantiles[i]! - 0.5) < Math.abs(quantiles[best]! - 0.5)) best = i;
  return best;
}

function toBase64(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

function fromBase64(text: string, length: number): Float32Array | null {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== length * 4) return null;
  const out = new Float32Array(length);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export class LiveAccuracy {
  private readonly models = new Map<string, ModelState>();
  private readonly windowSeconds: number;
  private readonly bucketSeconds: number;
  private readonly maxOrigins: number;
  private readonly maxModels: number;
  private newestBucket = -Infinity;
  /** The newest bucket at the last prune: pruning only changes anything once the window moves. */
  private prunedAt = -Infinity;
  private readonly scoredCycles = new Map<string, number>();
  private uses = 0;
  /** Errors in recording or scoring (logged; serving is unaffected). */
  errors = 0;

  constructor(private readonly options: LiveAccuracyOptions) {
    this.windowSeconds = options.windowSeconds ?? DEFAULT_LIVE_WINDOW_SECONDS;
    this.bucketSeconds = Math.max(1, Math.ceil(this.windowSeconds / BUCKETS_PER_WINDOW));
    this.maxOrigins = Math.max(1, options.maxOrigins ?? 2);
    this.maxModels = Math.max(1, options.maxModels ?? 3);
  }

  /**
   * Keeps the served forecasts (one per server and origin), with seasonal naive's forecast from
   * the windows they were made from (the value one day before each step, where the window has it:
   * a window read later may no longer reach back that far). Never throws.
   */
  record(
    shape: LiveModelShape,
    results: readonly ForecastResult[],
    windows?: ReadonlyMap<string, RecentWindow>,
  ): void {
    try {
      const model = this.modelState(shape);
      const spacing = (this.options.originSpacingSteps ?? shape.horizon_steps) * shape.resolution_seconds;
      const servers = model.servers;
      const plan = scoringPlan(shape);
      const naive = new Float64Array(servers.naiveSize);
      servers.reserve(results.length);
      for (const result of results) {
        if (result.stepSeconds !== shape.resolution_seconds || result.values.length < servers.size) continue;
        const slot = servers.slotOf(result.server);
        if (result.start < servers.newestStart(slot) + spacing) continue;
        const window = windows?.get(result.server);
        if (window !== undefined) naiveForecast(plan, shape, window, result.start, naive);
        servers.push(slot, result.start, 0, result.values, window === undefined ? null : naive);
      }
    } catch (error) {
      this.fail('recording served forecasts', error);
    }
  }

  /** `score()` once per window load (cycle) of each window shape. */
  scoreCycle(
    snapshot: {
      key: string;
      cycle: number;
      windows: ReadonlyMap<string, RecentWindow>;
      newestData: Date | null;
    },
    shape: Pick<LiveModelShape, 'resolution_seconds' | 'observed_features'>,
  ): number {
    if (this.scoredCycles.get(snapshot.key) === snapshot.cycle) return 0;
    this.scoredCycles.set(snapshot.key, snapshot.cycle);
    return this.score(snapshot, shape);
  }

  /**
   * Scores every kept forecast step that the windows now cover with a complete bucket: strictly
   * before the server's newest bucket (which may still be filling) and ending at or before the
   * newest data. Windows of another resolution or feature list are skipped. Never throws.
   */
  score(
    snapshot: { windows: ReadonlyMap<string, RecentWindow>; newestData: Date | null },
    shape: Pick<LiveModelShape, 'resolution_seconds' | 'observed_features'>,
  ): number {
    let points = 0;
    try {
      if (snapshot.newestData === null) return 0;
      const newest = snapshot.newestData.getTime() / 1000;
      for (const model of this.models.values()) {
        const s = model.shape;
        if (
          s.resolution_seconds !== shape.resolution_seconds ||
          s.observed_features.join(',') !== shape.observed_features.join(',')
        )
          continue;
        const plan = scoringPlan(model.shape);
        const { nextDue, names } = model.servers;
        // a typed-array scan: most cycles bring no new step for most servers
        for (let slot = 0; slot < model.servers.highWater; slot++) {
          if (!(nextDue[slot]! <= newest)) continue;
          const window = snapshot.windows.get(names[slot]!);
          if (window !== undefined) points += this.scoreServer(model, plan, slot, window, newest);
        }
      }
      if (this.newestBucket !== this.prunedAt) {
        this.prunedAt = this.newestBucket;
        this.prune();
      }
    } catch (error) {
      this.fail('scoring served forecasts', error);
    }
    return points;
  }

  private scoreServer(
    model: ModelState,
    plan: ScoringPlan,
    slot: number,
    window: RecentWindow,
    newest: number,
  ): number {
    const { quantiles, horizon_steps: horizon, resolution_seconds: res } = model.shape;
    const { nT, nQ, mid, targetIndex, actuals, naives } = plan;
    const servers = model.servers;
    const { values, originStart, originScored, naive: keptNaive, naiveSize } = servers;
    const size = servers.size;
    const view = viewOf(plan, window);
    const lag = naiveLag(res);
    let points = 0;
    const first = slot * servers.maxOrigins;
    for (let k = first; k < first + servers.originCount[slot]!; k++) {
      const start = originStart[k]!;
      while (originScored[k]! < horizon) {
        const step = originScored[k]!;
        const time = start + step * res;
        if (Math.floor(time / res) >= window.lastObservedStep || time + res > newest) break;
        let complete = true;
        for (let t = 0; t < nT; t++) {
          const y = valueAt(view, res, time, targetIndex[t]!);
          if (Number.isNaN(y)) complete = false;
          else actuals[t] = y;
        }
        if (!complete) {
          // the window no longer (or never) covers this step: it cannot be scored, skip it
          if (time < view.start) {
            originScored[k] = step + 1;
            continue;
          }
          break;
        }
        const bucket = Math.floor(time / this.bucketSeconds);
        if (bucket > this.newestBucket) this.newestBucket = bucket;
        const sums = bucketSums(model, plan, bucket);
        let midLoss = 0;
        let absActual = 0;
        for (let t = 0; t < nT; t++) {
          const kept = keptNaive[k * naiveSize + step * nT + t]!;
          naives[t] = Number.isNaN(kept) ? valueAt(view, res, time - lag, targetIndex[t]!) : kept;
        }
        const at = k * size + step * nT * nQ;
        for (let t = 0; t < nT; t++) {
          const y = actuals[t]!;
          const naive = naives[t]!;
          const abs = Math.abs(y);
          for (let q = 0; q < nQ; q++) {
            const loss = quantileLoss(y, values[at + t * nQ + q]!, quantiles[q]!);
            const o = (t * nQ + q) * SUMS;
            sums[o] = sums[o]! + loss;
            sums[o + 1] = sums[o + 1]! + abs;
            sums[o + 2] = sums[o + 2]! + 1;
            if (!Number.isNaN(naive)) {
              sums[o + 3] = sums[o + 3]! + loss;
              sums[o + 4] = sums[o + 4]! + quantileLoss(y, naive, quantiles[q]!);
              sums[o + 5] = sums[o + 5]! + abs;
              sums[o + 6] = sums[o + 6]! + 1;
            }
            if (q === mid) {
              midLoss += loss;
              absActual += abs;
            }
          }
        }
        const entry = servers.ringEntry(slot, bucket);
        if (entry >= 0) servers.addToRing(entry, midLoss, absActual, 1);
        originScored[k] = step + 1;
        points++;
      }
    }
    servers.updateDue(slot);
    return points;
  }

  /**
   * Drops buckets that fell out of the window, forecasts whose every step is older than the window
   * (a server that stopped reporting: they can never count again), and servers left with nothing.
   */
  private prune(): void {
    const oldest = this.newestBucket - BUCKETS_PER_WINDOW + 1;
    const oldestTime = oldest * this.bucketSeconds;
    for (const model of this.models.values()) {
      const span = model.shape.horizon_steps * model.shape.resolution_seconds;
      for (const bucket of model.buckets.keys()) if (bucket < oldest) model.buckets.delete(bucket);
      const servers = model.servers;
      for (let slot = 0; slot < servers.highWater; slot++) {
        if (servers.names[slot] === null) continue;
        const first = slot * servers.maxOrigins;
        let stale = 0;
        while (stale < servers.originCount[slot]! && servers.originStart[first + stale]! + span <= oldestTime)
          stale++;
        if (stale > 0) servers.dropOldest(slot, stale);
        if (servers.nextDue[slot] === Infinity && servers.totals(slot, oldest).points === 0)
          servers.release(slot);
      }
    }
  }

  private modelState(shape: LiveModelShape): ModelState {
    let model = this.models.get(shape.id);
    if (model === undefined) {
      model = {
        shape: { ...shape },
        servers: slotsFor(shape, this.maxOrigins),
        buckets: new Map(),
        lastUsed: 0,
      };
      this.models.set(shape.id, model);
      if (this.models.size > this.maxModels) {
        const oldest = [...this.models.values()].sort((a, b) => a.lastUsed - b.lastUsed)[0]!;
        this.models.delete(oldest.shape.id);
      }
    }
    model.lastUsed = ++this.uses;
    return model;
  }

  private fail(what: string, error: unknown): void {
    this.errors++;
    this.options.logger.warn(
      { error: getErrorMessage(error) },
      `live accuracy: ${what} failed; serving goes on`,
    );
  }

  /** Per model (most recently served first): q-risk per target and quantile, beside naive. */
  summary(): LiveModelAccuracy[] {
    const out: LiveModelAccuracy[] = [];
    const models = [...this.models.values()].sort((a, b) => b.lastUsed - a.lastUsed);
    for (const model of models) {
      const { targets, quantiles } = model.shape;
      const total = new Float64Array(targets.length * quantiles.length * SUMS);
      let scoredBuckets = 0;
      for (const sums of model.buckets.values()) {
        for (let i = 0; i < total.length; i++) total[i]! += sums[i]!;
        if (sums.length > 2 && sums[2]! > 0) scoredBuckets++;
      }
      const qRisk = targets.flatMap((target, t) =>
        quantiles.map((quantile, q) => {
          const o = (t * quantiles.length + q) * SUMS;
          return {
            target,
            quantile,
            q_risk: total[o + 1]! > 0 ? (2 * total[o]!) / total[o + 1]! : null,
            naive_q_risk: total[o + 5]! > 0 ? (2 * total[o + 4]!) / total[o + 5]! : null,
            ratio_vs_naive: total[o + 4]! > 0 ? total[o + 3]! / total[o + 4]! : null,
          };
        }),
      );
      const perTarget = targets.length > 0 && quantiles.length > 0;
      const worst = [...this.serverQRisks(model.shape.id)]
        .map(([server, r]) => ({ server, ...r }))
        .sort((a, b) => b.q_risk - a.q_risk || a.server.localeCompare(b.server))
        .slice(0, WORST_SERVERS);
      out.push({
        model: model.shape.id,
        scored_points: perTarget ? Math.round(total[2]!) : 0,
        naive_points: perTarget ? Math.round(total[6]!) : 0,
        scored_hours: (scoredBuckets * this.bucketSeconds) / 3600,
        window_seconds: this.windowSeconds,
        q_risk: qRisk,
        worst_servers: worst,
      });
    }
    return out;
  }

  /**
   * Each server's live q-risk under one model (the quantile nearest 0.5, targets pooled, over the
   * window), for the dashboard's fleet table; servers with no scored point yet are absent.
   */
  serverQRisks(modelId: string): Map<string, { q_risk: number; points: number }> {
    const out = new Map<string, { q_risk: number; points: number }>();
    const model = this.models.get(modelId);
    if (model === undefined) return out;
    const oldest = this.newestBucket - BUCKETS_PER_WINDOW + 1;
    for (const [server, slot] of model.servers.slots) {
      const { loss, abs, points } = model.servers.totals(slot, oldest);
      if (abs > 0) out.set(server, { q_risk: (2 * loss) / abs, points });
    }
    return out;
  }

  /** The forecasts kept for one server under one model (oldest first), for the dashboard's detail view. */
  servedForecasts(modelId: string, server: string): Array<{ start: number; values: Float32Array }> {
    const servers = this.models.get(modelId)?.servers;
    const slot = servers?.slots.get(server);
    if (servers === undefined || slot === undefined) return [];
    return servers.origins(slot).map((o) => ({ start: o.start, values: o.values }));
  }

  /** The state as JSON text (forecast values as base64 float32). */
  serialize(): string {
    const file: z.infer<typeof StateFile> = {
      format_version: 1,
      models: [...this.models.values()].map((m) => ({
        shape: {
          ...m.shape,
          targets: [...m.shape.targets],
          quantiles: [...m.shape.quantiles],
          observed_features: [...m.shape.observed_features],
        },
        last_used: m.lastUsed,
        buckets: [...m.buckets].map(([b, sums]) => [b, [...sums]] as [number, number[]]),
        servers: [...m.servers.slots].map(([server, slot]) => ({
          server,
          origins: m.servers.origins(slot).map((o) => ({
            start: o.start,
            scored: o.scored,
            values: toBase64(o.values),
            naive: toBase64(o.naive),
          })),
          buckets: m.servers.ringOf(slot, this.newestBucket - BUCKETS_PER_WINDOW + 1),
        })),
      })),
    };
    return JSON.stringify(file);
  }

  /** Replaces the state with a serialized one; throws on a malformed one (the state is then unchanged). */
  restore(text: string): void {
    const file = StateFile.parse(JSON.parse(text));
    const models = new Map<string, ModelState>();
    let newestBucket = -Infinity;
    let uses = 0;
    for (const m of file.models.slice(-this.maxModels)) {
      const size = m.shape.horizon_steps * m.shape.targets.length * m.shape.quantiles.length;
      const buckets = new Map<number, Float64Array>();
      for (const [b, sums] of m.buckets) {
        if (sums.length !== m.shape.targets.length * m.shape.quantiles.length * SUMS)
          throw new Error(`bucket ${b}: wrong size`);
        buckets.set(b, Float64Array.from(sums));
        newestBucket = Math.max(newestBucket, b);
      }
      const servers = slotsFor(m.shape, this.maxOrigins);
      for (const s of m.servers) {
        const slot = servers.slotOf(s.server);
        for (const o of s.origins.slice(-this.maxOrigins)) {
          const values = fromBase64(o.values, size);
          if (values === null) throw new Error(`${s.server}: forecast of the wrong size`);
          const naive = o.naive === undefined ? null : fromBase64(o.naive, servers.naiveSize);
          if (naive === null && o.naive !== undefined)
            throw new Error(`${s.server}: naive forecast of the wrong size`);
          servers.push(slot, o.start, Math.min(o.scored, m.shape.horizon_steps), values, naive);
        }
        for (const [b, l, a, n] of s.buckets) {
          const entry = servers.ringEntry(slot, b);
          if (entry >= 0) servers.addToRing(entry, l, a, n);
        }
      }
      models.set(m.shape.id, { shape: m.shape, servers, buckets, lastUsed: m.last_used });
      uses = Math.max(uses, m.last_used);
    }
    this.models.clear();
    for (const [id, m] of models) this.models.set(id, m);
    this.newestBucket = newestBucket;
    this.prunedAt = -Infinity;
    this.uses = uses;
  }

  /** Writes the state atomically; errors are logged and counted. */
  async save(path: string): Promise<void> {
    try {
      await writeFileAtomic(path, this.serialize());
    } catch (error) {
      this.fail(`writing ${path}`, error);
    }
  }

  /** Reads a saved state; a missing file is a first start, an unreadable or corrupt one is logged and ignored. */
  async load(path: string): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.fail(`reading ${path}`, error);
      return false;
    }
    try {
      this.restore(text);
      return true;
    } catch (error) {
      this.fail(`restoring ${path} (ignored; starting empty)`, error);
      return false;
    }
  }
}

/** One window's values, for `valueAt` (one object per cycle, refilled per server). */
interface WindowView {
  past: Float32Array;
  start: number;
  /** Steps in the window. */
  length: number;
  nF: number;
}

/** What scoring needs of a model's shape, computed once per model and cycle, not per server. */
interface ScoringPlan {
  nF: number;
  nT: number;
  nQ: number;
  mid: number;
  targetIndex: number[];
  /** Scratch for one step's actuals and naive values (reused: no allocation per step). */
  actuals: Float64Array;
  naives: Float64Array;
  view: WindowView;
  /** The last bucket looked up and its sums: the servers of one cycle mostly share it. */
  bucket: number;
  sums: Float64Array | null;
}

function scoringPlan(shape: LiveModelShape): ScoringPlan {
  return {
    nF: shape.observed_features.length,
    nT: shape.targets.length,
    nQ: shape.quantiles.length,
    mid: middleQuantile(shape.quantiles),
    targetIndex: shape.targets.map((t) => shape.observed_features.indexOf(t)),
    actuals: new Float64Array(shape.targets.length),
    naives: new Float64Array(shape.targets.length),
    view: { past: new Float32Array(0), start: 0, length: 0, nF: shape.observed_features.length },
    bucket: NaN,
    sums: null,
  };
}

function slotsFor(shape: LiveModelShape, maxOrigins: number): LiveSlots {
  const size = shape.horizon_steps * shape.targets.length * shape.quantiles.length;
  const naiveSize = shape.horizon_steps * shape.targets.length;
  return new LiveSlots(size, naiveSize, maxOrigins, shape.horizon_steps, shape.resolution_seconds);
}

function bucketSums(model: ModelState, plan: ScoringPlan, bucket: number): Float64Array {
  if (plan.bucket === bucket && plan.sums !== null) return plan.sums;
  let sums = model.buckets.get(bucket);
  if (sums === undefined) {
    sums = new Float64Array(plan.nT * plan.nQ * SUMS);
    model.buckets.set(bucket, sums);
  }
  plan.bucket = bucket;
  plan.sums = sums;
  return sums;
}

/** The plan's one view, pointed at `window`. */
function viewOf(plan: ScoringPlan, window: RecentWindow): WindowView {
  const view = plan.view;
  view.past = window.input.past;
  view.start = window.input.pastStart;
  view.length = view.past.length / view.nF;
  return view;
}

/** One day, when it is a whole number of steps (else NaN: no naive value). */
function naiveLag(res: number): number {
  return NAIVE_LAG_SECONDS % res === 0 ? NAIVE_LAG_SECONDS : NaN;
}

/** Seasonal naive's forecast from `start` on (horizon × targets), NaN where the window has no value. */
function naiveForecast(
  plan: ScoringPlan,
  shape: LiveModelShape,
  window: RecentWindow,
  start: number,
  out: Float64Array,
): void {
  const res = shape.resolution_seconds;
  const view = viewOf(plan, window);
  const lag = naiveLag(res);
  for (let h = 0; h < shape.horizon_steps; h++)
    for (let t = 0; t < plan.nT; t++)
      out[h * plan.nT + t] = valueAt(view, res, start + h * res - lag, plan.targetIndex[t]!);
}

/** Feature `f` of the window at `time`; NaN when the window does not cover it or holds no value. */
function valueAt(view: WindowView, res: number, time: number, f: number): number {
  const i = Math.round((time - view.start) / res);
  if (!(i >= 0 && i < view.length) || f < 0) return NaN;
  const v = view.past[i * view.nF + f]!;
  return Number.isFinite(v) ? v : NaN;
}

/** What live accuracy needs to know of a model, from its encoders. */
export function liveShape(model: ServingModel): LiveModelShape {
  const e = model.encoders;
  return {
    id: model.id,
    targets: e.targets,
    quantiles: e.quantiles,
    horizon_steps: e.horizon_steps,
    resolution_seconds: e.resolution_seconds,
    observed_features: e.observed_features,
  };
}
