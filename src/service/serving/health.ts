import { z } from 'zod';
import { listServers, vocabularyCoverage } from '../../fleet/coverage.js';
import { ModelAge, modelAge } from './monitor.js';
import type { ServiceState } from './service-state.js';
import { SWAP_RESULTS, SWAP_TRIGGERS, type LastSwap, type SwapOutcome } from './swap.js';

export const HealthStatus = z.enum(['ok', 'degraded', 'unavailable']);
export type HealthStatus = z.infer<typeof HealthStatus>;

export const LastSwapJson = z.strictObject({
  at: z.string(),
  from: z.string().nullable(),
  to: z.string(),
  duration_ms: z.number(),
});
export type LastSwapJson = z.infer<typeof LastSwapJson>;

/** One reload attempt (the swap protocol's outcome). */
export const ReloadOutcomeJson = z.strictObject({
  result: z.enum(SWAP_RESULTS),
  trigger: z.enum(SWAP_TRIGGERS),
  /** The model serving after the attempt. */
  active_model_id: z.string().nullable(),
  target_model_id: z.string().nullable(),
  /** Why the attempt failed (only on failure). */
  reason: z.string().optional(),
  duration_ms: z.number(),
  at: z.string(),
});
export type ReloadOutcomeJson = z.infer<typeof ReloadOutcomeJson>;

export const HealthResponse = z.strictObject({
  status: HealthStatus,
  /** Why the status is not `ok` (null when it is). */
  reason: z.string().nullable(),
  model_id: z.string().nullable(),
  model_digest: z.string().nullable(),
  model_age: ModelAge.nullable(),
  deployed_at: z.string().nullable(),
  pointer_reason: z.string().nullable(),
  last_swap: LastSwapJson.nullable(),
  last_reload: ReloadOutcomeJson.nullable(),
  failed_swaps: z.number().int(),
  retry: z
    .strictObject({
      target_model_id: z.string().nullable(),
      attempts: z.number().int(),
      since: z.string(),
      next_retry_at: z.string().nullable(),
    })
    .nullable(),
  windows: z
    .strictObject({
      servers: z.number().int(),
      loaded_at: z.string(),
      newest_data: z.string().nullable(),
      last_error: z.strictObject({ at: z.string(), message: z.string() }).nullable(),
    })
    .nullable(),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

/** POST /admin/reload-model: the attempt, and the health after it. */
export const ReloadResponse = ReloadOutcomeJson.extend({ health: HealthResponse });
export type ReloadResponse = z.infer<typeof ReloadResponse>;

/** unavailable: no model; degraded: the last reload failed or the model does not cover the manifest. */
export function healthStatus(state: ServiceState, gap = coverageGap(state)): HealthStatus {
  if (state.model === null) return 'unavailable';
  return state.swap.failure !== null || gap !== null ? 'degraded' : 'ok';
}

/** Why the serving model does not cover the manifest, or null when it does. */
export function coverageGap(state: Pick<ServiceState, 'model' | 'hasManifest' | 'manifest'>): string | null {
  const { model } = state;
  if (model === null || !state.hasManifest) return null;
  const { missing } = vocabularyCoverage(
    (state.manifest ?? []).map((s) => s.name),
    model.vocabulary,
  );
  if (missing.length === 0) return null;
  return `model ${model.id} lacks ${missing.length} manifest server(s), forecast as unknown: ${listServers(missing)}`;
}

export function lastSwapJson(swap: LastSwap | null): LastSwapJson | null {
  return swap === null ? null : { at: swap.at, from: swap.from, to: swap.to, duration_ms: swap.durationMs };
}

export function reloadOutcomeJson(outcome: SwapOutcome): ReloadOutcomeJson {
  return {
    result: outcome.result,
    trigger: outcome.trigger,
    active_model_id: outcome.activeModelId,
    target_model_id: outcome.targetModelId,
    ...(outcome.reason !== undefined ? { reason: outcome.reason } : {}),
    duration_ms: outcome.durationMs,
    at: outcome.at,
  };
}

/** GET /health. */
export function healthResponse(state: ServiceState): HealthResponse {
  const { model, snapshot, swap } = state;
  const failure = swap.failure;
  const gap = coverageGap(state);
  return {
    status: healthStatus(state, gap),
    reason: failure?.reason ?? (model === null ? 'no model loaded' : gap),
    model_id: model?.id ?? null,
    model_digest: model?.digest ?? null,
    model_age: model ? modelAge(model.id, state.now()) : null,
    deployed_at: swap.pointer?.deployed_at ?? null,
    pointer_reason: swap.pointer?.reason ?? null,
    last_swap: lastSwapJson(swap.lastSwap),
    last_reload: swap.lastOutcome === null ? null : reloadOutcomeJson(swap.lastOutcome),
    failed_swaps: state.failedSwaps,
    retry: failure
      ? {
          target_model_id: failure.targetModelId,
          attempts: failure.attempts,
          since: failure.since,
          next_retry_at: failure.nextRetryAt,
        }
      : null,
    windows: snapshot
      ? {
          servers: snapshot.windows.size,
          loaded_at: snapshot.loadedAt.toISOString(),
          newest_data: snapshot.newestData?.toISOString() ?? null,
          last_error: state.windowError,
        }
      : null,
  };
}

/** POST /admin/reload-model. */
export function reloadResponse(outcome: SwapOutcome, state: ServiceState): ReloadResponse {
  return { ...reloadOutcomeJson(outcome), health: healthResponse(state) };
}
