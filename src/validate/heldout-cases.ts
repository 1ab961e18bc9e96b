import { datasetStartEpoch, serverValues, type Dataset } from '../dataset/format.js';
import type { ForecastInput } from '../model/loaded-model.js';

/** One forecast to score: a server's row in the dataset and the step the forecast starts at. */
export interface HeldOutCase {
  row: number;
  origin: number;
  server: string;
  /** A holdout server, forecast through the unknown index 0 as a never-seen server would be. */
  unknown: boolean;
  profile: string;
}

export interface CaseWindow {
  /** First origin, steps between origins, lookback and horizon in steps. */
  from: number;
  stride: number;
  lookback: number;
  horizon: number;
  /** Dataset columns of the model's observed features: a lookback with any NaN there is skipped. */
  observed: readonly number[];
}

/** Every origin of every server whose lookback has no missing observed value. */
export function heldOutCases(
  dataset: Dataset,
  holdout: ReadonlySet<string>,
  w: CaseWindow,
): { cases: HeldOutCase[]; origins: number[]; skipped: number } {
  const h = dataset.header;
  const F = h.features.length;
  const origins: number[] = [];
  for (let o = w.from; o + w.horizon <= h.n_steps; o += w.stride) origins.push(o);
  const cases: HeldOutCase[] = [];
  let skipped = 0;
  h.servers.forEach((s, row) => {
    const values = serverValues(dataset, row);
    for (const origin of origins) {
      const past = values.subarray((origin - w.lookback) * F, origin * F);
      if (w.observed.some((f) => hasNaN(past, F, f))) {
        skipped++;
        continue;
      }
      cases.push({ row, origin, server: s.name, unknown: holdout.has(s.name), profile: s.profile });
    }
  });
  return { cases, origins, skipped };
}

/** The model input of a case: `lookback` steps of the dataset columns `features` before its origin. */
export function caseInput(
  dataset: Dataset,
  c: HeldOutCase,
  lookback: number,
  features: readonly number[],
): ForecastInput {
  const h = dataset.header;
  const F = h.features.length;
  const values = serverValues(dataset, c.row);
  const past = new Float32Array(lookback * features.length);
  for (let t = 0; t < lookback; t++)
    for (let j = 0; j < features.length; j++)
      past[t * features.length + j] = values[(c.origin - lookback + t) * F + features[j]!]!;
  return {
    server: c.server,
    profile: c.profile,
    past,
    pastStart: datasetStartEpoch(h) + (c.origin - lookback) * h.resolution_seconds,
  };
}

/** Dataset columns of `wanted` features; an Error naming the missing one. */
export function featureIndices(wanted: readonly string[], have: readonly string[], what: string): number[] {
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
