import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FleetcastError, InputError } from './errors.js';

/** `trainer/`: the Python package directory (the TFT trainer and the peer forecasters). */
export const TRAINER_DIR = fileURLToPath(new URL('../../trainer/', import.meta.url));

/**
 * The Python interpreter that runs the trainer: $FLEETCAST_PYTHON, else /usr/bin/python3 (where
 * Debian's python3-torch lives; a pyenv `python3` earlier on PATH cannot import it), else `python3`.
 */
export function resolvePython(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FLEETCAST_PYTHON) return env.FLEETCAST_PYTHON;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

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
 * The environment of a Python child (trainer, peers): an allow-list of `env` (locale, paths,
 * Python, CUDA, thread pools, non-secret FLEETCAST_* settings), never a variable whose name looks
 * like a secret, plus PYTHONPATH = trainer/ and unbuffered output. Tokens of the job
 * (GITHUB_TOKEN, cloud keys, webhooks) stay with fleetcast: the Python side needs none of them.
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

/** A JSON progress line of a Python module on stdout (`{"event": …}`). */
export type PythonEvent = { event: string } & Record<string, unknown>;

export interface PythonModuleRun {
  events: PythonEvent[];
  seconds: number;
}

export interface PythonModuleOptions {
  /** `python -m <module>`, run in trainer/. */
  module: string;
  args: readonly string[];
  /** What it is, for errors: "trainer" → "trainer failed: …", "… of the trainer's stderr". */
  name: string;
  onEvent?: (event: PythonEvent) => void;
  /** Every stderr line as it comes. */
  onStderr?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

const STDERR_TAIL_LINES = 30;

/**
 * Runs `python -m module args` with cwd and PYTHONPATH = trainer/ and the allow-listed environment
 * (trainerEnv), hands each JSON event line of its stdout to `onEvent` and keeps the last lines of
 * its stderr for the error when it fails: exit 2 (bad input, by the trainer package's convention)
 * is an InputError, anything else a FleetcastError; both name `name`, the reason (the `error`
 * event's message, the signal or the exit code) and the stderr tail. SIGINT/SIGTERM are forwarded.
 */
export async function runPythonModule(options: PythonModuleOptions): Promise<PythonModuleRun> {
  const env = options.env ?? process.env;
  const python = resolvePython(env);
  const started = Date.now();
  const child = spawn(python, ['-m', options.module, ...options.args], {
    cwd: TRAINER_DIR,
    env: trainerEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: PythonEvent[] = [];
  const tail: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    tail.push(line);
    if (tail.length > STDERR_TAIL_LINES) tail.shift();
    options.onStderr?.(line);
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = parseEvent(line);
    if (event === null) return;
    events.push(event);
    options.onEvent?.(event);
  });
  const forward = () => child.kill('SIGTERM');
  process.once('SIGINT', forward);
  process.once('SIGTERM', forward);
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      child.once('error', (error) =>
        reject(
          new FleetcastError(`cannot start the ${options.name} with ${python}: ${error.message}`, {
            cause: error,
          }),
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
  const text = `${options.name} failed: ${reason}\n--- last lines of the ${options.name}'s stderr ---\n${tail.join('\n')}`;
  throw code === 2 ? new InputError(text) : new FleetcastError(text);
}

function parseEvent(line: string): PythonEvent | null {
  if (!line.startsWith('{')) return null;
  try {
    const value = JSON.parse(line) as unknown;
    if (value && typeof value === 'object' && typeof (value as { event?: unknown }).event === 'string')
      return value as PythonEvent;
  } catch {
    // not a progress line
  }
  return null;
}
