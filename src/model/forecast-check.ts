import type { Encoders } from '../registry/schemas.js';
import type { ForecastInput, ForecastOutcomes } from './loaded-model.js';

/**
 * The one rule for a forecast a model may serve, shared by `fleetcast deploy` / `rollback`, the
 * deploy action (src/model/deploy-check.ts) and the service's warm-up before a swap: every input
 * has a result (no failure), with exactly horizon_steps × targets × quantiles values, all finite.
 */
export function forecastProblems(
  encoders: Pick<Encoders, 'horizon_steps' | 'targets' | 'quantiles'>,
  inputs: ReadonlyArray<Pick<ForecastInput, 'server'>>,
  outcomes: ForecastOutcomes,
): string[] {
  const { horizon_steps, targets, quantiles } = encoders;
  const size = horizon_steps * targets.length * quantiles.length;
  const { results, failures } = outcomes;
  if (results.length + failures.length !== inputs.length)
    return [
      `returned ${results.length} forecasts and ${failures.length} failures for ${inputs.length} inputs`,
    ];
  const bad = failures.map((f) =>
    f.reason === 'non_finite_output'
      ? `${f.server}: non-finite forecast (NaN or Inf)`
      : `${f.server}: ${f.message}`,
  );
  for (const result of results) {
    if (result.values.length !== size)
      bad.push(`${result.server}: ${result.values.length} values, expected ${size}`);
    else if (!result.values.every(Number.isFinite))
      bad.push(`${result.server}: non-finite forecast (NaN or Inf)`);
  }
  if (bad.length <= 5) return bad;
  return [...bad.slice(0, 5), `… and ${bad.length - 5} more servers`];
}

/** The server name of the unknown slot in a sample: not a valid server name, so in no vocabulary. */
export const UNKNOWN_SAMPLE_SERVER = '(unknown server)';

/**
 * A small forecast request that exercises a model the way serving does: a flat window (every
 * value 1, as the warm-up gives a server without recent data) for the first `knownCount` servers
 * of the vocabulary and for one server outside it (embedding row 0).
 */
export function sampleInputs(
  encoders: Pick<
    Encoders,
    'server_id' | 'server_profiles' | 'lookback_steps' | 'resolution_seconds' | 'observed_features'
  >,
  nowSeconds: number,
  knownCount = 3,
): ForecastInput[] {
  const { lookback_steps: lookback, resolution_seconds: res } = encoders;
  const pastStart = (Math.floor(nowSeconds / res) - lookback) * res;
  const past = new Float32Array(lookback * encoders.observed_features.length).fill(1);
  const known = Object.entries(encoders.server_id.classes)
    .sort(([, a], [, b]) => a - b)
    .slice(0, knownCount)
    .map(([server]) => ({ server, profile: encoders.server_profiles[server] ?? null, past, pastStart }));
  return [...known, { server: UNKNOWN_SAMPLE_SERVER, profile: null, past, pastStart }];
}
