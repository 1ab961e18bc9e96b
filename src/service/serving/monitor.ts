import { z } from 'zod';
import { driftPriority as driftEnginePriority, fleetDrift as computeFleetDrift } from '../../drift/levels.js';
import { PRIORITIES, type Priority } from '../../drift/types.js';
import type { RecentWindow } from '../../features/windows.js';
import { vocabularyCoverage } from '../../fleet/coverage.js';
import { modelIdTime } from '../../registry/model-id.js';
import type { ServingModel } from '../serving-model.js';
import type { FleetMember } from './fleet.js';
import { SERVICE_THRESHOLDS } from './thresholds.js';

/**
 * The monitor's measures of the serving model against the fleet it sees: fleet drift, prediction
 * coverage and model age. Pure functions; /status, /health and /metrics report them.
 */

/** Fleet drift priority (10–20 % low, 20–35 % medium, > 35 % high), from the drift engine. */
export function driftPriority(driftPct: number): Priority {
  return driftEnginePriority(driftPct, SERVICE_THRESHOLDS);
}

export const DriftSummary = z.strictObject({
  /** (new + sunset) / servers in the model vocabulary × 100. */
  drift_pct: z.number(),
  priority: z.enum(PRIORITIES),
  /** Compared against: the manifest when the service has one, else servers reporting metrics. */
  reference: z.enum(['manifest', 'metrics']),
  new_servers: z.array(z.string()),
  sunset_servers: z.array(z.string()),
  model_servers: z.number().int(),
  fleet_servers: z.number().int(),
});
export type DriftSummary = z.infer<typeof DriftSummary>;

/** The drift engine's fleet drift between the fleet the service sees and the model vocabulary. */
export function fleetDrift(
  model: Pick<ServingModel, 'vocabulary'>,
  fleet: readonly FleetMember[],
  hasManifest: boolean,
): DriftSummary {
  const reference = hasManifest ? fleet.filter((s) => s.inManifest) : fleet;
  const drift = computeFleetDrift(
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

export const CoverageSummary = z.strictObject({
  /** Servers expected on the dashboard: the manifest's, else every server reporting metrics. */
  expected: z.number().int(),
  /** Expected servers with recent metrics, so a forecast can be made. */
  forecastable: z.number().int(),
  /** Expected servers forecast through their own embedding (in the vocabulary, with data). */
  covered: z.number().int(),
  /** covered / expected × 100: the verification requirement that every server gets a prediction. */
  coverage_pct: z.number(),
  /** forecastable / expected × 100 (unknown servers count here, not in coverage_pct). */
  forecast_pct: z.number(),
  /** Expected servers without recent metrics (at most 50 listed). */
  without_data: z.array(z.string()),
  /** Expected servers outside the vocabulary (at most 50 listed). */
  unknown: z.array(z.string()),
});
export type CoverageSummary = z.infer<typeof CoverageSummary>;

/** The servers the service is expected to forecast: the manifest's, else every live server. */
export function expectedServers(fleet: readonly FleetMember[], hasManifest: boolean): readonly FleetMember[] {
  return hasManifest ? fleet.filter((s) => s.inManifest) : fleet;
}

export function fleetCoverage(
  model: Pick<ServingModel, 'vocabulary'>,
  fleet: readonly FleetMember[],
  windows: ReadonlyMap<string, RecentWindow>,
  hasManifest: boolean,
): CoverageSummary {
  const expected = expectedServers(fleet, hasManifest);
  const withoutData = expected.filter((s) => !windows.has(s.name)).map((s) => s.name);
  const vocabulary = vocabularyCoverage(
    expected.map((s) => s.name),
    model.vocabulary,
  );
  const forecastable = expected.length - withoutData.length;
  const covered = vocabulary.covered.filter((name) => windows.has(name)).length;
  const pct = (n: number): number =>
    expected.length === 0 ? 100 : Math.round((n / expected.length) * 10_000) / 100;
  return {
    expected: expected.length,
    forecastable,
    covered,
    coverage_pct: pct(covered),
    forecast_pct: pct(forecastable),
    without_data: withoutData.slice(0, 50),
    unknown: vocabulary.missing.slice(0, 50),
  };
}

/** Where a server's data ends (epoch seconds): the end of its newest bucket with data. */
export function dataEnd(window: RecentWindow, resolutionSeconds: number): number {
  return (window.lastObservedStep + 1) * resolutionSeconds;
}

export interface StaleServer {
  server: string;
  /** Where its data ends (ISO 8601). */
  dataTime: string;
}

/**
 * Expected servers with data whose data ends before `staleBefore` (epoch seconds), sorted by
 * name: their forecasts start in the past. Servers without any recent data are not here (they
 * are coverage's `without_data`).
 */
export function staleServers(
  expected: readonly FleetMember[],
  windows: ReadonlyMap<string, RecentWindow>,
  resolutionSeconds: number,
  staleBefore: number,
): StaleServer[] {
  const stale: StaleServer[] = [];
  for (const server of expected) {
    const window = windows.get(server.name);
    if (window === undefined) continue;
    const end = dataEnd(window, resolutionSeconds);
    if (end < staleBefore) stale.push({ server: server.name, dataTime: new Date(end * 1000).toISOString() });
  }
  return stale;
}

/** "2 h", "30 min", "45 s", "1.5 d": a duration in words for messages. */
export function durationText(seconds: number): string {
  const round = (v: number): number => Math.round(v * 10) / 10;
  if (seconds >= 2 * 86_400) return `${round(seconds / 86_400)} d`;
  if (seconds >= 2 * 3600) return `${round(seconds / 3600)} h`;
  if (seconds >= 120) return `${round(seconds / 60)} min`;
  return `${round(seconds)} s`;
}

export const ModelAge = z.strictObject({
  trained_at: z.string(),
  age_seconds: z.number(),
  age_days: z.number(),
});
export type ModelAge = z.infer<typeof ModelAge>;

/** Model age ("days since last training") from the training start encoded in its id. */
export function modelAge(modelId: string, now: Date): ModelAge {
  const trained = modelIdTime(modelId);
  const seconds = Math.max(0, Math.round((now.getTime() - trained.getTime()) / 1000));
  return {
    trained_at: trained.toISOString(),
    age_seconds: seconds,
    age_days: Math.round((seconds / 86_400) * 100) / 100,
  };
}
