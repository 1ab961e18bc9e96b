import { driftPriority as driftEnginePriority, fleetDrift as seedFleetDrift } from '../drift/levels.js';
import type { Priority } from '../drift/types.js';
import { modelIdTime } from '../registry/model-id.js';
import { SERVICE_THRESHOLDS } from './thresholds.js';
import type { FleetServer, ServingModel } from './types.js';
import type { RecentWindow } from '../features/windows.js';

/** Fleet drift priority (seed bands: 10–20 % low, 20–35 % medium, > 35 % high), from the drift engine. */
export function driftPriority(driftPct: number): Priority {
  return driftEnginePriority(driftPct, SERVICE_THRESHOLDS);
}

export interface DriftSummary {
  /** (new + sunset) / servers in the model vocabulary × 100. */
  drift_pct: number;
  priority: Priority;
  /** Compared against: the manifest when the service has one, else servers reporting metrics. */
  reference: 'manifest' | 'metrics';
  new_servers: string[];
  sunset_servers: string[];
  model_servers: number;
  fleet_servers: number;
}

/** Seed's calculate_fleet_drift between the fleet the service sees and the model vocabulary. */
export function fleetDrift(
  model: Pick<ServingModel, 'vocabulary'>,
  fleet: readonly FleetServer[],
  hasManifest: boolean,
): DriftSummary {
  const reference = hasManifest ? fleet.filter((s) => s.inManifest) : fleet;
  const drift = seedFleetDrift(
    reference.map((s) => s.name),
    model.vocabulary,
  );
  return {
    drift_pct: drift.drift_pct,
    priority: driftPriority(drift.drift_pct),
    reference: hasManifest ? 'manifest' : 'metrics',
    new_servers: drift.new_servers,
    sunset_servers: drift.sunset_servers,
    model_servers: drift.total_model,
    fleet_servers: drift.total_current,
  };
}

export interface CoverageSummary {
  /** Servers expected on the dashboard: the manifest's, else every server reporting metrics. */
  expected: number;
  /** Expected servers with recent metrics, so a forecast can be made. */
  forecastable: number;
  /** Expected servers forecast through their own embedding (in the vocabulary, with data). */
  covered: number;
  /** covered / expected × 100: the seed's "100 % of servers predicted" check. */
  coverage_pct: number;
  /** forecastable / expected × 100 (unknown servers count here, not in coverage_pct). */
  forecast_pct: number;
  /** Expected servers without recent metrics (at most 50 listed). */
  without_data: string[];
  /** Expected servers outside the vocabulary (at most 50 listed). */
  unknown: string[];
}

export function fleetCoverage(
  model: Pick<ServingModel, 'vocabulary'>,
  fleet: readonly FleetServer[],
  windows: ReadonlyMap<string, RecentWindow>,
  hasManifest: boolean,
): CoverageSummary {
  const expected = hasManifest ? fleet.filter((s) => s.inManifest) : fleet;
  const withoutData = expected.filter((s) => !windows.has(s.name)).map((s) => s.name);
  const unknown = expected.filter((s) => !model.vocabulary.has(s.name)).map((s) => s.name);
  const forecastable = expected.length - withoutData.length;
  const covered = expected.filter((s) => windows.has(s.name) && model.vocabulary.has(s.name)).length;
  const pct = (n: number): number =>
    expected.length === 0 ? 100 : Math.round((n / expected.length) * 10_000) / 100;
  return {
    expected: expected.length,
    forecastable,
    covered,
    coverage_pct: pct(covered),
    forecast_pct: pct(forecastable),
    without_data: withoutData.slice(0, 50),
    unknown: unknown.slice(0, 50),
  };
}

export interface ModelAge {
  trained_at: string;
  age_seconds: number;
  age_days: number;
}

/** Model age from the training start encoded in its id (the seed's "days since last training"). */
export function modelAge(modelId: string, now: Date): ModelAge {
  const trained = modelIdTime(modelId);
  const seconds = Math.max(0, Math.round((now.getTime() - trained.getTime()) / 1000));
  return {
    trained_at: trained.toISOString(),
    age_seconds: seconds,
    age_days: Math.round((seconds / 86_400) * 100) / 100,
  };
}
