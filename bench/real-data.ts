// `npm run bench -- real-data [--metrics ../shared/data/bitbrains-rnd-dev.parquet] [--now 2013-08-30T12:00:00Z]
//   [--profile smoke] [--work-dir DIR] [--json]`
// Every command on a real fleet's metrics, unchanged (no filler columns, no hand cleaning), as a
// user runs them: check-data, fleet, manifest update, drift, train, validate, deploy, serve. Each
// runs as `node bin/fleetcast.js …` in a fresh process; wall seconds and exit codes are printed,
// beside a plain DuckDB scan of the same file in the same run (the baseline the ratios use).
// serve: seconds from start until /readyz answers 200, and how many servers /forecast/fleet covers.
// serve, live: the deployed model served on the data before --now, then the file is replaced by one
// reaching 8 hours further (as a collector appends); the live accuracy /status reports once those
// actuals are read, and the dashboard's fleet table and one server's detail view, on real servers.
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sqlString, withDuckDb } from '../src/metrics/duckdb.js';
import { DEVELOPMENT_DATA, metricsOrNothing } from './lib/development-data.js';

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

/** `fleetcast serve` in a child process, with a poll that fails when it exits or takes over 300 s. */
function startServe(args: string[], cwd: string, port: number) {
  const child = spawn(process.execPath, [CLI, 'serve', ...args, '--port', String(port)], {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, FLEETCAST_LOG_LEVEL: 'error' },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return {
    base: `http://127.0.0.1:${port}`,
    async until(what: string, done: () => Promise<boolean>): Promise<void> {
      const deadline = performance.now() + 300_000;
      for (;;) {
        if (child.exitCode !== null)
          throw new Error(`serve exited ${child.exitCode}: ${stderr.slice(-2000)}`);
        if (performance.now() > deadline) throw new Error(`serve: ${what} not within 300 s`);
        if (await done().catch(() => false)) return;
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    async stop(): Promise<void> {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function serveUntilReady(
  args: string[],
  cwd: string,
  port: number,
): Promise<{ seconds: number; covered: number; expected: number }> {
  const started = performance.now();
  const serve = startServe(args, cwd, port);
  try {
    await serve.until('ready', async () => (await fetch(`${serve.base}/readyz`)).status === 200);
    const seconds = (performance.now() - started) / 1000;
    const fleet = (await (await fetch(`${serve.base}/forecast/fleet`)).json()) as {
      servers?: unknown[];
      coverage?: { expected?: number };
    };
    return { seconds, covered: fleet.servers?.length ?? 0, expected: fleet.coverage?.expected ?? -1 };
  } finally {
    await serve.stop();
  }
}

/** The rows of `metrics` before `until` (epoch seconds), written whole to `out` (a temp file, then a rename). */
async function sliceBefore(metrics: string, until: number, out: string): Promise<void> {
  const partial = `${out}.partial`;
  await withDuckDb(async (conn) => {
    await conn.run(
      `COPY (SELECT * FROM read_parquet(${sqlString(metrics)}) WHERE timestamp < make_timestamp(${until * 1_000_000})) TO ${sqlString(partial)} (FORMAT parquet)`,
    );
  });
  await rename(partial, out);
}

interface LiveStatus {
  live_accuracy?: {
    errors: number;
    models: Array<{
      model: string;
      scored_points: number;
      naive_points: number;
      q_risk: Array<{
        target: string;
        quantile: number;
        q_risk: number | null;
        naive_q_risk: number | null;
        ratio_vs_naive: number | null;
      }>;
      worst_servers: Array<{ server: string; q_risk: number; points: number }>;
    }>;
  };
}

const getJson = async <T>(url: string): Promise<{ status: number; body: T }> => {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as T };
};

/**
 * Live accuracy on real servers: serve the data before `now`, let the service forecast the fleet,
 * then replace the file with one reaching 8 h further and wait for the scores.
 */
async function liveOnRealData(
  metrics: string,
  work: string,
  now: string,
  port: number,
): Promise<{ step: Step; live: unknown }> {
  const origin = Math.floor(Date.parse(now) / 1000);
  const file = join(work, 'live-metrics.parquet');
  await sliceBefore(metrics, origin, file);
  const started = performance.now();
  const serve = startServe(
    [
      '--registry',
      'models-registry',
      '--metrics',
      file,
      '--manifest',
      'fleet/manifest.json',
      '--state-dir',
      join(work, 'serve-state'),
      '--refresh',
      '2s',
    ],
    work,
    port,
  );
  const { base, until } = serve;
  try {
    await until('ready', async () => (await fetch(`${base}/readyz`)).status === 200);
    const served = await getJson<{ servers?: unknown[] }>(`${base}/forecast/fleet`);
    say(
      `real-data: ${served.body.servers?.length ?? 0} forecasts served; the actuals of the next 8 h arrive …`,
    );
    await sliceBefore(metrics, origin + 8 * 3600, file);
    let status: LiveStatus = {};
    let last = -1;
    // scored once the refresh reads the new file; settled when a refresh adds nothing
    await until('live scores', async () => {
      status = (await getJson<LiveStatus>(`${base}/status`)).body;
      const points = status.live_accuracy?.models[0]?.scored_points ?? 0;
      const settled = points > 0 && points === last;
      last = points;
      return settled;
    });
    const model = status.live_accuracy!.models[0]!;
    const fleet = await getJson<{ rows?: unknown[][]; columns?: string[] }>(`${base}/dashboard/fleet`);
    const qRiskColumn = fleet.body.columns?.indexOf('live_q_risk') ?? -1;
    const rowsWithLive = fleet.body.rows?.filter((r) => typeof r[qRiskColumn] === 'number').length ?? 0;
    const worst = model.worst_servers[0]?.server;
    const detail =
      worst === undefined
        ? null
        : await getJson<{ live_q_risk: unknown; targets: Array<{ actuals: unknown; served: unknown[] }> }>(
            `${base}/dashboard/servers/${encodeURIComponent(worst)}`,
          );
    const mid = model.q_risk.filter((q) => q.quantile === 0.5);
    const live = {
      model: model.model,
      scored_points: model.scored_points,
      naive_points: model.naive_points,
      errors: status.live_accuracy!.errors,
      q_risk: model.q_risk,
      dashboard_rows: fleet.body.rows?.length ?? 0,
      dashboard_rows_with_live_q_risk: rowsWithLive,
      worst_server: worst ?? null,
      worst_server_detail_status: detail?.status ?? null,
      worst_server_detail_served_forecasts: detail?.body.targets[0]?.served.length ?? 0,
    };
    return {
      live,
      step: {
        command: 'serve, live (8 h of new actuals)',
        seconds: (performance.now() - started) / 1000,
        exit_code: 0,
        note:
          `${model.scored_points} points scored, ${status.live_accuracy!.errors} errors; P50 q-risk ` +
          mid
            .map((q) => `${q.target} ${q.q_risk?.toFixed(3)} (naive ${q.naive_q_risk?.toFixed(3)})`)
            .join(', ') +
          `; dashboard: ${rowsWithLive}/${fleet.body.rows?.length ?? 0} rows with live q-risk, detail of ${worst} ${detail?.status}`,
      },
    };
  } finally {
    await serve.stop();
  }
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      metrics: { type: 'string', default: DEVELOPMENT_DATA },
      now: { type: 'string', default: '2013-08-30T12:00:00Z' },
      profile: { type: 'string', default: 'smoke' },
      'work-dir': { type: 'string', default: join(tmpdir(), 'fleetcast-bench-real-data') },
      json: { type: 'boolean', default: false },
    },
  });
  const metrics = metricsOrNothing(values.metrics, 'real-data');
  if (metrics === null) return;
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
  let live: unknown = null;
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
    say('real-data: fleetcast serve … (live accuracy on real actuals)');
    const scored = await liveOnRealData(metrics, work, values.now, await freePort());
    steps.push(scored.step);
    live = scored.live;
  }
  const result = { metrics, rows: raw.rows, raw_scan_seconds: raw.seconds, load_at_start: load, steps, live };
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
