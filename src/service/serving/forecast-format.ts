import { z } from 'zod';
import type { Encoders } from '../../registry/schemas.js';
import type { ForecastResult } from '../serving-model.js';

/** One server's forecast in the HTTP API: `forecast[target][pNN]` = one value per horizon step. */
export const ServerForecast = z.strictObject({
  server: z.string(),
  /** False: not in the vocabulary, forecast through the unknown index. */
  known: z.boolean(),
  profile: z.string().nullable(),
  /** First forecast step (ISO 8601, UTC). */
  start: z.string(),
  step_seconds: z.number(),
  /**
   * Where the server's data ends (the end of its newest bucket with data, ISO 8601): the forecast
   * starts there, so this equals `start`; named apart because it is what `stale` judges.
   */
  data_time: z.string(),
  /** The data is older than the service's stale limit (`--stale-after`): an old forecast. */
  stale: z.boolean(),
  /**
   * Metrics with no value in the server's input window, read as their declared minimum (a
   * switched-off VM has no memory figure); absent when every metric had data.
   */
  imputed: z.array(z.string()).optional(),
  /**
   * The model that made this forecast; present while an A/B candidate serves a share of the fleet
   * (docs/candidate.md), absent otherwise (the document's `model_id` made them all).
   */
  model_id: z.string().optional(),
  forecast: z.record(z.string(), z.record(z.string(), z.array(z.number()))),
});
export type ServerForecast = z.infer<typeof ServerForecast>;

/** `0.1` → `p10`, `0.025` → `p2.5`. */
export function quantileKey(q: number): string {
  return `p${Number((q * 100).toFixed(2))}`;
}

const POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * Values are rounded to 4 significant digits: far below the forecast's own uncertainty, and the
 * fleet response gets a quarter smaller and faster to serialize than with 4 decimals. Dividing by
 * an exact power of ten is correctly rounded, so the JSON text is the short decimal.
 */
export function round4Significant(v: number): number {
  if (v === 0 || !Number.isFinite(v)) return v;
  const exponent = Math.floor(Math.log10(Math.abs(v))) - 3;
  if (exponent >= 0) {
    const p = POWERS_OF_TEN[exponent] ?? 10 ** exponent;
    return Math.round(v / p) * p;
  }
  const p = POWERS_OF_TEN[-exponent] ?? 10 ** -exponent;
  return Math.round(v * p) / p;
}

/**
 * One result as the API answers it. `staleBefore` (epoch seconds): data ending before this instant
 * is stale.
 */
export function formatForecast(
  result: ForecastResult,
  encoders: Encoders,
  profile: string | null,
  staleBefore = Number.NEGATIVE_INFINITY,
  imputed: readonly string[] = [],
): ServerForecast {
  const { targets, quantiles, horizon_steps: horizon } = encoders;
  const keys = quantiles.map(quantileKey);
  const nT = targets.length;
  const nQ = quantiles.length;
  const forecast: Record<string, Record<string, number[]>> = {};
  targets.forEach((target, t) => {
    const byQuantile: Record<string, number[]> = {};
    keys.forEach((key, q) => {
      const series = new Array<number>(horizon);
      for (let h = 0; h < horizon; h++) series[h] = round4Significant(result.values[(h * nT + t) * nQ + q]!);
      byQuantile[key] = series;
    });
    forecast[target] = byQuantile;
  });
  const start = new Date(result.start * 1000).toISOString();
  return {
    server: result.server,
    known: result.known,
    profile,
    start,
    step_seconds: result.stepSeconds,
    data_time: start,
    stale: result.start < staleBefore,
    ...(imputed.length > 0 ? { imputed: [...imputed] } : {}),
    forecast,
  };
}
