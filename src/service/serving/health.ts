import { z } from 'zod';
import { listServers, vocabularyCoverage } from '../../fleet/coverage.js';
import {
  type CoverageSummary,
  type DriftSummary,
  ModelAge,
  durationText,
  expectedServers,
  fleetCoverage,
  fleetDrift,
  modelAge,
  staleServers,
  type StaleServer,
} from './monitor.js';
import type { ServiceState, ShutdownState } from './service-state.js';
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
  /** Why the status is not `ok`: every reason, joined with "; " (null when ok). */
  reason: z.string().nullable(),
  /** Every reason the status is not `ok`, one sentence each (empty when ok). */
  reasons: z.array(z.string()),
  model_id: z.string().nullable(),
  model_digest: z.string().nullable(),
  model_age: ModelAge.nullable(),
  /** False once the serving model's directory is gone from the registry (it serves from memory). */
  model_in_registry: z.boolean().nullable(),
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
  /** Expected servers whose data ends more than `after_seconds` ago (at most 50 named). */
  stale: z
    .strictObject({ after_seconds: z.number(), count: z.number().int(), servers: z.array(z.string()) })
    .nullable(),
  /** Servers whose latest forecast failed (bad window or model output); /status lists them. */
  forecast_failures: z.number().int(),
  /** The GitOps follower (`--git`); null when following a local registry. */
  git: z
    .strictObject({
      branch: z.string(),
      head: z.string().nullable(),
      last_sync_at: z.string().nullable(),
      last_error: z.strictObject({ at: z.string(), message: z.string() }).nullable(),
    })
    .nullable(),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

/** GET /livez: the process answers (liveness; says nothing about the model). */
export const LiveResponse = z.strictObject({ status: z.literal('alive') });
export type LiveResponse = z.infer<typeof LiveResponse>;

/** GET /readyz: whether a model serves (readiness: 503 until one does). */
export const ReadyResponse = z.strictObject({
  status: z.enum(['ready', 'not_ready']),
  model_id: z.string().nullable(),
  /** Why no model serves (null when ready). */
  reason: z.string().nullable(),
});
export type ReadyResponse = z.infer<typeof ReadyResponse>;

/** POST /admin/reload-model: the attempt, and the health after it. */
export const ReloadResponse = ReloadOutcomeJson.extend({ health: HealthResponse });
export type ReloadResponse = z.infer<typeof ReloadResponse>;

/**
 * unavailable: no model serves. degraded: a model serves, but something it answers may be wrong
 * or old (healthReasons). ok: nothing to report.
 */
export function healthStatus(state: ServiceState, reasons = healthReasons(state)): HealthStatus {
  if (state.model === null) return 'unavailable';
  return reasons.length > 0 ? 'degraded' : 'ok';
}

/** Coverage of the expected fleet by the serving model; null before a model and its windows load. */
export function currentCoverage(state: ServiceState): CoverageSummary | null {
  const { model, snapshot } = state;
  if (!model || !snapshot) return null;
  return fleetCoverage(model, state.fleetFor(snapshot), snapshot.windows, state.hasManifest);
}

/** Fleet drift of the serving model against the fleet it sees; null before a model and its windows load. */
export function currentDrift(state: ServiceState): DriftSummary | null {
  const { model, snapshot } = state;
  if (!model || !snapshot) return null;
  return fleetDrift(model, state.fleetFor(snapshot), state.hasManifest);
}

/** Expected servers whose data is stale, with the limit; null before a model and its windows load. */
export function currentStale(state: ServiceState): { afterSeconds: number; servers: StaleServer[] } | null {
  const { model, snapshot, staleAfterSeconds } = state;
  if (!model || !snapshot || staleAfterSeconds === null) return null;
  const expected = expectedServers(state.fleetFor(snapshot), state.hasManifest);
  const staleBefore = state.now().getTime() / 1000 - staleAfterSeconds;
  return {
    afterSeconds: staleAfterSeconds,
    servers: staleServers(expected, snapshot.windows, model.encoders.resolution_seconds, staleBefore),
  };
}

/**
 * Every reason /health is not ok, as sentences fit for an unauthenticated answer: no model; the
 * last reload failed; the serving model is gone from the registry or returned an unusable output;
 * coverage under 100 % (servers outside the vocabulary, servers without recent metrics); stale data;
 * servers whose forecast failed; a failed window refresh; a failing git sync.
 */
export function healthReasons(state: ServiceState): string[] {
  const { model, snapshot, swap } = state;
  const reasons: string[] = [];
  if (state.shuttingDown !== null) reasons.push(shuttingDownText(state.shuttingDown));
  if (model === null) {
    reasons.push(swap.failure?.reason ?? 'no model loaded');
    return reasons.map((r) => state.publicText(r));
  }
  if (swap.failure !== null) reasons.push(swap.failure.reason);
  if (state.modelInRegistry === false)
    reasons.push(
      `model ${model.id} is no longer in the registry (its directory was deleted); it keeps serving from memory`,
    );
  if (state.modelError !== null && state.modelError.modelId === model.id)
    reasons.push(
      `model ${model.id} returned an unusable output at ${state.modelError.at}: ${state.modelError.message}`,
    );
  const gap = coverageGap(state);
  if (gap !== null) reasons.push(gap);
  const coverage = currentCoverage(state);
  if (coverage !== null && coverage.forecastable < coverage.expected) {
    const without = coverage.expected - coverage.forecastable;
    reasons.push(
      `coverage ${coverage.coverage_pct} % (${coverage.covered}/${coverage.expected}): ${without} expected server(s) without recent metrics: ${listServers(coverage.without_data)}`,
    );
  }
  const stale = currentStale(state);
  if (stale !== null && stale.servers.length > 0)
    reasons.push(
      `${stale.servers.length} expected server(s) have stale data (newest older than ${durationText(stale.afterSeconds)}): ${listServers(stale.servers.map((s) => `${s.server} (data until ${s.dataTime})`))}`,
    );
  if (state.failures.size > 0)
    reasons.push(
      `${state.failures.size} server(s) get no forecast: ${listServers(state.failures.list().map((f) => `${f.server} (${f.reason})`))}`,
    );
  if (state.windowError !== null && snapshot !== undefined)
    reasons.push(
      `metrics window refresh failed at ${state.windowError.at}: ${state.windowError.message}; serving the windows loaded at ${snapshot.loadedAt.toISOString()}`,
    );
  const git = state.gitSync;
  if (git !== null && git.lastError !== null)
    reasons.push(
      `git sync failing since ${git.lastError.since ?? git.lastError.at}: ${git.lastError.message}`,
    );
  return reasons.map((r) => state.publicText(r));
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

export function reloadOutcomeJson(
  outcome: SwapOutcome,
  publicText: (text: string) => string = (text) => text,
): ReloadOutcomeJson {
  return {
    result: outcome.result,
    trigger: outcome.trigger,
    active_model_id: outcome.activeModelId,
    target_model_id: outcome.targetModelId,
    ...(outcome.reason !== undefined ? { reason: publicText(outcome.reason) } : {}),
    duration_ms: outcome.durationMs,
    at: outcome.at,
  };
}

/** GET /health. */
export function healthResponse(state: ServiceState): HealthResponse {
  const { model, snapshot, swap } = state;
  const failure = swap.failure;
  const reasons = healthReasons(state);
  const stale = currentStale(state);
  const git = state.gitSync;
  return {
    status: healthStatus(state, reasons),
    reason: reasons.length > 0 ? reasons.join('; ') : null,
    reasons,
    model_id: model?.id ?? null,
    model_digest: model?.digest ?? null,
    model_age: model ? modelAge(model.id, state.now()) : null,
    model_in_registry: state.modelInRegistry,
    deployed_at: swap.pointer?.deployed_at ?? null,
    pointer_reason: swap.pointer?.reason ?? null,
    last_swap: lastSwapJson(swap.lastSwap),
    last_reload: swap.lastOutcome === null ? null : reloadOutcomeJson(swap.lastOutcome, state.publicText),
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
          last_error: state.windowError && {
            at: state.windowError.at,
            message: state.publicText(state.windowError.message),
          },
        }
      : null,
    stale: stale && {
      after_seconds: stale.afterSeconds,
      count: stale.servers.length,
      servers: stale.servers.slice(0, 50).map((s) => s.server),
    },
    forecast_failures: state.failures.size,
    git: git && {
      branch: git.branch,
      head: git.head,
      last_sync_at: git.lastSyncAt,
      last_error: git.lastError && { at: git.lastError.at, message: state.publicText(git.lastError.message) },
    },
  };
}

/** Why a shutting-down service is not ready. */
function shuttingDownText(shutdown: ShutdownState): string {
  const by = shutdown.trigger === 'admin' ? 'POST /admin/shutdown' : 'a signal';
  return `shutting down (requested by ${by} at ${shutdown.at}): takes no new traffic, exits once in-flight requests finish`;
}

/**
 * GET /readyz: ready while a model serves, degraded or not (a degraded model still answers), until
 * a shutdown is requested: from then on not ready, so a load balancer stops sending while the
 * requests already sent are still answered.
 */
export function readyResponse(state: ServiceState): ReadyResponse {
  const { model } = state;
  if (state.shuttingDown !== null)
    return { status: 'not_ready', model_id: model?.id ?? null, reason: shuttingDownText(state.shuttingDown) };
  if (model !== null) return { status: 'ready', model_id: model.id, reason: null };
  const reason = state.swap.failure?.reason ?? 'no model loaded';
  return { status: 'not_ready', model_id: null, reason: state.publicText(reason) };
}

/** POST /admin/reload-model. */
export function reloadResponse(outcome: SwapOutcome, state: ServiceState): ReloadResponse {
  return { ...reloadOutcomeJson(outcome, state.publicText), health: healthResponse(state) };
}
