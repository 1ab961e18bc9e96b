import { z } from 'zod';
import { getErrorMessage } from '../core/errors.js';
import { trailer } from './trailers.js';

/**
 * The live accuracy a model reached while serving, as the inference service's /status reported it
 * when the model was replaced (deploy, revert, rollback). It goes into the replacing commit as the
 * `Fleetcast-Live-Record` trailer, so the accuracy history lives in git beside the held-out figures.
 *
 * Headline figures are the mean over the model's targets of the live q-risk at the quantile (each
 * target's q-risk is already scale-free), P50 and P90. Seasonal naive is scored on the points where
 * it has a value; `ratio_vs_naive_*` is the model's loss over naive's on those same points.
 */
export interface LiveRecord {
  model: string;
  targets: string[];
  p50: number | null;
  p90: number | null;
  naive_p50: number | null;
  naive_p90: number | null;
  ratio_vs_naive_p50: number | null;
  ratio_vs_naive_p90: number | null;
  scored_points: number;
  naive_points: number;
  scored_hours: number;
  /** When the service was read (ISO 8601). */
  read_at: string;
}

/** A live record, or why there is none (never invented numbers). */
export type LiveRecordResult = { record: LiveRecord } | { none: string };

export const LIVE_RECORD_TRAILER = 'Fleetcast-Live-Record';

/** The part of /status this reads (docs/service.md, "Live accuracy"); other fields are the service's. */
const StatusLive = z.looseObject({
  live_accuracy: z.looseObject({
    models: z.array(
      z.looseObject({
        model: z.string(),
        scored_points: z.number(),
        naive_points: z.number(),
        scored_hours: z.number().optional(),
        q_risk: z.array(
          z.looseObject({
            target: z.string(),
            quantile: z.number(),
            q_risk: z.number().nullable(),
            naive_q_risk: z.number().nullable(),
            ratio_vs_naive: z.number().nullable(),
          }),
        ),
      }),
    ),
  }),
});
type StatusModel = z.infer<typeof StatusLive>['live_accuracy']['models'][number];

function meanAt(model: StatusModel, quantile: number, field: 'q_risk' | 'naive_q_risk' | 'ratio_vs_naive') {
  const values = model.q_risk
    .filter((q) => Math.abs(q.quantile - quantile) < 1e-9)
    .map((q) => q[field])
    .filter((v): v is number => v !== null && Number.isFinite(v));
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/** The live record of `modelId` in a /status body; `none` when the service has not scored it. */
export function liveRecordFromStatus(status: unknown, modelId: string, readAt: Date): LiveRecordResult {
  const parsed = StatusLive.safeParse(status);
  if (!parsed.success)
    return { none: '/status has no live_accuracy section (a service older than live scoring?)' };
  const model = parsed.data.live_accuracy.models.find((m) => m.model === modelId);
  if (model === undefined) return { none: `the service has no live accuracy for ${modelId}` };
  if (model.scored_points === 0) return { none: `the service has scored no point of ${modelId} yet` };
  return {
    record: {
      model: modelId,
      targets: [...new Set(model.q_risk.map((q) => q.target))],
      p50: meanAt(model, 0.5, 'q_risk'),
      p90: meanAt(model, 0.9, 'q_risk'),
      naive_p50: meanAt(model, 0.5, 'naive_q_risk'),
      naive_p90: meanAt(model, 0.9, 'naive_q_risk'),
      ratio_vs_naive_p50: meanAt(model, 0.5, 'ratio_vs_naive'),
      ratio_vs_naive_p90: meanAt(model, 0.9, 'ratio_vs_naive'),
      scored_points: model.scored_points,
      naive_points: model.naive_points,
      scored_hours: model.scored_hours ?? 0,
      read_at: readAt.toISOString(),
    },
  };
}

export interface ServiceAccess {
  serviceUrl?: string | undefined;
  token?: string | undefined;
  fetch?: typeof fetch;
  now?: () => Date;
}

/**
 * Reads `modelId`'s live record from the service's /status. Without a service URL, or when the
 * service cannot be read, the result says so; it never throws (a deploy or rollback goes on).
 */
export async function readLiveRecord(modelId: string, access: ServiceAccess): Promise<LiveRecordResult> {
  if (access.serviceUrl === undefined || access.serviceUrl === '') return { none: 'no service URL given' };
  const base = access.serviceUrl.replace(/\/+$/, '');
  try {
    const response = await (access.fetch ?? fetch)(`${base}/status`, {
      headers: {
        accept: 'application/json',
        ...(access.token ? { authorization: `Bearer ${access.token}` } : {}),
      },
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) return { none: `GET /status answered ${response.status}` };
    return liveRecordFromStatus(await response.json(), modelId, (access.now ?? (() => new Date()))());
  } catch (error) {
    return { none: `GET /status failed: ${getErrorMessage(error).slice(0, 200)}` };
  }
}

const num = (v: number | null, digits = 4) => (v === null ? 'na' : v.toFixed(digits));

/** The trailer value: `<model> p50=… p90=… naive_p50=… …`, or `<model> none (<why>)`. */
export function formatLiveRecord(modelId: string, result: LiveRecordResult): string {
  if ('none' in result) return `${modelId} none (${result.none.replace(/[()\n]/g, ' ').trim()})`;
  const r = result.record;
  return [
    r.model,
    `p50=${num(r.p50)}`,
    `p90=${num(r.p90)}`,
    `naive_p50=${num(r.naive_p50)}`,
    `naive_p90=${num(r.naive_p90)}`,
    `vs_naive_p50=${num(r.ratio_vs_naive_p50)}`,
    `vs_naive_p90=${num(r.ratio_vs_naive_p90)}`,
    `points=${r.scored_points}`,
    `naive_points=${r.naive_points}`,
    `hours=${r.scored_hours.toFixed(1)}`,
    `targets=${r.targets.join(',')}`,
    `at=${r.read_at}`,
  ].join(' ');
}

/** A trailer value parsed back; undefined when it is not one this module wrote. */
export function parseLiveRecord(value: string): { model: string; result: LiveRecordResult } | undefined {
  const none = /^(\S+) none \((.*)\)$/.exec(value.trim());
  if (none !== null) return { model: none[1]!, result: { none: none[2]!.trim() } };
  const [model, ...pairs] = value.trim().split(/\s+/);
  if (model === undefined || pairs.length === 0) return undefined;
  const fields = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return undefined;
    fields.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const figure = (key: string): number | null | undefined => {
    const text = fields.get(key);
    if (text === undefined) return undefined;
    if (text === 'na') return null;
    const n = Number(text);
    return Number.isFinite(n) ? n : undefined;
  };
  const keys = ['p50', 'p90', 'naive_p50', 'naive_p90', 'vs_naive_p50', 'vs_naive_p90'] as const;
  const values = keys.map(figure);
  const points = figure('points');
  const naivePoints = figure('naive_points');
  const hours = figure('hours');
  if (values.some((v) => v === undefined) || points == null || naivePoints == null || hours == null)
    return undefined;
  const [p50, p90, naiveP50, naiveP90, vsNaiveP50, vsNaiveP90] = values as Array<number | null>;
  return {
    model,
    result: {
      record: {
        model,
        targets: (fields.get('targets') ?? '').split(',').filter((t) => t !== ''),
        p50: p50 ?? null,
        p90: p90 ?? null,
        naive_p50: naiveP50 ?? null,
        naive_p90: naiveP90 ?? null,
        ratio_vs_naive_p50: vsNaiveP50 ?? null,
        ratio_vs_naive_p90: vsNaiveP90 ?? null,
        scored_points: points,
        naive_points: naivePoints,
        scored_hours: hours,
        read_at: fields.get('at') ?? '',
      },
    },
  };
}

/** The live record a commit message carries for `modelId` (the model it took out of service). */
export function liveRecordInMessage(message: string, modelId: string): LiveRecordResult | undefined {
  const value = trailer(message, LIVE_RECORD_TRAILER);
  const parsed = value === undefined ? undefined : parseLiveRecord(value);
  return parsed !== undefined && parsed.model === modelId ? parsed.result : undefined;
}
