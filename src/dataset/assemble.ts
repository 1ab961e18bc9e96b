import { PROFILE_PATTERN } from '../metrics/contract.js';
import { DEFAULT_PROFILE, type MetricColumn } from '../metrics/metric-set.js';
import type { ServerMapping } from '../registry/schemas.js';
import { InputError } from '../core/errors.js';
import { forwardFill, type ServerSeries } from '../features/resample.js';
import type { Dataset, DatasetHeader } from './format.js';
import { chooseHoldout, type HoldoutOptions } from './holdout.js';
import { checkSeries, describeProblems, type QualityOptions, type QualityProblem } from './quality.js';
import { computeSplit } from './split.js';
import { isoOfEpoch, type DatasetWindow } from './window.js';

/** A server to build the dataset for: a name, and the profile to use when the metrics carry none. */
export interface DatasetServerInput {
  name: string;
  /** Used when the metrics carry no profile for the server. */
  profile?: string | null;
}

/**
 * Checks every server's resampled series (quality.ts) and resolves its profile: the metrics'
 * (the latest one when it changed), else the manifest's, else DEFAULT_PROFILE. Returns the
 * problems and each server's profile.
 */
export function checkServerSeries(
  servers: readonly DatasetServerInput[],
  dense: ReadonlyMap<string, ServerSeries>,
  features: readonly string[],
  window: DatasetWindow,
  resolutionSeconds: number,
  quality: QualityOptions,
): { problems: QualityProblem[]; profiles: Map<string, string> } {
  const problems: QualityProblem[] = [];
  const ctx = { features, nSteps: window.nSteps, startEpoch: window.startEpoch, resolutionSeconds };
  for (const s of servers) problems.push(...checkSeries(s.name, dense.get(s.name), ctx, quality));
  const profiles = new Map<string, string>();
  for (const s of servers) {
    const profile = dense.get(s.name)?.profile || s.profile || DEFAULT_PROFILE;
    if (!PROFILE_PATTERN.test(profile))
      problems.push({ server: s.name, problem: `invalid profile ${JSON.stringify(profile.slice(0, 40))}` });
    profiles.set(s.name, profile);
  }
  return { problems, profiles };
}

export interface AssembleRequest {
  names: readonly string[];
  dense: ReadonlyMap<string, ServerSeries>;
  profiles: ReadonlyMap<string, string>;
  /** Servers left out for their problems (skip mode). */
  problems: readonly QualityProblem[];
  features: readonly string[];
  /** Targets and every feature's spec, recorded in the header for the trainer. */
  metrics: { targets: readonly string[]; features: readonly MetricColumn[] };
  window: DatasetWindow;
  mapping: ServerMapping;
  resolutionSeconds: number;
  lookbackSteps: number;
  horizonSteps: number;
  heldOutDays: number;
  fillLimit: number;
  holdout: HoldoutOptions;
  holdoutServers: ReadonlySet<string> | undefined;
  source: string;
  now: Date;
}

/**
 * The dataset from the checked series: the held-out split, holdout servers, rows in embedding
 * index order, short gaps forward-filled, and the header describing it all.
 */
export function assembleDataset(r: AssembleRequest): {
  dataset: Dataset;
  filled: number;
  missing: number;
  /** Holdout servers chosen (or given), before any were left out for problems. */
  holdout: ReadonlySet<string>;
} {
  const { window, resolutionSeconds: res } = r;
  const nSteps = window.nSteps;
  let split;
  try {
    split = computeSplit({
      nSteps,
      resolutionSeconds: res,
      lookbackSteps: r.lookbackSteps,
      horizonSteps: r.horizonSteps,
      heldOutDays: r.heldOutDays,
    });
  } catch (error) {
    throw new InputError((error as Error).message);
  }
  const F = r.features.length;
  const bad = new Set(r.problems.map((p) => p.server));
  const kept = r.names.filter((n) => !bad.has(n));
  if (kept.length === 0)
    throw new InputError(`no manifest server has usable data:\n${describeProblems([...r.problems])}`);
  const holdout =
    r.holdoutServers ??
    chooseHoldout(
      r.names,
      r.holdout,
      (n) => r.profiles.get(n),
      (n) => meanOfFeature(r.dense.get(n)?.values, F, 0, split.train_end_step),
    );
  const profileList = [...new Set(kept.map((n) => r.profiles.get(n)!))].sort();
  const ordered = [...kept].sort((a, b) => r.mapping.servers[a]! - r.mapping.servers[b]!);
  const values = new Float32Array(ordered.length * nSteps * F);
  let filled = 0;
  ordered.forEach((name, row) => {
    const series = r.dense.get(name)!.values;
    filled += forwardFill(series, nSteps, F, r.fillLimit);
    values.set(series, row * nSteps * F);
  });
  let missing = 0;
  for (const v of values) if (Number.isNaN(v)) missing++;

  const header: DatasetHeader = {
    format_version: 1,
    created_at: r.now.toISOString(),
    source: r.source,
    start: isoOfEpoch(window.startEpoch),
    resolution_seconds: res,
    n_steps: nSteps,
    fill_limit_steps: r.fillLimit,
    features: [...r.features],
    targets: [...r.metrics.targets],
    metrics: metricsRecord(r.metrics.features),
    profiles: profileList,
    servers: ordered.map((name) => ({
      name,
      index: r.mapping.servers[name]!,
      profile: r.profiles.get(name)!,
      profile_index: profileList.indexOf(r.profiles.get(name)!) + 1,
      holdout: holdout.has(name),
    })),
    split,
  };
  return { dataset: { header, values }, filled, missing, holdout };
}

/** The header's `metrics`: each feature's unit, range (null: no ceiling) and scaling. */
export function metricsRecord(features: readonly MetricColumn[]): DatasetHeader['metrics'] {
  return Object.fromEntries(
    features.map((f) => [
      f.name,
      {
        unit: f.unit,
        min: f.min,
        max: Number.isFinite(f.max) ? f.max : null,
        transform: f.transform,
        std_floor: f.std_floor,
      },
    ]),
  );
}

/** Mean of feature `f` over the first `steps` steps (NaN skipped); undefined without data. */
function meanOfFeature(
  values: Float32Array | undefined,
  nFeatures: number,
  f: number,
  steps: number,
): number | undefined {
  if (values === undefined) return undefined;
  let sum = 0;
  let n = 0;
  for (let t = 0; t < steps && t * nFeatures + f < values.length; t++) {
    const v = values[t * nFeatures + f]!;
    if (!Number.isNaN(v)) {
      sum += v;
      n++;
    }
  }
  return n > 0 ? sum / n : undefined;
}
