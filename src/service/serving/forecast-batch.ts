import { z } from 'zod';
import type { ForecastFailure, ForecastInput, ServingModel } from '../serving-model.js';
import type { FleetMember } from './fleet.js';
import { ServerForecast } from './forecast-format.js';
import { CoverageSummary } from './monitor.js';
import type { WindowSnapshot } from './window-cache.js';

/** The documents the forecast endpoints answer with, and the pure steps that build them. */

/** Servers per model call in a streamed fleet forecast (chunking costs nothing in session.run). */
export const FLEET_CHUNK_SIZE = 100;

/**
 * A requested server without a forecast: no recent metrics, or `<code>: <message>` when its window
 * or forecast was unusable (`invalid_window`, `non_finite_output`, `output_shape`).
 */
export const MissingForecast = z.strictObject({ server: z.string(), reason: z.string() });
export type MissingForecast = z.infer<typeof MissingForecast>;

/** What every forecast document says about the model that made it. */
export const BatchMeta = z.strictObject({
  model_id: z.string(),
  generated_at: z.string(),
  step_seconds: z.number(),
  horizon_steps: z.number().int(),
  targets: z.array(z.string()),
  quantiles: z.array(z.number()),
});
export type BatchMeta = z.infer<typeof BatchMeta>;

/** POST /predict. */
export const ForecastBatch = BatchMeta.extend({
  forecasts: z.array(ServerForecast),
  missing: z.array(MissingForecast),
});
export type ForecastBatch = z.infer<typeof ForecastBatch>;

/** GET /predict/:server: the batch fields and the one server's forecast, side by side. */
export const SingleForecast = BatchMeta.extend(ServerForecast.shape);
export type SingleForecast = z.infer<typeof SingleForecast>;

/**
 * One server of the fleet forecast: its forecast, or why it has none. `pending`: outside the
 * manifest and not yet eligible for training (left out of the unknown-prediction rate).
 */
export const FleetEntry = z.union([
  ServerForecast.extend({ in_manifest: z.boolean(), pending: z.boolean() }),
  MissingForecast.extend({
    in_manifest: z.boolean(),
    pending: z.boolean(),
    known: z.boolean(),
    profile: z.string().nullable(),
  }),
]);
export type FleetEntry = z.infer<typeof FleetEntry>;

/** GET /forecast/fleet; `missing` comes last (the stream knows it once every chunk is done). */
export const FleetForecast = BatchMeta.extend({
  coverage: CoverageSummary,
  servers: z.array(FleetEntry),
  missing: z.array(MissingForecast),
});
export type FleetForecast = z.infer<typeof FleetForecast>;

export function batchMeta(model: ServingModel, now: Date): BatchMeta {
  const { encoders } = model;
  return {
    model_id: model.id,
    generated_at: now.toISOString(),
    step_seconds: encoders.resolution_seconds,
    horizon_steps: encoders.horizon_steps,
    targets: encoders.targets,
    quantiles: encoders.quantiles,
  };
}

/** Each server's profile in the fleet (the manifest's, else the metrics'). */
export function fleetProfiles(fleet: readonly FleetMember[]): Map<string, string | null> {
  return new Map(fleet.map((s) => [s.name, s.profile]));
}

/**
 * Each server's input window (with its profile), or why it has none: no recent metrics
 * (`missing`), or a window the model cannot take (`invalid`: wrong size, a NaN or an Inf), which
 * is that server's failure alone.
 */
export function planInputs(
  model: Pick<ServingModel, 'vocabulary'>,
  snapshot: WindowSnapshot,
  servers: readonly string[],
  profiles: ReadonlyMap<string, string | null>,
): { inputs: ForecastInput[]; missing: MissingForecast[]; invalid: ForecastFailure[] } {
  const inputs: ForecastInput[] = [];
  const missing: MissingForecast[] = [];
  const invalid: ForecastFailure[] = [];
  for (const server of servers) {
    const window = snapshot.windows.get(server);
    if (window === undefined) {
      missing.push({ server, reason: 'no recent metrics for this server' });
      continue;
    }
    const problem = snapshot.problems.get(server);
    if (problem !== undefined) {
      invalid.push({
        server,
        known: model.vocabulary.has(server),
        reason: 'invalid_window',
        message: problem,
      });
      continue;
    }
    inputs.push({ ...window.input, profile: window.input.profile ?? profiles.get(server) ?? null });
  }
  return { inputs, missing, invalid };
}

/** The fleet's `servers` array: a forecast per server, or the reason it has none. */
export function fleetEntries(
  model: Pick<ServingModel, 'vocabulary'>,
  fleet: readonly FleetMember[],
  forecasts: readonly ServerForecast[],
  missingList: readonly MissingForecast[],
): FleetEntry[] {
  const byName = new Map(forecasts.map((f) => [f.server, f]));
  const missing = new Map(missingList.map((m) => [m.server, m.reason]));
  return fleet.map((s) => {
    const forecast = byName.get(s.name);
    const pending = s.pending !== null;
    if (forecast !== undefined) return { ...forecast, in_manifest: s.inManifest, pending };
    return {
      server: s.name,
      reason: missing.get(s.name) ?? 'no recent metrics',
      in_manifest: s.inManifest,
      pending,
      known: model.vocabulary.has(s.name),
      profile: s.profile,
    };
  });
}
