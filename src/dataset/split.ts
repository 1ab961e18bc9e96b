/**
 * Where training data ends: the last `max(horizon, heldOutDays)` of the dataset is held out for
 * validation (accuracy gates, unknown-server scores) and never used by the trainer, which takes
 * its own early-stopping validation windows from just before `train_end_step`.
 */
export interface SplitOptions {
  nSteps: number;
  resolutionSeconds: number;
  lookbackSteps: number;
  horizonSteps: number;
  heldOutDays: number;
}

export interface Split {
  train_end_step: number;
  valid_end_step: number;
}

export function computeSplit(o: SplitOptions): Split {
  const heldOut = Math.max(o.horizonSteps, Math.ceil((o.heldOutDays * 86400) / o.resolutionSeconds));
  const trainEnd = o.nSteps - heldOut;
  const needed = o.lookbackSteps + o.horizonSteps;
  if (trainEnd < needed)
    throw new Error(
      `the dataset has ${o.nSteps} steps; holding out the last ${heldOut} leaves ${Math.max(trainEnd, 0)}, ` +
        `fewer than one training window (lookback ${o.lookbackSteps} + horizon ${o.horizonSteps}): use more --days`,
    );
  return { train_end_step: trainEnd, valid_end_step: o.nSteps };
}
