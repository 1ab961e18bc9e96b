// `npm run bench -- trainer [--steps N] [--full]`
// Seconds per training step for the candidate shapes (trainer/fleetcast_trainer/benchmark.py) and,
// with --full, a default-profile training on a synthetic 400-server x 30-day dataset (epoch times,
// total, q-risk against one-day seasonal naive on the validation windows).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolvePython } from '../src/core/python.js';

const trainerDir = fileURLToPath(new URL('../trainer/', import.meta.url));

function python(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(resolvePython(), args, { cwd: trainerDir, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited ${code}`)),
    );
  });
}

export async function run(args: string[]): Promise<void> {
  const stepsAt = args.indexOf('--steps');
  const steps = stepsAt >= 0 ? (args[stepsAt + 1] ?? '6') : '6';
  await python(['-m', 'fleetcast_trainer.benchmark', '--steps', steps]);
  if (!args.includes('--full')) return;

  const dir = await mkdtemp(join(tmpdir(), 'fleetcast-bench-trainer-'));
  try {
    const profiles = JSON.parse(await readFile(join(trainerDir, 'profiles.json'), 'utf8')) as {
      profiles: { default: { resolution_seconds: number } };
    };
    const resolution = String(profiles.profiles.default.resolution_seconds);
    await python([
      '-m',
      'fleetcast_trainer.synthetic',
      '--out',
      join(dir, 'data'),
      '--servers',
      '400',
      '--days',
      '30',
      '--resolution',
      resolution,
    ]);
    await python([
      '-m',
      'fleetcast_trainer.train',
      '--dataset',
      join(dir, 'data'),
      '--out',
      join(dir, 'out'),
      '--profile',
      'default',
    ]);
    const report = JSON.parse(await readFile(join(dir, 'out', 'train_report.json'), 'utf8')) as {
      epochs: { epoch: number; seconds: number; val_loss: number }[];
      durations: Record<string, number>;
      validation_metrics: Record<string, Record<string, number>>;
    };
    process.stdout.write(
      `${JSON.stringify({ durations: report.durations, metrics: report.validation_metrics })}\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
