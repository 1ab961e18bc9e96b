import type { Tensor } from 'onnxruntime-node';
import { datasetStartEpoch, serverValues, type Dataset } from '../dataset/format.js';
import type { ForecastInput, LoadedModel } from '../model/loaded-model.js';
import { DEPLOYED, MODEL, SEASONAL_NAIVE } from './gates.js';
import { pointAsQuantiles, scoreWindows, type ScoredWindow, type ScoreEntry } from './scoring.js';
import { seasonalNaive, stepsPerDay } from './seasonal-naive.js';

export interface HeldOutOptions {
  dataset: Dataset;
  model: LoadedModel;
  /** The deployed model, compared on the same windows when its shape allows. */
  deployed?: LoadedModel | null;
  /** Servers held out of training: scored through the unknown index 0 ("unknown" group). */
  holdout: ReadonlySet<string>;
  /** First forecast origin (default: the dataset's split.train_end_step). */
  fromStep?: number;
  /** Steps between origins (default: the horizon, so windows do not overlap). */
  strideSteps?: number;
  batchSize?: number;
  progress?: (line: string) => void;
}

export interface HeldOutEvaluation {
  models: string[];
  scores: ScoreEntry[];
  window: { start: string; end: string; origins_per_server: number; stride_steps: number };
  windows: { known: number; unknown: number; skipped_missing_input: number };
  /**
   * Holdout servers are in the vocabulary (coverage) but were never trained under their own id, so
   * the exported model must serve them like index 0 (docs/MODEL_FORMAT.md). Largest difference
   * between a holdout server's forecast by its own id and through index 0; null with no holdout.
   */
  holdout_rows_max_abs_diff: number | null;
  deployed: { model_id: string | null; scored: boolean; note: string | null };
}

/**
 * Scores the model on the held-out window [fromStep, n_steps): forecasts from every origin
 * (every `strideSteps`) whose lookback has no missing value, against the actual values, the
 * one-day seasonal naive forecast and (when comparable) the deployed model. Known servers use
 * their own id; holdout servers go through index 0, as a never-seen server would.
 */
export async function evaluateHeldOut(options: HeldOutOptions): Promise<HeldOutEvaluation> {
  const { dataset, model } = options;
  const h = dataset.header;
  const enc = model.encoders;
  const H = enc.horizon_steps;
  const L = enc.lookback_steps;
  const res = h.resolution_seconds;
  if (enc.resolution_seconds !== res)
    throw new Error(`model resolution ${enc.resolution_seconds}s differs from the evaluation data's ${res}s`);
  const F = h.features.length;
  const obsIdx = featureIndices(enc.observed_features, h.features, 'observed feature');
  const targetIdx = featureIndices(enc.targets, h.features, 'target');
  const T = enc.targets.length;
  const Q = enc.quantiles.length;
  const stride = options.strideSteps ?? H;
  const from = Math.max(options.fromStep ?? h.split.train_end_step, L);
  const period = stepsPerDay(res);
  const start = datasetStartEpoch(h);

  const deployed = options.deployed ?? null;
  const deployedNote = deployed ? comparability(deployed, model, h.features, res) : 'no deployed model';
  const useDeployed = deployed !== null && deployedNote === null;
  const models = useDeployed ? [MODEL, SEASONAL_NAIVE, DEPLOYED] : [MODEL, SEASONAL_NAIVE];

  interface Case {
    row: number;
    origin: number;
    server: string;
    unknown: boolean;
    profile: string;
  }
  const cases: Case[] = [];
  let skipped = 0;
  const origins: number[] = [];
  for (let o = from; o + H <= h.n_steps; o += stride) origins.push(o);
  h.servers.forEach((s, row) => {
    const values = serverValues(dataset, row);
    for (const origin of origins) {
      const past = values.subarray((origin - L) * F, origin * F);
      if (obsIdx.some((f) => hasNaN(past, F, f))) {
        skipped++;
        continue;
      }
      cases.push({ row, origin, server: s.name, unknown: options.holdout.has(s.name), profile: s.profile });
    }
  });
  options.progress?.(
    `validate: ${cases.length} held-out windows (${origins.length} origins per server, ${skipped} skipped for missing input)`,
  );

  const inputFor = (c: Case, lookback: number, features: readonly number[]): ForecastInput => {
    const values = serverValues(dataset, c.row);
    const past = new Float32Array(lookback * features.length);
    for (let t = 0; t < lookback; t++)
      for (let j = 0; j < features.length; j++)
        past[t * features.length + j] = values[(c.origin - lookback + t) * F + features[j]!]!;
    return { server: c.server, profile: c.profile, past, pastStart: start + (c.origin - lookback) * res };
  };

  const batch = options.batchSize ?? 512;
  const per = H * T * Q;
  const modelOut: Float32Array[] = [];
  for (let i = 0; i < cases.length; i += batch) {
    const slice = cases.slice(i, i + batch);
    const feeds = model.buildFeeds(slice.map((c) => inputFor(c, L, obsIdx)));
    const serverIdx = feeds.server_idx as Tensor | undefined;
    if (serverIdx) {
      const idx = serverIdx.data as Int32Array;
      slice.forEach((c, j) => {
        if (c.unknown) idx[j] = 0;
      });
    }
    const data = await model.runFeeds(feeds);
    slice.forEach((_, j) => modelOut.push(data.subarray(j * per, (j + 1) * per)));
  }
  const holdoutRows = await compareHoldoutRows(
    model,
    cases.filter((c) => c.unknown),
    (c) => inputFor(c, L, obsIdx),
    modelOut,
    cases,
  );
  let deployedOut: Float32Array[] = [];
  if (useDeployed) {
    const dObs = featureIndices(deployed.encoders.observed_features, h.features, 'observed feature');
    const dL = deployed.encoders.lookback_steps;
    deployedOut = [];
    for (let i = 0; i < cases.length; i += batch) {
      const slice = cases.slice(i, i + batch);
      const results = await deployed.forecast(slice.map((c) => inputFor(c, dL, dObs)));
      // [H_d, T, Q] row-major: the first H steps are the first H·T·Q values.
      for (const r of results) deployedOut.push(r.values.subarray(0, per));
    }
  }

  const columns = new Map<number, Float64Array[]>();
  const targetColumns = (row: number): Float64Array[] => {
    let cols = columns.get(row);
    if (!cols) {
      const values = serverValues(dataset, row);
      cols = targetIdx.map((f) => Float64Array.from({ length: h.n_steps }, (_, s) => values[s * F + f]!));
      columns.clear();
      columns.set(row, cols);
    }
    return cols;
  };
  const windows: ScoredWindow[] = cases.map((c, i) => {
    const actual = new Float64Array(H * T);
    const naive = new Float64Array(H * T);
    targetColumns(c.row).forEach((column, t) => {
      const forecast = seasonalNaive(column, c.origin, H, period);
      for (let k = 0; k < H; k++) {
        actual[k * T + t] = column[c.origin + k]!;
        naive[k * T + t] = forecast[k]!;
      }
    });
    const forecasts: Record<string, ArrayLike<number>> = {
      [MODEL]: modelOut[i]!,
      [SEASONAL_NAIVE]: pointAsQuantiles(naive, Q),
    };
    if (useDeployed) forecasts[DEPLOYED] = deployedOut[i]!;
    return {
      server: c.server,
      group: c.unknown ? 'unknown' : 'known',
      profile: c.profile,
      actual,
      forecasts,
    };
  });
  const scores = scoreWindows(windows, models, {
    horizon: H,
    targets: enc.targets,
    quantiles: enc.quantiles,
  });
  const iso = (step: number) => new Date((start + step * res) * 1000).toISOString();
  return {
    models,
    scores,
    window: {
      start: iso(from),
      end: iso(h.n_steps),
      origins_per_server: origins.length,
      stride_steps: stride,
    },
    windows: {
      known: cases.filter((c) => !c.unknown).length,
      unknown: cases.filter((c) => c.unknown).length,
      skipped_missing_input: skipped,
    },
    holdout_rows_max_abs_diff: holdoutRows,
    deployed: { model_id: deployed?.id ?? null, scored: useDeployed, note: deployedNote },
  };
}

/** Forecasts one window per holdout server by its own id and compares with the index-0 forecast. */
async function compareHoldoutRows<C extends { server: string }>(
  model: LoadedModel,
  holdoutCases: readonly C[],
  input: (c: C) => ForecastInput,
  outputs: readonly Float32Array[],
  all: readonly C[],
): Promise<number | null> {
  const firsts = [...new Map(holdoutCases.map((c) => [c.server, c])).values()];
  if (firsts.length === 0) return null;
  const results = await model.forecast(firsts.map(input));
  let max = 0;
  results.forEach((r, i) => {
    const zeroed = outputs[all.indexOf(firsts[i]!)]!;
    for (let k = 0; k < zeroed.length; k++) max = Math.max(max, Math.abs(r.values[k]! - zeroed[k]!));
  });
  return max;
}

/** Why the deployed model cannot be scored on the same windows, or null when it can. */
function comparability(
  deployed: LoadedModel,
  model: LoadedModel,
  features: readonly string[],
  res: number,
): string | null {
  const d = deployed.encoders;
  const m = model.encoders;
  if (d.resolution_seconds !== res)
    return `deployed model ${deployed.id} uses ${d.resolution_seconds}s steps, not ${res}s`;
  if (d.horizon_steps < m.horizon_steps)
    return `deployed model ${deployed.id} forecasts ${d.horizon_steps} steps, fewer than ${m.horizon_steps}`;
  if (d.targets.join() !== m.targets.join() || d.quantiles.join() !== m.quantiles.join())
    return `deployed model ${deployed.id} has other targets or quantiles`;
  const missing = d.observed_features.filter((f) => !features.includes(f));
  if (missing.length)
    return `deployed model ${deployed.id} needs features the data lacks: ${missing.join(', ')}`;
  return null;
}

function featureIndices(wanted: readonly string[], have: readonly string[], what: string): number[] {
  return wanted.map((name) => {
    const i = have.indexOf(name);
    if (i < 0) throw new Error(`the evaluation data has no ${what} ${name} (has ${have.join(', ')})`);
    return i;
  });
}

function hasNaN(block: Float32Array, stride: number, offset: number): boolean {
  for (let i = offset; i < block.length; i += stride) if (Number.isNaN(block[i]!)) return true;
  return false;
}
