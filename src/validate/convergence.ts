export interface EpochLosses {
  epoch: number;
  train_loss: number | null;
  val_loss: number | null;
}

export interface ConvergenceReport {
  passed: boolean;
  /** What improvement is measured against: the untrained model's validation loss, or epoch 1's. */
  reference: 'untrained' | 'first_epoch';
  first_val_loss: number | null;
  best_val_loss: number | null;
  best_epoch: number | null;
  /** 1 − best/first: the fraction by which validation loss fell from the first epoch. */
  improvement: number | null;
  message: string;
}

/**
 * Training converged when: every recorded loss is finite (no NaN/inf, which the trainer writes as
 * null), there are at least `minEpochs` epochs, and the best validation loss is at least
 * `minImprovement` (a fraction) below the reference: the validation loss of the untrained model
 * when the trainer reports it (`initialValLoss`), else the first epoch's.
 */
export function checkConvergence(
  epochs: readonly EpochLosses[],
  options: {
    minImprovement: number;
    minEpochs: number;
    initialValLoss?: number | null;
    /** The trainer's own verdict of why it stopped (train_report.json convergence.stopped_by). */
    stoppedBy?: string | undefined;
    /** The epochs the profile planned (hyperparameters.max_epochs), for the message. */
    plannedEpochs?: number | undefined;
  },
): ConvergenceReport {
  const initial = options.initialValLoss ?? null;
  const reference: ConvergenceReport['reference'] = initial !== null ? 'untrained' : 'first_epoch';
  const fail = (message: string, extra: Partial<ConvergenceReport> = {}): ConvergenceReport => ({
    passed: false,
    reference,
    first_val_loss: null,
    best_val_loss: null,
    best_epoch: null,
    improvement: null,
    message,
    ...extra,
  });
  // The wall-clock guard cut training short: an under-trained model, whatever its loss did so far.
  if (options.stoppedBy === 'time_budget')
    return fail(
      `training was stopped by the time guard (max_train_seconds) after epoch ${epochs.at(-1)?.epoch ?? 0}` +
        `${options.plannedEpochs ? ` of ${options.plannedEpochs} planned` : ''}: the model did not converge; ` +
        'give it a faster runner (the GPU runner) or a larger guard, never a silent cut',
    );
  if (epochs.length < options.minEpochs)
    return fail(`only ${epochs.length} epoch(s) recorded; convergence needs at least ${options.minEpochs}`);
  const bad = epochs.filter((e) => !isFiniteNumber(e.train_loss) || !isFiniteNumber(e.val_loss));
  if (bad.length) return fail(`non-finite loss in epoch(s) ${bad.map((e) => e.epoch).join(', ')}`);
  if (initial !== null && !Number.isFinite(initial))
    return fail('the untrained validation loss is not finite');
  const first = initial ?? epochs[0]!.val_loss!;
  const from = initial !== null ? 'the untrained model' : `epoch ${epochs[0]!.epoch}`;
  let best = epochs[0]!;
  for (const e of epochs) if (e.val_loss! < best.val_loss!) best = e;
  const improvement = first === 0 ? 0 : 1 - best.val_loss! / first;
  const extra = { first_val_loss: first, best_val_loss: best.val_loss, best_epoch: best.epoch, improvement };
  const pct = (improvement * 100).toFixed(1);
  if (improvement < options.minImprovement)
    return fail(
      `validation loss fell only ${pct}% from ${from} (${fmt(first)}) to its best (${fmt(best.val_loss!)}); ` +
        `at least ${(options.minImprovement * 100).toFixed(1)}% required`,
      extra,
    );
  return {
    passed: true,
    reference,
    ...extra,
    message: `validation loss fell ${pct}% from ${from} (${fmt(first)}) to ${fmt(best.val_loss!)} (epoch ${best.epoch})`,
  };
}

function isFiniteNumber(v: number | null): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function fmt(v: number): string {
  return v.toPrecision(4);
}
