import { addPoint, emptySums, qRiskOf, type QRiskSums } from './qrisk.js';

export type ServerGroup = 'known' | 'unknown';
/**
 * `known_profile_matched`: the known servers' q-risk re-weighted to the unknown group's profile
 * mix. Holdout servers are few and chosen by name hash, so their profile mix differs from the
 * fleet's (a memory-leaking batch-heavy holdout looks worse for reasons that have nothing to do
 * with being unknown); comparing like with like isolates the cost of the unknown index.
 * `unknown_profile_matched` is the unknown group over the same profiles (those with known servers).
 */
export const GROUPS = [
  'known',
  'unknown',
  'all',
  'known_profile_matched',
  'unknown_profile_matched',
] as const;
export type ScoreGroup = (typeof GROUPS)[number];

/** One forecast origin of one server on the held-out window, with every compared model's forecast. */
export interface ScoredWindow {
  server: string;
  /** known: forecast under its own id; unknown: a holdout server, forecast through index 0. */
  group: ServerGroup;
  /** The server's profile (for the profile-matched comparison); null when unknown. */
  profile?: string | null;
  /** Actual values, horizon × targets, row-major; NaN where there is no data. */
  actual: ArrayLike<number>;
  /** Model name → forecast, horizon × targets × quantiles, row-major. */
  forecasts: Record<string, ArrayLike<number>>;
}

export interface ScoreEntry {
  model: string;
  group: ScoreGroup;
  target: string;
  quantile: number;
  /** 2·ΣQL/Σ|y|, null when nothing was scored. */
  q_risk: number | null;
  points: number;
}

export interface ScoreLayout {
  horizon: number;
  targets: readonly string[];
  quantiles: readonly number[];
}

/**
 * q-risk per model × group × target × quantile. A (step, target) is scored only where the actual
 * and every model's forecast (all quantiles) are finite, so all models are compared on exactly the
 * same points.
 */
export function scoreWindows(
  windows: readonly ScoredWindow[],
  models: readonly string[],
  layout: ScoreLayout,
): ScoreEntry[] {
  const { horizon, targets, quantiles } = layout;
  const T = targets.length;
  const Q = quantiles.length;
  const sums = new Map<string, QRiskSums>();
  const key = (m: string, g: ScoreGroup, t: number, q: number) => `${m}\0${g}\0${t}\0${q}`;
  const sumsFor = (k: string) => {
    let s = sums.get(k);
    if (!s) sums.set(k, (s = emptySums()));
    return s;
  };

  for (const w of windows) {
    if (w.actual.length !== horizon * T)
      throw new Error(`window of ${w.server}: actual has ${w.actual.length} values, expected ${horizon * T}`);
    for (const m of models) {
      const f = w.forecasts[m];
      if (!f) throw new Error(`window of ${w.server}: no forecast from ${m}`);
      if (f.length !== horizon * T * Q)
        throw new Error(`window of ${w.server}: ${m} has ${f.length} values, expected ${horizon * T * Q}`);
    }
    for (let h = 0; h < horizon; h++) {
      for (let t = 0; t < T; t++) {
        const y = w.actual[h * T + t]!;
        if (!Number.isFinite(y)) continue;
        const base = (h * T + t) * Q;
        if (!models.every((m) => allFinite(w.forecasts[m]!, base, Q))) continue;
        for (const m of models) {
          const f = w.forecasts[m]!;
          for (let qi = 0; qi < Q; qi++) {
            for (const g of [w.group, 'all'] as const)
              addPoint(sumsFor(key(m, g, t, qi)), y, f[base + qi]!, quantiles[qi]!);
            addPoint(
              sumsFor(profileKey(m, w.group, w.profile ?? '', t, qi)),
              y,
              f[base + qi]!,
              quantiles[qi]!,
            );
          }
        }
      }
    }
  }

  const profiles = [...new Set(windows.map((w) => w.profile ?? ''))];
  const entries: ScoreEntry[] = [];
  for (const m of models)
    for (const g of GROUPS)
      for (let t = 0; t < T; t++)
        for (let qi = 0; qi < Q; qi++) {
          const base = { model: m, group: g, target: targets[t]!, quantile: quantiles[qi]! };
          if (g === 'known_profile_matched' || g === 'unknown_profile_matched') {
            const byProfile = profiles.map((p) => ({
              known: sums.get(profileKey(m, 'known', p, t, qi)) ?? emptySums(),
              unknown: sums.get(profileKey(m, 'unknown', p, t, qi)) ?? emptySums(),
            }));
            entries.push({ ...base, ...profileMatched(byProfile, g) });
            continue;
          }
          const s = sums.get(key(m, g, t, qi)) ?? emptySums();
          entries.push({ ...base, q_risk: qRiskOf(s), points: s.count });
        }
  return entries;
}

const profileKey = (m: string, g: ServerGroup, p: string, t: number, q: number) =>
  `${m}\0${g}\0${p}\0${t}\0${q}\0profile`;

/**
 * Σₚ wₚ·q-risk(known, p) with wₚ = the unknown group's share of Σ|y| in profile p, over the
 * profiles that have both known and unknown points. The unknown group's own q-risk is the same
 * weighted sum of its per-profile q-risks, so the two are directly comparable.
 */
function profileMatched(
  byProfile: ReadonlyArray<{ known: QRiskSums; unknown: QRiskSums }>,
  group: 'known_profile_matched' | 'unknown_profile_matched',
): { q_risk: number | null; points: number } {
  const both = byProfile.filter((p) => qRiskOf(p.known) !== null && p.unknown.absActual > 0);
  const weight = both.reduce((sum, p) => sum + p.unknown.absActual, 0);
  if (weight === 0) return { q_risk: null, points: 0 };
  if (group === 'unknown_profile_matched')
    return {
      q_risk: (2 * both.reduce((sum, p) => sum + p.unknown.loss, 0)) / weight,
      points: both.reduce((sum, p) => sum + p.unknown.count, 0),
    };
  const q_risk = both.reduce((sum, p) => sum + (p.unknown.absActual / weight) * qRiskOf(p.known)!, 0);
  return { q_risk, points: both.reduce((sum, p) => sum + p.known.count, 0) };
}

function allFinite(values: ArrayLike<number>, start: number, count: number): boolean {
  for (let i = start; i < start + count; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}

/** A point forecast (horizon × targets) repeated for every quantile, e.g. seasonal naive. */
export function pointAsQuantiles(point: ArrayLike<number>, quantiles: number): Float64Array {
  const out = new Float64Array(point.length * quantiles);
  for (let i = 0; i < point.length; i++) out.fill(point[i]!, i * quantiles, (i + 1) * quantiles);
  return out;
}

export function findScore(
  entries: readonly ScoreEntry[],
  model: string,
  group: ScoreGroup,
  target: string,
  quantile: number,
): ScoreEntry | undefined {
  return entries.find(
    (e) =>
      e.model === model && e.group === group && e.target === target && Math.abs(e.quantile - quantile) < 1e-9,
  );
}

/** Model q-risk ÷ one baseline's, on all servers, for one target and quantile. */
export interface BaselineRatio {
  target: string;
  quantile: number;
  /** seasonal_naive, deployed, or a peer's name. */
  baseline: string;
  model_q_risk: number | null;
  baseline_q_risk: number | null;
  /** null when either is missing or the baseline's is 0. */
  ratio: number | null;
}

/** `model`'s ratio to every baseline on group `all`, per target and quantile. */
export function baselineRatios(
  entries: readonly ScoreEntry[],
  model: string,
  baselines: readonly string[],
  targets: readonly string[],
  quantiles: readonly number[],
): BaselineRatio[] {
  return targets.flatMap((target) =>
    quantiles.flatMap((quantile) => {
      const m = findScore(entries, model, 'all', target, quantile)?.q_risk ?? null;
      return baselines.map((baseline) => {
        const b = findScore(entries, baseline, 'all', target, quantile)?.q_risk ?? null;
        return {
          target,
          quantile,
          baseline,
          model_q_risk: m,
          baseline_q_risk: b,
          ratio: m !== null && b !== null && b > 0 ? m / b : null,
        };
      });
    }),
  );
}
