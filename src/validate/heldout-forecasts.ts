import type { Tensor } from 'onnxruntime-node';
import type { ForecastInput, LoadedModel } from '../model/loaded-model.js';
import type { HeldOutCase } from './heldout-cases.js';

/**
 * The candidate's forecasts of every case, in batches; holdout servers go through index 0.
 * Each output is [H, T, Q] row-major.
 */
export async function forecastCandidate(
  model: LoadedModel,
  cases: readonly HeldOutCase[],
  input: (c: HeldOutCase) => ForecastInput,
  batch: number,
): Promise<Float32Array[]> {
  const enc = model.encoders;
  const per = enc.horizon_steps * enc.targets.length * enc.quantiles.length;
  const out: Float32Array[] = [];
  for (let i = 0; i < cases.length; i += batch) {
    const slice = cases.slice(i, i + batch);
    const feeds = model.buildFeeds(slice.map(input));
    const serverIdx = feeds.server_idx as Tensor | undefined;
    if (serverIdx) {
      const idx = serverIdx.data as Int32Array;
      slice.forEach((c, j) => {
        if (c.unknown) idx[j] = 0;
      });
    }
    const data = await model.runFeeds(feeds);
    slice.forEach((_, j) => out.push(data.subarray(j * per, (j + 1) * per)));
  }
  return out;
}

/** The deployed model's forecasts of every case, cut to the candidate's `per` values (its first H steps). */
export async function forecastDeployed(
  deployed: LoadedModel,
  cases: readonly HeldOutCase[],
  input: (c: HeldOutCase) => ForecastInput,
  batch: number,
  per: number,
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < cases.length; i += batch) {
    const results = await deployed.forecast(cases.slice(i, i + batch).map(input));
    // [H_d, T, Q] row-major: the first H steps are the first H·T·Q values.
    for (const r of results) out.push(r.values.subarray(0, per));
  }
  return out;
}

/** Forecasts one window per holdout server by its own id and compares with the index-0 forecast. */
export async function compareHoldoutRows(
  model: LoadedModel,
  cases: readonly HeldOutCase[],
  input: (c: HeldOutCase) => ForecastInput,
  outputs: readonly Float32Array[],
): Promise<number | null> {
  const firsts = [...new Map(cases.filter((c) => c.unknown).map((c) => [c.server, c])).values()];
  if (firsts.length === 0) return null;
  const results = await model.forecast(firsts.map(input));
  let max = 0;
  results.forEach((r, i) => {
    const zeroed = outputs[cases.indexOf(firsts[i]!)]!;
    for (let k = 0; k < zeroed.length; k++) max = Math.max(max, Math.abs(r.values[k]! - zeroed[k]!));
  });
  return max;
}

/** Why the deployed model cannot be scored on the same windows, or null when it can. */
export function comparability(
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
