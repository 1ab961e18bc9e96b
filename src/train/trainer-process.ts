import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolvePython } from '../core/python.js';
import { FleetcastError, InputError } from '../core/errors.js';
import { TRAINER_DIR } from './profiles.js';

export interface TrainerArgs {
  dataset: string;
  out: string;
  profile: string;
  seed: number;
  epochs?: number;
  device?: 'auto' | 'cpu' | 'cuda';
}

/** A JSON progress line of the trainer (`python -m fleetcast_trainer.train`, stdout). */
export type TrainerEvent = { event: string } & Record<string, unknown>;

export interface TrainerRun {
  events: TrainerEvent[];
  seconds: number;
}

const STDERR_TAIL_LINES = 30;

/** Variables the trainer gets by name (docs/trainer.md, "Environment" under "Command line"). */
const TRAINER_ENV_NAMES = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TEMP',
  'TMP',
  'LD_LIBRARY_PATH',
  'VIRTUAL_ENV',
  'CONDA_PREFIX',
  'OPENBLAS_NUM_THREADS',
  // torchrun's, when fleetcast itself runs under it
  'WORLD_SIZE',
  'RANK',
  'LOCAL_RANK',
  'LOCAL_WORLD_SIZE',
  'MASTER_ADDR',
  'MASTER_PORT',
]);
/** …and by prefix: locale, Python, GPU, thread pools, fleetcast's own settings. */
const TRAINER_ENV_PREFIXES = [
  'LC_',
  'PYTHON',
  'CUDA_',
  'NVIDIA_',
  'NCCL_',
  'CUBLAS_',
  'TORCH_',
  'OMP_',
  'MKL_',
  'KMP_',
  'FLEETCAST_',
];
/** A name that looks like it holds a secret is never passed, whatever the lists above say. */
const SECRET_NAME = /TOKEN|SECRET|KEY|PASSWORD|PASSWD|WEBHOOK|CREDENTIAL|AUTH|COOKIE|SESSION/i;

/**
 * The trainer's environment: an allow-list of `env` (locale, paths, Python, CUDA, thread pools,
 * non-secret FLEETCAST_* settings), never a variable whose name looks like a secret, plus
 * PYTHONPATH = trainer/ and unbuffered output. Tokens of the job (GITHUB_TOKEN, cloud keys,
 * webhooks) stay with fleetcast: the trainer needs none of them.
 */
export function trainerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || SECRET_NAME.test(name)) continue;
    if (TRAINER_ENV_NAMES.has(name) || TRAINER_ENV_PREFIXES.some((p) => name.startsWith(p)))
      out[name] = value;
  }
  out.PYTHONPATH = [TRAINER_DIR, env.PYTHONPATH].filter(Boolean).join(':');
  out.PYTHONUNBUFFERED = '1';
  return out;
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
    '-m',
    'fleetcast_trainer.train',
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
  const python = resolvePython(env);
  const started = Date.now();
  const child = spawn(python, argv, {
    cwd: TRAINER_DIR,
    env: trainerEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: TrainerEvent[] = [];
  const tail: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    tail.push(line);
    if (tail.length > STDERR_TAIL_LINES) tail.shift();
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = parseEvent(line);
    if (event === null) return;
    events.push(event);
    onEvent(event);
  });
  const forward = () => child.kill('SIGTERM');
  process.once('SIGINT', forward);
  process.once('SIGTERM', forward);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.once('error', (error) =>
        reject(
          new FleetcastError(`cannot start the trainer with ${python}: ${error.message}`, { cause: error }),
        ),
      );
      child.once('close', (c, s) => resolve({ code: c, signal: s }));
    },
  ).finally(() => {
    process.removeListener('SIGINT', forward);
    process.removeListener('SIGTERM', forward);
  });
  if (code === 0) return { events, seconds: (Date.now() - started) / 1000 };
  const errorEvent = events.find((e) => e.event === 'error');
  const reason =
    typeof errorEvent?.message === 'string'
      ? errorEvent.message
      : signal
        ? `killed by ${signal}`
        : `exit code ${code}`;
  const text = `trainer failed: ${reason}\n--- last lines of the trainer's stderr ---\n${tail.join('\n')}`;
  throw code === 2 ? new InputError(text) : new FleetcastError(text);
}

function parseEvent(line: string): TrainerEvent | null {
  if (!line.startsWith('{')) return null;
  try {
    const value = JSON.parse(line) as unknown;
    if (value && typeof value === 'object' && typeof (value as { event?: unknown }).event === 'string')
      return value as TrainerEvent;
  } catch {
    // not a progress line
  }
  return null;
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
      return `train: done in ${formatDuration(num('total_seconds') ?? 0)}, best epoch ${num('best_epoch')}, converged=${String(event.converged)}`;
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
