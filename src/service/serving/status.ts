import { z } from 'zod';
import { HealthStatus, LastSwapJson, healthStatus, lastSwapJson } from './health.js';
import { CoverageSummary, DriftSummary, ModelAge, fleetCoverage, fleetDrift, modelAge } from './monitor.js';
import type { ServiceState } from './service-state.js';

/** The rolling unknown-prediction rate (unknown-server detection) and its level. */
export const UnknownPredictions = z.strictObject({
  unknown: z.number().int(),
  total: z.number().int(),
  window_seconds: z.number(),
  rate_pct: z.number(),
  level: z.enum(['acceptable', 'warning', 'critical']),
});

/** GET /status: the retraining monitor's key metrics for the serving model. */
export const StatusResponse = z.strictObject({
  status: HealthStatus,
  model: ModelAge.extend({ id: z.string(), deployed_at: z.string().nullable() }).nullable(),
  drift: DriftSummary.nullable(),
  unknown_predictions: UnknownPredictions,
  /** Distinct servers forecast as unknown in the window. */
  unknown_servers: z.array(z.string()),
  coverage: CoverageSummary.nullable(),
  last_swap: LastSwapJson.nullable(),
  failed_swaps: z.number().int(),
});
export type StatusResponse = z.infer<typeof StatusResponse>;

/** Coverage of the expected fleet by the serving model; null before a model and its windows load. */
export function currentCoverage(state: ServiceState): CoverageSummary | null {
  const { model, snapshot } = state;
  if (!model || !snapshot) return null;
  return fleetCoverage(model, state.fleetFor(snapshot), snapshot.windows, state.hasManifest);
}

/** GET /status: fleet drift, unknown-prediction rate, prediction coverage, model age. */
export function statusResponse(state: ServiceState): StatusResponse {
  const { model, snapshot } = state;
  const fleet = snapshot ? state.fleetFor(snapshot) : [];
  const { servers: unknownServers, ...unknownPredictions } = state.unknown.stats();
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
    coverage: currentCoverage(state),
    last_swap: lastSwapJson(state.swap.lastSwap),
    failed_swaps: state.failedSwaps,
  };
}
