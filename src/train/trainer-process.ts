import { runPythonModule, type PythonEvent } from '../core/python.js';

/** The trainer's environment (moved to core/python.ts, shared with the peer forecasters). */
export { trainerEnv } from '../core/python.js';

export interface TrainerArgs {
  dataset: string;
  out: string;
  profile: string;
  seed: number;
  epochs?: number;
  device?: 'auto' | 'cpu' | 'cuda';
}

/** A JSON progress line of the trainer (`python -m fleetcast_trainer.train`, stdout). */
export type TrainerEvent = PythonEvent;

export interface TrainerRun {
  events: TrainerEvent[];
  seconds: number;
}

/**
 * Runs the trainer with cwd and PYTHONPATH = trainer/ and an allow-listed environment
 * (trainerEnv), hands each JSON progress line to `onEvent`
 * and keeps the last lines of its stderr for the error when it fails (exit 2: bad dataset, as an
 * InputError; otherwise a FleetcastError).
 */
export async function runTrainer(
  args: TrainerArgs,
  onEvent: (event: TrainerEvent) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<TrainerRun> {
  const argv = [
    '--dataset',
    args.dataset,
    '--out',
    args.out,
    '--profile',
    args.profile,
    '--seed',
    String(args.seed),
  ];
  if (args.epochs !== undefined) argv.push('--epochs', String(args.epochs));
  if (args.device) argv.push('--device', args.device);
  return runPythonModule({ module: 'fleetcast_trainer.train', args: argv, name: 'trainer', onEvent, env });
}

/**
 * Human progress for one trainer event (null: nothing to show). `budgetLeftSeconds`: what is left
 * of the profile's training time budget, which stops training before the epoch count does.
 */
export function describeEvent(event: TrainerEvent, budgetLeftSeconds?: number): string | null {
  const num = (key: string) => (typeof event[key] === 'number' ? (event[key] as number) : null);
  switch (event.event) {
    case 'start':
      return (
        `train: ${String(event.profile)} profile on ${String(event.device)} x${num('world_size') ?? 1}, ` +
        `up to ${num('epochs')} epochs of ${num('steps_per_epoch')} steps, ${num('train_windows')} train windows, ` +
        `${num('parameters')} parameters`
      );
    case 'epoch': {
      const reported = num('eta_seconds');
      const eta =
        reported !== null && budgetLeftSeconds !== undefined
          ? Math.min(reported, Math.max(0, budgetLeftSeconds))
          : reported;
      return (
        `train: epoch ${num('epoch')}/${num('epochs')}: loss ${fmt(num('train_loss'))}, val ${fmt(num('val_loss'))} ` +
        `(${(num('seconds') ?? 0).toFixed(1)}s${eta !== null ? `, ETA ${formatDuration(eta)}` : ''})`
      );
    }
    case 'done':
      return (
        `train: done in ${formatDuration(num('total_seconds') ?? 0)}, best epoch ${num('best_epoch')}, converged=${String(event.converged)}` +
        (typeof event.stopped_by === 'string' ? ` (stopped by ${event.stopped_by})` : '')
      );
    case 'warning':
      // e.g. the time guard cut training short: said loudly, the convergence gate then fails it
      return `train: WARNING: ${String(event.message)}`;
    case 'error':
      return `train: error: ${String(event.message)}`;
    default:
      return null;
  }
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function fmt(v: number | null): string {
  return v === null ? 'n/a' : v.toFixed(4);
}
