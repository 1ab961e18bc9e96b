import { unknownKnownIntervals, type UnknownKnownInterval } from './unknown-interval.js';
import { datasetStartEpoch, serverValues, type Dataset } from '../dataset/format.js';
import type { LoadedModel } from '../model/loaded-model.js';
import { DEPLOYED, MODEL, SEASONAL_NAIVE } from './gates.js';
import { caseInput, featureIndices, heldOutCases, type HeldOutCase } from './heldout-cases.js';
import {
  comparability,
  compareHoldoutRows,
  forecastCandidate,
  forecastDeployed,
} from './heldout-forecasts.js';
import { peerWindow, type PeerForecasts } from './peer-forecasts.js';
import type { HeldOutLayout } from './peer-request.js';
import type { PeerOutcome, PeerRun } from './peer-run.js';
import {
  baselineRatios,
  pointAsQuantiles,
  scoreWindows,
  type BaselineRatio,
  type ScoredWindow,
  type ScoreEntry,
} from './scoring.js';
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
  /**
   * The peer forecasters (peer-run.ts's peerRunner): given the held-out layout, their forecasts
   * of every window, scored beside the model on the same points.
   */
  peers?: (layout: HeldOutLayout) => Promise<PeerRun>;
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
  /** Every requested peer forecaster and what became of it (empty without --peers). */
  peers: PeerOutcome[];
  /**
   * Model q-risk ÷ each baseline's on all servers, per target and quantile: seasonal naive (a
   * point forecast scored at every quantile), the deployed model when scored, every scored peer.
   */
  ratios: BaselineRatio[];
  /** P50 unknown ÷ known q-risk per target with its 95 % server-bootstrap interval (unknown-interval.ts). */
  unknown_vs_known: UnknownKnownInterval[];
}

/**
 * Scores the model on the held-out window [fromStep, n_steps): forecasts from every origin
 * (every `strideSteps`) whose lookback has no missing value (heldout-cases.ts), against the actual
 * values, the one-day seasonal naive forecast and (when comparable) the deployed model
 * (heldout-forecasts.ts). Known servers use their own id; holdout servers go through index 0, as a
 * never-seen server would.
 */
export async function evaluateHeldOut(options: HeldOutOptions): Promise<HeldOutEvaluation> {
  const { dataset, model } = options;
  const h = dataset.header;
  const enc = model.encoders;
  const res = h.resolution_seconds;
  if (enc.resolution_seconds !== res)
    throw new Error(`model resolution ${enc.resolution_seconds}s differs from the evaluation data's ${res}s`);
  const observed = featureIndices(enc.observed_features, h.features, 'observed feature');
  const targets = featureIndices(enc.targets, h.features, 'target');
  const H = enc.horizon_steps;
  const L = enc.lookback_steps;
  const stride = options.strideSteps ?? H;
  const from = Math.max(options.fromStep ?? h.split.train_end_step, L);

  const deployed = options.deployed ?? null;
  const deployedNote = deployed ? comparability(deployed, model, h.features, res) : 'no deployed model';
  const useDeployed = deployed !== null && deployedNote === null;
  const models = useDeployed ? [MODEL, SEASONAL_NAIVE, DEPLOYED] : [MODEL, SEASONAL_NAIVE];

  const { cases, origins, skipped } = heldOutCases(dataset, options.holdout, {
    from,
    stride,
    lookback: L,
    horizon: H,
    observed,
  });
  options.progress?.(
    `validate: ${cases.length} held-out windows (${origins.length} origins per server, ${skipped} skipped for missing input)`,
  );

  const batch = options.batchSize ?? 512;
  const input = (c: HeldOutCase) => caseInput(dataset, c, L, observed);
  const modelOut = await forecastCandidate(model, cases, input, batch);
  const holdoutRows = await compareHoldoutRows(model, cases, input, modelOut);
  const deployedOut = useDeployed ? await forecastDeployedOn(deployed, options, cases, batch) : null;
  const peerRun = options.peers ? await options.peers({ from, stride, origins }) : null;
  const peers = peerRun ? finitePeers(peerRun, cases, from, stride) : [];
  const peerOut = peers.map((p) => ({
    name: p.peer,
    windows: cases.map((c) => peerWindow(p, c.row, (c.origin - from) / stride)),
  }));
  models.push(...peers.map((p) => p.peer));
  const windows = scoredWindows(dataset, cases, targets, H, enc.quantiles.length, {
    modelOut,
    deployedOut,
    peerOut,
  });
  const scores = scoreWindows(windows, models, {
    horizon: H,
    targets: enc.targets,
    quantiles: enc.quantiles,
  });
  const start = datasetStartEpoch(h);
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
    peers: peerRun?.outcomes ?? [],
    ratios: baselineRatios(scores, MODEL, models.slice(1), enc.targets, enc.quantiles),
    unknown_vs_known: unknownKnownIntervals(windows, MODEL, models, {
      horizon: H,
      targets: enc.targets,
      quantiles: enc.quantiles,
    }),
  };
}

/**
 * The peers whose every scored window is finite. scoreWindows drops a point for every model when
 * one forecast there is not finite, so a peer with a hole would take points from the model: it is
 * left out instead, its outcome saying why (the peers promise finite forecasts on every window
 * whose lookback is complete, the only windows scored, so this is a safety net).
 */
function finitePeers(
  run: PeerRun,
  cases: readonly HeldOutCase[],
  from: number,
  stride: number,
): PeerForecasts[] {
  return run.forecasts.filter((p) => {
    const bad = cases.filter((c) => !peerWindow(p, c.row, (c.origin - from) / stride).every(Number.isFinite));
    if (bad.length === 0) return true;
    const outcome = run.outcomes.find((o) => o.peer === p.peer);
    if (outcome) {
      outcome.status = 'left_out';
      outcome.note =
        `peer ${p.peer}: ${bad.length} of ${cases.length} scored windows have a non-finite forecast ` +
        `(first: ${bad[0]!.server} at step ${bad[0]!.origin}); left out so that the model keeps its points`;
    }
    return false;
  });
}

/** The deployed model's forecasts of the cases, with its own lookback and features. */
function forecastDeployedOn(
  deployed: LoadedModel,
  options: HeldOutOptions,
  cases: readonly HeldOutCase[],
  batch: number,
): Promise<Float32Array[]> {
  const { dataset, model } = options;
  const dObs = featureIndices(
    deployed.encoders.observed_features,
    dataset.header.features,
    'observed feature',
  );
  const dL = deployed.encoders.lookback_steps;
  const enc = model.encoders;
  const per = enc.horizon_steps * enc.targets.length * enc.quantiles.length;
  return forecastDeployed(deployed, cases, (c) => caseInput(dataset, c, dL, dObs), batch, per);
}

/**
 * Each case as a scored window: the actual target values of its horizon, the seasonal naive
 * forecast (as flat quantiles), the candidate's forecast and the deployed model's when scored.
 */
function scoredWindows(
  dataset: Dataset,
  cases: readonly HeldOutCase[],
  targets: readonly number[],
  H: number,
  Q: number,
  out: {
    modelOut: readonly Float32Array[];
    deployedOut: readonly Float32Array[] | null;
    peerOut: ReadonlyArray<{ name: string; windows: readonly Float32Array[] }>;
  },
): ScoredWindow[] {
  const h = dataset.header;
  const F = h.features.length;
  const T = targets.length;
  const period = stepsPerDay(h.resolution_seconds);
  // Cases come server by server: one server's target columns are kept at a time.
  const columns = new Map<number, Float64Array[]>();
  const targetColumns = (row: number): Float64Array[] => {
    let cols = columns.get(row);
    if (!cols) {
      const values = serverValues(dataset, row);
      cols = targets.map((f) => Float64Array.from({ length: h.n_steps }, (_, s) => values[s * F + f]!));
      columns.clear();
      columns.set(row, cols);
    }
    return cols;
  };
  return cases.map((c, i) => {
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
      [MODEL]: out.modelOut[i]!,
      [SEASONAL_NAIVE]: pointAsQuantiles(naive, Q),
    };
    if (out.deployedOut) forecasts[DEPLOYED] = out.deployedOut[i]!;
    for (const p of out.peerOut) forecasts[p.name] = p.windows[i]!;
    return {
      server: c.server,
      group: c.unknown ? 'unknown' : 'known',
      profile: c.profile,
      actual,
      forecasts,
    };
  });
}
