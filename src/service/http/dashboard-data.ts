import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { z } from 'zod';
import { modelMetrics } from '../../dataset/model-metrics.js';
import type { Encoders } from '../../registry/schemas.js';
import type { FleetForecast } from '../serving/forecast-batch.js';
import { quantileKey, round4Significant } from '../serving/forecast-format.js';
import type { LiveAccuracy } from '../serving/live-accuracy.js';
import { CoverageSummary } from '../serving/monitor.js';
import { AccuracySeries, SwapEvent } from '../serving/serving-history.js';

const gzip = promisify(gzipCallback);

/**
 * The documents behind the dashboard's fleet table, server detail and accuracy chart. The fleet
 * table's is built for 10,000 servers: one array per server (no repeated keys), profiles as an
 * index into `profiles`, one target's P50 as the sparkline, numbers rounded to 3 significant digits.
 */
export const FLEET_COLUMNS = [
  'server',
  'profile',
  'known',
  'in_manifest',
  'pending',
  'stale',
  'data_time',
  'live_q_risk',
  'forecast',
  'reason',
] as const;

export const FleetRow = z.tuple([
  z.string(),
  /** Index into `profiles`; null when neither the manifest nor the metrics name one. */
  z.number().int().nullable(),
  z.literal([0, 1]),
  z.literal([0, 1]),
  z.literal([0, 1]),
  z.literal([0, 1]),
  /** End of the server's newest data (epoch seconds); null without recent metrics. */
  z.number().nullable(),
  /** Live q-risk of the serving model at the middle quantile, targets pooled; null: none scored yet. */
  z.number().nullable(),
  /** The middle quantile of `target`, one value per horizon step from `start`; null: no forecast. */
  z.array(z.number()).nullable(),
  /** Why the server has no forecast; null when it has one. */
  z.string().nullable(),
]);
export type FleetRow = z.infer<typeof FleetRow>;

export const TargetInfo = z.strictObject({ name: z.string(), unit: z.string() });

export const DashboardFleet = z.strictObject({
  model_id: z.string(),
  generated_at: z.string(),
  step_seconds: z.number(),
  horizon_steps: z.number().int(),
  targets: z.array(TargetInfo),
  /** The target of the sparklines, and which quantile they show (`p50`). */
  target: z.string(),
  quantile: z.string(),
  coverage: CoverageSummary,
  profiles: z.array(z.string()),
  columns: z.array(z.string()),
  rows: z.array(FleetRow),
});
export type DashboardFleet = z.infer<typeof DashboardFleet>;

const Quantiles = z.record(z.string(), z.array(z.number()));

export const ServerDetail = z.strictObject({
  server: z.string(),
  model_id: z.string(),
  generated_at: z.string(),
  known: z.boolean(),
  profile: z.string().nullable(),
  in_manifest: z.boolean(),
  pending: z.boolean(),
  stale: z.boolean(),
  data_time: z.string().nullable(),
  reason: z.string().nullable(),
  step_seconds: z.number(),
  quantiles: z.array(z.number()),
  live_q_risk: z.strictObject({ q_risk: z.number(), points: z.number().int() }).nullable(),
  targets: z.array(
    TargetInfo.extend({
      /** The server's recent data, one value per step from `start` (null: no value); null without a window. */
      actuals: z.strictObject({ start: z.string(), values: z.array(z.number().nullable()) }).nullable(),
      /** The current forecast by quantile key (`p10`, `p50`, …); null when the server has none. */
      forecast: z.strictObject({ start: z.string(), quantiles: Quantiles }).nullable(),
      /** Earlier forecasts this model served, kept by live accuracy: what was predicted for the actuals. */
      served: z.array(z.strictObject({ start: z.string(), quantiles: Quantiles })),
    }),
  ),
  swaps: z.array(SwapEvent),
});
export type ServerDetail = z.infer<typeof ServerDetail>;

export const DashboardAccuracy = z.strictObject({
  generated_at: z.string(),
  serving_model: z.string().nullable(),
  /** The pointer's candidate beside it (shadow or A/B), scored on the same points; null: none. */
  candidate: z.strictObject({ model_id: z.string(), mode: z.enum(['shadow', 'ab']) }).nullable(),
  /** Most recently sampled first. */
  models: z.array(AccuracySeries),
  swaps: z.array(SwapEvent),
  /** History files that were corrupt at start and started over, with why. */
  problems: z.array(z.string()),
});
export type DashboardAccuracy = z.infer<typeof DashboardAccuracy>;

export function round3(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(3)) : v;
}

/** Each target's unit from the metric set the model was trained on ('' when it records none). */
export function targetInfo(encoders: Encoders): Array<{ name: string; unit: string }> {
  let units = new Map<string, string>();
  try {
    units = new Map(modelMetrics(encoders).features.map((f) => [f.name, f.unit]));
  } catch {
    // a model without a metric record for a column: shown without a unit
  }
  return encoders.targets.map((name) => ({ name, unit: units.get(name) ?? '' }));
}

/** The quantile nearest 0.5 (the P50 line), as its key. */
export function middleQuantileKey(quantiles: readonly number[]): string {
  let best = quantiles[0]!;
  for (const q of quantiles) if (Math.abs(q - 0.5) < Math.abs(best - 0.5)) best = q;
  return quantileKey(best);
}

export interface FleetSource {
  fleet: FleetForecast;
  encoders: Encoders;
  /** Newest data time (epoch seconds) of servers with a window but no forecast. */
  dataTimes: ReadonlyMap<string, number>;
  qRisks: ReturnType<LiveAccuracy['serverQRisks']>;
}

/** One table document per target of the model. */
export function fleetDocuments(source: FleetSource): Map<string, DashboardFleet> {
  const { fleet, encoders, dataTimes, qRisks } = source;
  const middle = middleQuantileKey(fleet.quantiles);
  const profiles: string[] = [];
  const profileIndex = new Map<string, number>();
  const indexOf = (profile: string | null): number | null => {
    if (profile === null) return null;
    let i = profileIndex.get(profile);
    if (i === undefined) {
      i = profiles.push(profile) - 1;
      profileIndex.set(profile, i);
    }
    return i;
  };
  const base = fleet.servers.map((entry) => {
    const q = qRisks.get(entry.server);
    const qRisk = q === undefined ? null : round3(q.q_risk);
    const flags = [entry.known ? 1 : 0, entry.in_manifest ? 1 : 0, entry.pending ? 1 : 0] as const;
    if ('forecast' in entry) {
      const dataTime = Date.parse(entry.data_time) / 1000;
      return {
        entry,
        head: [entry.server, indexOf(entry.profile), ...flags, entry.stale ? 1 : 0, dataTime, qRisk],
      };
    }
    const dataTime = dataTimes.get(entry.server) ?? null;
    return { entry, head: [entry.server, indexOf(entry.profile), ...flags, 0, dataTime, qRisk] };
  });
  const targets = targetInfo(encoders);
  const docs = new Map<string, DashboardFleet>();
  for (const { name } of targets) {
    const rows = base.map(({ entry, head }): FleetRow => {
      if ('forecast' in entry) {
        const series = entry.forecast[name]?.[middle] ?? [];
        return [...head, series.map(round3), null] as unknown as FleetRow;
      }
      return [...head, null, entry.reason] as unknown as FleetRow;
    });
    docs.set(name, {
      model_id: fleet.model_id,
      generated_at: fleet.generated_at,
      step_seconds: fleet.step_seconds,
      horizon_steps: fleet.horizon_steps,
      targets,
      target: name,
      quantile: middle,
      coverage: fleet.coverage,
      profiles,
      columns: [...FLEET_COLUMNS],
      rows,
    });
  }
  return docs;
}

/** A document serialized once, with its gzip, for every request of a cycle. */
export interface EncodedDocument {
  raw: Buffer;
  gzip: Buffer;
}

export async function encodeDocument(doc: unknown): Promise<EncodedDocument> {
  const raw = Buffer.from(JSON.stringify(doc));
  return { raw, gzip: await gzip(raw, { level: 6 }) };
}

/** `values[(h * nT + t) * nQ + q]` (the model's output layout) as one target's quantile series. */
export function quantileSeries(
  values: ArrayLike<number>,
  target: number,
  nTargets: number,
  quantiles: readonly number[],
  horizon: number,
): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  quantiles.forEach((q, qi) => {
    const series = new Array<number>(horizon);
    for (let h = 0; h < horizon; h++)
      series[h] = round4Significant(values[(h * nTargets + target) * quantiles.length + qi]!);
    out[quantileKey(q)] = series;
  });
  return out;
}
