import type { RecentWindow } from '../../features/windows.js';
import { vocabularyCoverage } from '../../fleet/coverage.js';
import { forecastProblems } from '../../model/forecast-check.js';
import type { ForecastInput, ForecastOutcomes, ServingModel } from '../serving-model.js';
import type { FleetMember } from './fleet.js';

/**
 * Pure checks a new model must pass before it may serve: its vocabulary covers the manifest (the
 * rule of src/fleet/coverage.ts), and a warm-up forecast of every expected server, and of the
 * unknown slot (index 0) with each profile, is complete, exactly shaped and finite.
 */

export interface CoverageVerdict {
  /** Manifest servers outside the candidate's vocabulary, sorted. */
  missing: string[];
  /**
   * `covered`; `refused`: a newer model must cover the manifest; `rollback`: going back to an older
   * model is a person's decision (a revert or rollback); `startup`: an incomplete model beats none.
   * The last two serve, and /health stays degraded while the coverage gap lasts.
   */
  verdict: 'covered' | 'refused' | 'rollback' | 'startup';
}

export function coverageVerdict(
  candidateId: string,
  vocabulary: ReadonlySet<string>,
  expected: readonly FleetMember[],
  active: Pick<ServingModel, 'id'> | null,
): CoverageVerdict {
  const { missing } = vocabularyCoverage(
    expected.filter((s) => s.inManifest).map((s) => s.name),
    vocabulary,
  );
  if (missing.length === 0) return { missing, verdict: 'covered' };
  if (active === null) return { missing, verdict: 'startup' };
  return { missing, verdict: candidateId < active.id ? 'rollback' : 'refused' };
}

/**
 * One input per expected server: its latest window when the metrics have a usable one, otherwise a
 * flat window (a server with no recent data must still map to a working embedding row; one
 * server's bad data must not keep a model from serving the others). Then one input through the
 * unknown slot (index 0) for each profile the model knows and for none: new servers are forecast
 * there, so a model that fails only for them must not pass.
 */
export function warmUpInputs(
  model: Pick<ServingModel, 'encoders'>,
  expected: readonly FleetMember[],
  windows: ReadonlyMap<string, RecentWindow>,
  nowSeconds: number,
): ForecastInput[] {
  const { lookback_steps: lookback, resolution_seconds: res, observed_features } = model.encoders;
  const size = lookback * observed_features.length;
  const usable = (input: ForecastInput | undefined): input is ForecastInput =>
    input !== undefined && input.past.length === size && input.past.every(Number.isFinite);
  const flat: ForecastInput = {
    server: '',
    past: new Float32Array(size).fill(1),
    pastStart: (Math.floor(nowSeconds / res) - lookback) * res,
  };
  const inputs = expected.map((server): ForecastInput => {
    const window = windows.get(server.name)?.input;
    if (usable(window)) return { ...window, profile: window.profile ?? server.profile };
    return { ...flat, server: server.name, profile: server.profile };
  });
  const sample = [...windows.values()].map((w) => w.input).find(usable) ?? flat;
  const profiles = [...Object.keys(model.encoders.profile.classes).sort(), null];
  for (const profile of profiles) {
    inputs.push({ ...sample, server: unknownSlotName(profile), profile });
  }
  return inputs;
}

/**
 * The name a warm-up input through the unknown slot goes by: not a valid server name (it has
 * spaces), so it is in no vocabulary and the model forecasts it through index 0.
 */
export function unknownSlotName(profile: string | null): string {
  return `unknown slot (profile ${profile ?? 'none'})`;
}

/** Problems with a warm-up forecast: missing results, failed servers, wrong sizes, NaN or Inf. */
export function warmUpProblems(
  model: Pick<ServingModel, 'encoders'>,
  inputs: readonly ForecastInput[],
  outcomes: ForecastOutcomes,
): string[] {
  return forecastProblems(model.encoders, inputs, outcomes).map((p) =>
    p.startsWith('returned ') ? `warm-up ${p}` : p,
  );
}
