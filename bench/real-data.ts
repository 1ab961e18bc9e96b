// `npm run bench -- real-data [--metrics ../shared/data/bitbrains-rnd-dev.parquet] [--now 2013-08-30T22:00:00Z]
//   [--profile smoke] [--work-dir DIR] [--json]`
// Every command on a real fleet's metrics, unchanged (no filler columns, no hand cleaning), as a
// user runs them: check-data, fleet, manifest update, drift, train, validate, deploy, serve. Each
// runs as `node bin/fleetcast.js …` in a fresh process; wall seconds and exit codes are printed,
// beside a plain DuckDB scan of the same file in the same run (the baseline the ratios use).
// serve: seconds from start until /readyz answers 200, and how many servers /forecast/fleet covers.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sqlString, withDuckDb } from '../src/metrics/duckdb.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin', 'fleetcast.js');
const say = (line: string): void => void process.stderr.write(`${line}\n`);

interface Step {
  command: string;
  seconds: number;
  exit_code: number;
  note: string;
}

function fleetcast(args: string[], cwd: string): { seconds: number; code: number; out: string; err: string } {
  const started = performance.now();
  const child = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', maxBuffer: 256 << 20 });
  return {
    seconds: (performance.now() - started) / 1000,
    code: child.status ?? -1,
    out: child.stdout,
    err: child.stderr,
  };
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? done(address.port) : fail(new Error('no port')),
      );
    });
  });
}

async function rawScanSeconds(metrics: string): Promise<{ seconds: number; rows: number }> {
  const started = performance.now();
  const rows = await withDuckDb(
    async (conn) => {
      const reader = await conn.runAndReadAll(
        `SELECT count(*)::DOUBLE, count(DISTINCT server_name)::DOUBLE, max(timestamp) FROM read_parquet(${sqlString(metrics)})`,
      );
      return Number(reader.getRows()[0]![0]);
    },
    { access: { files: [metrics] } },
  );
  return { seconds: (performance.now() - started) / 1000, rows };
}

async function serveUntilReady(
  args: string[],
  cwd: string,
  port: number,
): Promise<{ seconds: number; covered: number; expected: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'serve', ...args, '--port', String(port)], {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, FLEETCAST_LOG_LEVEL: 'error' },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${stderr.slice(-2000)}`);
      if (performance.now() - started > 300_000) throw new Error('serve: not ready within 300 s');
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (ready === 200) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (performance.now() - started) / 1000;
    const fleet = (await (await fetch(`http://127.0.0.1:${port}/forecast/fleet`)).json()) as {
      servers?: unknown[];
      coverage?: { expected?: number };
    };
    return { seconds, covered: fleet.servers?.length ?? 0, expected: fleet.coverage?.expected ?? -1 };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      metrics: { type: 'string', default: join(ROOT, '..', 'shared', 'data', 'bitbrains-rnd-dev.parquet') },
      now: { type: 'string', default: '2013-08-30T22:00:00Z' },
      profile: { type: 'string', default: 'smoke' },
      'work-dir': { type: 'string', default: join(tmpdir(), 'fleetcast-bench-real-data') },
      json: { type: 'boolean', default: false },
    },
  });
  const metrics = resolve(values.metrics);
  if (!existsSync(metrics)) {
    say(
      `real-data: ${metrics} not found (the development data set lives in ../shared/data); nothing measured`,
    );
    process.exitCode = 2;
    return;
  }
  const work = resolve(values['work-dir']);
  await rm(work, { recursive: true, force: true });
  await mkdir(join(work, 'fleet'), { recursive: true });
  await writeFile(join(work, 'fleet', 'manifest.json'), '{"format_version":1,"servers":[]}\n');
  const load = loadavg()[0]!;
  const steps: Step[] = [];
  const step = (
    command: string,
    args: string[],
    note: (r: ReturnType<typeof fleetcast>) => string,
  ): ReturnType<typeof fleetcast> => {
    say(`real-data: fleetcast ${command} …`);
    const r = fleetcast(args, work);
    steps.push({ command, seconds: r.seconds, exit_code: r.code, note: note(r) });
    say(
      `  ${r.seconds.toFixed(1)} s, exit ${r.code}${r.code !== 0 && r.code !== 3 ? `\n${r.err.slice(-1500)}` : ''}`,
    );
    return r;
  };
  const raw = await rawScanSeconds(metrics);
  const now = ['--now', values.now];
  step('check-data', ['check-data', '--metrics', metrics, ...now, '--json'], (r) => {
    const report = JSON.parse(r.out) as { problems?: Array<{ severity: string }> };
    const by = (s: string) => report.problems?.filter((p) => p.severity === s).length ?? 0;
    return `${by('error')} errors, ${by('warning')} warnings`;
  });
  step('fleet', ['fleet', '--metrics', metrics, ...now, '--json'], (r) => {
    const servers = (JSON.parse(r.out) as { servers?: unknown[] }).servers?.length ?? 0;
    return `${servers} servers`;
  });
  step(
    'manifest update',
    ['manifest', 'update', '--metrics', metrics, ...now, '--no-events', '--json'],
    () => 'from an empty manifest',
  );
  // The smoke profile is a plumbing check (4 epochs): its accuracy is reported, not gated, so the
  // model reaches the registry and serve is measured; coverage and convergence stay enforced.
  const gates = ['--gates', 'gates.json'];
  await writeFile(
    join(work, 'gates.json'),
    values.profile === 'smoke'
      ? '{"accuracy": {"max_ratio_vs_seasonal_naive": {"0.5": null, "0.9": null}, "max_ratio_vs_deployed": {"0.5": null}}}\n'
      : '{}\n',
  );
  const train = step(
    `train --profile ${values.profile}`,
    [
      'train',
      '--metrics',
      metrics,
      '--manifest',
      'fleet/manifest.json',
      '--registry',
      'models-registry',
      '--profile',
      values.profile,
      ...now,
      ...gates,
      '--work-dir',
      'work',
      '--json',
    ],
    (r) => (r.code === 0 ? 'passed its gates' : r.code === 3 ? 'a gate failed: nothing written' : 'failed'),
  );
  const modelId = (JSON.parse(train.out || '{}') as { model_id?: string }).model_id;
  if (train.code === 0 && modelId) {
    const modelDir = join('models-registry', 'models', modelId);
    step(
      'validate',
      [
        'validate',
        '--model-dir',
        modelDir,
        '--manifest',
        'fleet/manifest.json',
        '--metrics',
        metrics,
        ...now,
        ...gates,
        '--json',
      ],
      (r) => (r.code === 0 ? 'passed' : 'a gate failed'),
    );
    step(
      'deploy',
      ['deploy', '--registry', 'models-registry', '--model-id', modelId],
      () => 'checksums, load, sample forecast',
    );
    step(
      'drift',
      ['drift', '--metrics', metrics, '--registry', 'models-registry', ...now, '--no-events', '--json'],
      (r) => {
        const report = JSON.parse(r.out) as { decision?: { retrain?: boolean; priority?: string } };
        return `retrain ${String(report.decision?.retrain)} (${report.decision?.priority ?? '?'})`;
      },
    );
    const port = await freePort();
    say('real-data: fleetcast serve … (until /readyz)');
    const served = await serveUntilReady(
      ['--registry', 'models-registry', '--metrics', metrics, '--manifest', 'fleet/manifest.json'],
      work,
      port,
    );
    steps.push({
      command: 'serve (start → ready)',
      seconds: served.seconds,
      exit_code: 0,
      note: `${served.covered} forecasts for ${served.expected} expected servers`,
    });
  }
  const result = { metrics, rows: raw.rows, raw_scan_seconds: raw.seconds, load_at_start: load, steps };
  if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(
      `${raw.rows} rows; plain DuckDB scan ${raw.seconds.toFixed(2)} s (load ${load.toFixed(1)})\n`,
    );
    process.stdout.write('command                         seconds  × scan  exit  note\n');
    for (const s of steps)
      process.stdout.write(
        `${s.command.padEnd(31)} ${s.seconds.toFixed(1).padStart(7)}  ${(s.seconds / raw.seconds).toFixed(0).padStart(6)}  ${String(s.exit_code).padStart(4)}  ${s.note}\n`,
      );
  }
}
