import { z } from 'zod';
import { FAILURE_REASONS } from './forecast-failures.js';
import {
  HealthStatus,
  LastSwapJson,
  currentCoverage,
  currentStale,
  healthStatus,
  lastSwapJson,
} from './health.js';
import { CandidateStatusJson } from './candidate.js';
import { LiveModelAccuracy } from './live-accuracy.js';
import { CoverageSummary, DriftSummary, ModelAge, fleetDrift, modelAge } from './monitor.js';
import type { ServiceState } from './service-state.js';

/**
 * The rolling unknown-prediction rate (unknown-server detection) and its level: distinct servers
 * per forecast cycle (unknown-tracker.ts), pending servers counted apart.
 */
export const UnknownPredictions = z.strictObject({
  unknown: z.number().int(),
  total: z.number().int(),
  /** Pending servers forecast (not yet eligible for training): in neither `unknown` nor `total`. */
  pending: z.number().int(),
  window_seconds: z.number(),
  rate_pct: z.number(),
  level: z.enum(['acceptable', 'warning', 'critical']),
});

/** A server whose latest forecast failed, and why. */
export const ForecastFailureJson = z.strictObject({
  server: z.string(),
  reason: z.enum(FAILURE_REASONS),
  message: z.string(),
  at: z.string(),
});

/** GET /status: the retraining monitor's key metrics for the serving model. */
export const StatusResponse = z.strictObject({
  status: HealthStatus,
  model: ModelAge.extend({ id: z.string(), deployed_at: z.string().nullable() }).nullable(),
  drift: DriftSummary.nullable(),
  unknown_predictions: UnknownPredictions,
  /** Distinct servers forecast as unknown in the window. */
  unknown_servers: z.array(z.string()),
  /** Distinct pending servers forecast in the window (outside the manifest, not yet eligible). */
  pending_servers: z.array(z.string()),
  coverage: CoverageSummary.nullable(),
  /** Expected servers whose data is older than the stale limit (at most 50). */
  stale_servers: z.array(z.string()),
  /** Servers whose latest forecast failed (at most 50), each with its reason. */
  forecast_failures: z.array(ForecastFailureJson),
  /** Server names in the recent metrics that fail the server-name rule: skipped, never forecast. */
  invalid_server_names: z.strictObject({ count: z.number().int(), examples: z.array(z.string()) }),
  last_swap: LastSwapJson.nullable(),
  failed_swaps: z.number().int(),
  /**
   * Served forecasts scored against the actuals that arrived since, per model (most recently
   * served first), beside seasonal naive on the same points (docs/service.md, "Live accuracy").
   */
  live_accuracy: z.strictObject({ errors: z.number().int(), models: z.array(LiveModelAccuracy) }),
  /**
   * The pointer's candidate (shadow or A/B) and its live comparison with the serving model on the
   * same points (docs/candidate.md); null when the pointer names none.
   */
  candidate: CandidateStatusJson.nullable(),
});
export type StatusResponse = z.infer<typeof StatusResponse>;

/** GET /status: fleet drift, unknown-prediction rate, prediction coverage, model age. */
export function statusResponse(state: ServiceState): StatusResponse {
  const { model, snapshot } = state;
  const fleet = snapshot ? state.fleetFor(snapshot) : [];
  const { servers: unknownServers, pendingServers, ...unknownPredictions } = state.unknown.stats();
  return {
    status: healthStatus(state),
    model: model
      ? {
          id: model.id,
          ...modelAge(model.id, state.now()),
          deployed_at: state.swap.pointer?.deployed_at ?? null,
        }
      : null,
    drift: model ? fleetDrift(model, fleet, state.hasManifest) : null,
    unknown_predictions: unknownPredictions,
    unknown_servers: unknownServers,
    pending_servers: pendingServers,
    coverage: currentCoverage(state),
    stale_servers: (currentStale(state)?.servers ?? []).slice(0, 50).map((s) => s.server),
    forecast_failures: state.failures
      .list()
      .slice(0, 50)
      .map((f) => ({ server: f.server, reason: f.reason, message: state.publicText(f.message), at: f.at })),
    invalid_server_names: snapshot?.invalidNames ?? { count: 0, examples: [] },
    last_swap: lastSwapJson(state.swap.lastSwap),
    failed_swaps: state.failedSwaps,
    live_accuracy: { errors: state.live.errors, models: state.live.summary() },
    candidate: state.candidate.status(),
  };
}
