import { METRICS } from '../metrics/contract.js';

/**
 * Thresholds for training data (the design's Phase 1 data validation: at least 7 days of history,
 * no large gaps).
 */
export interface QualityOptions {
  /** History each server needs, from its first to its last bucket with data. */
  minHistoryDays: number;
  /** Share of the buckets in that span that must have data before filling. */
  minObservedFraction: number;
}

export const DEFAULT_QUALITY: QualityOptions = { minHistoryDays: 7, minObservedFraction: 0.8 };

export interface SeriesForCheck {
  server: string;
  profile: string;
  /** [nSteps, features] row-major, NaN where a bucket had no data (before filling). */
  values: Float32Array;
}

export interface QualityProblem {
  server: string;
  problem: string;
}

export interface QualityContext {
  features: readonly string[];
  nSteps: number;
  /** Epoch seconds of step 0 and the step length, to name times in messages. */
  startEpoch: number;
  resolutionSeconds: number;
}

/**
 * Checks one manifest server's resampled series against the data contract and the history
 * requirements. `series` undefined: the server had no rows in the window. Pure.
 */
export function checkSeries(
  server: string,
  series: SeriesForCheck | undefined,
  ctx: QualityContext,
  options: QualityOptions,
): QualityProblem[] {
  const { features, nSteps } = ctx;
  const F = features.length;
  const at = (step: number) => new Date((ctx.startEpoch + step * ctx.resolutionSeconds) * 1000).toISOString();
  if (series === undefined) return [{ server, problem: `no data between ${at(0)} and ${at(nSteps)}` }];
  const problems: QualityProblem[] = [];
  const add = (problem: string) => problems.push({ server, problem });

  let first = -1;
  let last = -1;
  let observed = 0;
  const featureSeen = new Array<boolean>(F).fill(false);
  let rangeProblem: string | undefined;
  for (let t = 0; t < nSteps; t++) {
    let any = false;
    for (let f = 0; f < F; f++) {
      const v = series.values[t * F + f]!;
      if (Number.isNaN(v)) continue;
      any = true;
      featureSeen[f] = true;
      const spec = METRICS.find((m) => m.name === features[f]);
      if (rangeProblem === undefined && (!Number.isFinite(v) || (spec && (v < spec.min || v > spec.max))))
        rangeProblem = `${features[f]} = ${v} at ${at(t)} is outside the data contract range [${spec?.min ?? '-∞'}, ${spec?.max ?? '∞'}]`;
    }
    if (any) {
      if (first < 0) first = t;
      last = t;
      observed++;
    }
  }
  if (first < 0) return [{ server, problem: `no values between ${at(0)} and ${at(nSteps)}` }];
  if (rangeProblem) add(rangeProblem);
  const missingFeatures = features.filter((_, f) => !featureSeen[f]);
  if (missingFeatures.length) add(`no values at all for ${missingFeatures.join(', ')}`);
  const stepsPerDay = 86400 / ctx.resolutionSeconds;
  const span = last - first + 1;
  const minSteps = Math.ceil(options.minHistoryDays * stepsPerDay);
  if (span < minSteps)
    add(
      `only ${(span / stepsPerDay).toFixed(1)} days of history (${at(first)} to ${at(last + 1)}); ` +
        `at least ${options.minHistoryDays} days needed`,
    );
  const fraction = observed / span;
  if (fraction < options.minObservedFraction)
    add(
      `data in only ${(fraction * 100).toFixed(0)}% of its ${ctx.resolutionSeconds}s steps since ${at(first)} ` +
        `(large gaps; at least ${(options.minObservedFraction * 100).toFixed(0)}% needed)`,
    );
  return problems;
}

/** Renders problems for an error message: one line per server, at most `max` servers. */
export function describeProblems(problems: readonly QualityProblem[], max = 25): string {
  const byServer = new Map<string, string[]>();
  for (const p of problems) byServer.set(p.server, [...(byServer.get(p.server) ?? []), p.problem]);
  const lines = [...byServer.entries()].slice(0, max).map(([s, list]) => `  ${s}: ${list.join('; ')}`);
  if (byServer.size > max) lines.push(`  … and ${byServer.size - max} more servers`);
  return lines.join('\n');
}
