import type { ScoredWindow, ScoreLayout } from './scoring.js';
import { mulberry32 } from '../core/seeded-random.js';

/**
 * How sure the unknown-vs-known comparison is. The P50 q-risk of the unknown (holdout) servers
 * over that of the known ones, profile-matched as in scoring.ts, with a 95 % interval from a
 * server-level bootstrap: servers are resampled with replacement within their group and profile,
 * since a handful of holdout servers (13 of 250 on a real fleet) decide the ratio and their load
 * varies by orders of magnitude. Seeded, so a report is reproducible.
 */
export interface UnknownKnownInterval {
  target: string;
  /** The ratio on the servers as they are (equal to the gate's). */
  ratio: number | null;
  /** 2.5th and 97.5th percentiles of the bootstrap ratios; null when too few servers. */
  low: number | null;
  high: number | null;
  unknown_servers: number;
  known_servers: number;
  resamples: number;
}

interface ServerSums {
  group: 'known' | 'unknown';
  profile: string;
  loss: number;
  absActual: number;
}

const RESAMPLES = 1000;

export function unknownKnownIntervals(
  windows: readonly ScoredWindow[],
  model: string,
  models: readonly string[],
  layout: ScoreLayout,
  options: { resamples?: number; seed?: number } = {},
): UnknownKnownInterval[] {
  const q = layout.quantiles.findIndex((x) => Math.abs(x - 0.5) < 1e-9);
  if (q < 0) return [];
  const resamples = options.resamples ?? RESAMPLES;
  return layout.targets.map((target, t) => {
    const servers = perServerSums(windows, model, models, layout, t, q);
    const unknown = servers.filter((s) => s.group === 'unknown');
    const known = servers.filter((s) => s.group === 'known');
    const ratio = matchedRatio(servers);
    const base = { target, ratio, unknown_servers: unknown.length, known_servers: known.length, resamples };
    if (ratio === null || unknown.length < 2 || known.length < 2) return { ...base, low: null, high: null };
    const random = mulberry32(options.seed ?? 0x5eed);
    const strata = new Map<string, ServerSums[]>();
    for (const s of servers)
      strata.set(`${s.group}\0${s.profile}`, [...(strata.get(`${s.group}\0${s.profile}`) ?? []), s]);
    const ratios: number[] = [];
    for (let b = 0; b < resamples; b++) {
      const sample: ServerSums[] = [];
      for (const members of strata.values())
        for (let i = 0; i < members.length; i++) sample.push(members[Math.floor(random() * members.length)]!);
      const r = matchedRatio(sample);
      if (r !== null && Number.isFinite(r)) ratios.push(r);
    }
    ratios.sort((a, b) => a - b);
    const at = (p: number) => ratios[Math.min(ratios.length - 1, Math.floor(p * ratios.length))] ?? null;
    return { ...base, low: at(0.025), high: at(0.975) };
  });
}

/** Per server: the model's pinball loss and Σ|y| at quantile q of target t, on the scored points. */
function perServerSums(
  windows: readonly ScoredWindow[],
  model: string,
  models: readonly string[],
  layout: ScoreLayout,
  t: number,
  q: number,
): ServerSums[] {
  const T = layout.targets.length;
  const Q = layout.quantiles.length;
  const level = layout.quantiles[q]!;
  const byServer = new Map<string, ServerSums>();
  for (const w of windows) {
    let sums = byServer.get(w.server);
    if (!sums)
      byServer.set(w.server, (sums = { group: w.group, profile: w.profile ?? '', loss: 0, absActual: 0 }));
    for (let h = 0; h < layout.horizon; h++) {
      const y = w.actual[h * T + t]!;
      if (!Number.isFinite(y)) continue;
      const base = (h * T + t) * Q;
      // the same points scoreWindows scores: every model finite at every quantile
      if (!models.every((m) => isFiniteRange(w.forecasts[m]!, base, Q))) continue;
      const f = w.forecasts[model]![base + q]!;
      const diff = y - f;
      sums.loss += Math.max(level * diff, (level - 1) * diff);
      sums.absActual += Math.abs(y);
    }
  }
  return [...byServer.values()];
}

/** Profile-matched unknown q-risk over known q-risk (scoring.ts profileMatched), or null. */
function matchedRatio(servers: readonly ServerSums[]): number | null {
  const profiles = new Map<
    string,
    { known: { loss: number; abs: number }; unknown: { loss: number; abs: number } }
  >();
  for (const s of servers) {
    const p = profiles.get(s.profile) ?? { known: { loss: 0, abs: 0 }, unknown: { loss: 0, abs: 0 } };
    p[s.group].loss += s.loss;
    p[s.group].abs += s.absActual;
    profiles.set(s.profile, p);
  }
  const both = [...profiles.values()].filter((p) => p.known.abs > 0 && p.unknown.abs > 0);
  const weight = both.reduce((sum, p) => sum + p.unknown.abs, 0);
  if (weight === 0) return null;
  const unknown = (2 * both.reduce((sum, p) => sum + p.unknown.loss, 0)) / weight;
  const known = both.reduce(
    (sum, p) => sum + (p.unknown.abs / weight) * ((2 * p.known.loss) / p.known.abs),
    0,
  );
  return known > 0 ? unknown / known : null;
}

function isFiniteRange(values: ArrayLike<number>, start: number, count: number): boolean {
  for (let i = start; i < start + count; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}
