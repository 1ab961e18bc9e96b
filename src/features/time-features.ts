/**
 * Known-future inputs of the TFT: time of day and day of week as sin/cos pairs, computed from the
 * UTC epoch seconds of a step's start. The trainer (trainer/fleetcast_trainer/features.py) computes
 * the same values; docs/MODEL_FORMAT.md is the contract.
 */
export const KNOWN_FEATURES = ['tod_sin', 'tod_cos', 'dow_sin', 'dow_cos'] as const;
export const SECONDS_PER_DAY = 86_400;

const TWO_PI = 2 * Math.PI;

/** Writes the 4 time features of the step starting at `epochSeconds` into `out` at `offset`. */
export function writeTimeFeatures(epochSeconds: number, out: Float32Array, offset: number): void {
  const secondOfDay = ((epochSeconds % SECONDS_PER_DAY) + SECONDS_PER_DAY) % SECONDS_PER_DAY;
  const day = Math.floor(epochSeconds / SECONDS_PER_DAY);
  const dayOfWeek = (((day + 3) % 7) + 7) % 7; // 1970-01-01 was a Thursday; Monday = 0
  const tod = (TWO_PI * secondOfDay) / SECONDS_PER_DAY;
  const dow = (TWO_PI * dayOfWeek) / 7;
  out[offset] = Math.sin(tod);
  out[offset + 1] = Math.cos(tod);
  out[offset + 2] = Math.sin(dow);
  out[offset + 3] = Math.cos(dow);
}

/** Time features of `steps` consecutive steps: Float32Array of shape [steps, 4]. */
export function timeFeatureBlock(
  startEpochSeconds: number,
  stepSeconds: number,
  steps: number,
): Float32Array {
  const out = new Float32Array(steps * KNOWN_FEATURES.length);
  for (let i = 0; i < steps; i++) {
    writeTimeFeatures(startEpochSeconds + i * stepSeconds, out, i * KNOWN_FEATURES.length);
  }
  return out;
}
