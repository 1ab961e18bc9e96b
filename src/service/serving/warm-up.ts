import type { RecentWindow } from '../../features/windows.js';
import { vocabularyCoverage } from '../../fleet/coverage.js';
import type { ForecastInput, ForecastResult, ServingModel } from '../serving-model.js';
import type { FleetMember } from './fleet.js';

/**
 * Pure checks a new model must pass before it may serve: its vocabulary covers the manifest (the
 * rule of src/fleet/coverage.ts), and a warm-up forecast of every expected server is complete and
 * finite.
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
 * One input per expected server: its latest window when the metrics have one, otherwise a flat
 * window (a server with no recent data must still map to a working embedding row).
 */
export function warmUpInputs(
  model: Pick<ServingModel, 'encoders'>,
  expected: readonly FleetMember[],
  windows: ReadonlyMap<string, RecentWindow>,
  nowSeconds: number,
): ForecastInput[] {
  const { lookback_steps: lookback, resolution_seconds: res, observed_features } = model.encoders;
  const flatStart = (Math.floor(nowSeconds / res) - lookback) * res;
  let flat: Float32Array | undefined;
  return expected.map((server) => {
    const window = windows.get(server.name);
    if (window !== undefined) return { ...window.input, profile: window.input.profile ?? server.profile };
    flat ??= new Float32Array(lookback * observed_features.length).fill(1);
    return { server: server.name, profile: server.profile, past: flat, pastStart: flatStart };
  });
}

/** Problems with a warm-up forecast: missing results, wrong sizes, NaN or infinite values. */
export function warmUpProblems(
  model: Pick<ServingModel, 'encoders'>,
  inputs: readonly ForecastInput[],
  results: readonly ForecastResult[],
): string[] {
  const { horizon_steps, targets, quantiles } = model.encoders;
  const size = horizon_steps * targets.length * quantiles.length;
  if (results.length !== inputs.length)
    return [`warm-up returned ${results.length} forecasts for ${inputs.length} servers`];
  const bad: string[] = [];
  results.forEach((result, i) => {
    const server = inputs[i]!.server;
    if (result.values.length !== size)
      bad.push(`${server}: ${result.values.length} values, expected ${size}`);
    else if (!result.values.every(Number.isFinite)) bad.push(`${server}: non-finite forecast (NaN or Inf)`);
  });
  if (bad.length <= 5) return bad;
  return [...bad.slice(0, 5), `… and ${bad.length - 5} more servers`];
}
