// `npm run bench -- accuracy [--metrics ../shared/data/bitbrains-rnd-dev.parquet]
//   [--windows 2013-08-14T22:00:00Z,2013-08-28T22:00:00Z] [--profile default] [--profiles FILE]
//   [--seed 0] [--threads 1] [--peers gbm,ets,qnaive] [--days 30] [--work-dir DIR] [--reuse] [--json]`
// The TFT against its peers on held-out windows of a real (or generated) fleet, one table per
// window: for each `--windows` time, the CLI writes the training dataset (the `--days` before it, 30
// as `fleetcast train` has by default), the peers (gradient boosting, Holt-Winters, quantile naive) and the TFT
// are fitted on it, and `fleetcast_trainer.compare` scores all of them, persistence and seasonal
// naive on the same windows and points (q-risk = 2·Σpinball/Σ|y|, raw values). The goal column:
// the TFT's P50 and P90 at least 5 % below the better of gbm and ets, per target. Fitting times are
// wall seconds of each step in this run. --reuse keeps a window's dataset and peer forecasts from an
// earlier run in the same --work-dir (same data, same window: they come out the same) and fits only
// the TFT again. Progress on stderr; --json prints everything on stdout.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolvePython } from '../src/core/python.js';
import { DEVELOPMENT_DATA, metricsOrNothing } from './lib/development-data.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'bin', 'fleetcast.js');
const TRAINER = join(ROOT, 'trainer');
const say = (line: string): void => void process.stderr.write(`bench accuracy: ${line}\n`);
const GOAL = 0.95;

/** Runs a command, streaming its stderr as progress; resolves with stdout, rejects on a non-zero exit. */
function step(
  label: string,
  command: string,
  args: string[],
  cwd: string,
): Promise<{ seconds: number; out: string }> {
  say(`${label} …`);
  const started = performance.now();
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const last = chunk.toString().trim().split('\n').at(-1);
      if (last) process.stderr.write(`  ${last.slice(0, 160)}\r`);
    });
    child.on('error', fail);
    child.on('exit', (code) => {
      process.stderr.write('\n');
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) {
        say(`${label}: ${seconds.toFixed(0)} s`);
        done({ seconds, out });
      } else fail(new Error(`${label} exited ${code}:\n${err.slice(-3000)}`));
    });
  });
}

interface Score {
  model: string;
  group: string;
  target: string;
  quantile: number;
  q_risk: number | null;
  points: number;
}

interface WindowResult {
  now: string;
  windows: number;
  seconds: Record<string, number>;
  scores: Score[];
  /** Per target and quantile: the TFT's q-risk over the better of gbm and ets (goal ≤ 0.95). */
  vs_best_peer: Array<{
    target: string;
    quantile: number;
    tft: number | null;
    best_peer: string;
    best: number | null;
    ratio: number | null;
    met: boolean;
  }>;
}

async function oneWindow(
  now: string,
  metrics: string,
  work: string,
  options: {
    profile: string;
    profiles?: string | undefined;
    seed: string;
    threads: string;
    peers: string;
    days: string;
    reuse: boolean;
  },
): Promise<WindowResult> {
  // another history length is another dataset: its own directory, so --reuse never mixes them
  const dir = join(work, now.replace(/[^0-9TZ]/g, '') + (options.days === '30' ? '' : `-${options.days}d`));
  const dataset = join(dir, 'work', 'dataset');
  const reuse =
    options.reuse &&
    existsSync(join(dataset, 'dataset.json')) &&
    existsSync(join(dir, 'peers', 'forecasts.json'));
  if (!reuse) await rm(dir, { recursive: true, force: true });
  else {
    say(`${now}: reusing the dataset and peer forecasts in ${dir}`);
    await rm(join(dir, 'tft'), { recursive: true, force: true });
  }
  await mkdir(join(dir, 'fleet'), { recursive: true });
  const node = process.execPath;
  const python = resolvePython();
  const seconds: Record<string, number> = {};
  if (!reuse) {
    await writeFile(join(dir, 'fleet', 'manifest.json'), '{"format_version":1,"servers":[]}\n');
    await step(
      `${now}: manifest`,
      node,
      [CLI, 'manifest', 'update', '--metrics', metrics, '--now', now, '--no-events'],
      dir,
    );
    // the dataset the pipeline trains on (its one-epoch smoke model is not used)
    seconds.dataset = (
      await step(
        `${now}: dataset`,
        node,
        [
          CLI,
          'train',
          '--metrics',
          metrics,
          '--manifest',
          'fleet/manifest.json',
          '--registry',
          'registry',
          '--profile',
          'smoke',
          '--epochs',
          '1',
          '--now',
          now,
          '--days',
          options.days,
          '--work-dir',
          'work',
          '--no-validate',
        ],
        dir,
      )
    ).seconds;
    if (!existsSync(join(dataset, 'dataset.json'))) throw new Error(`${dataset}: no dataset written`);
    seconds.peers = (
      await step(
        `${now}: peers (${options.peers})`,
        python,
        [
          '-m',
          'fleetcast_trainer.peers',
          '--input',
          dataset,
          '--out',
          join(dir, 'peers'),
          '--peers',
          options.peers,
          '--threads',
          options.threads,
        ],
        TRAINER,
      )
    ).seconds;
  }
  seconds.tft = (
    await step(
      `${now}: TFT (${options.profile}, seed ${options.seed})`,
      python,
      [
        '-m',
        'fleetcast_trainer.train',
        '--dataset',
        dataset,
        '--out',
        join(dir, 'tft'),
        '--profile',
        options.profile,
        ...(options.profiles ? ['--profiles', resolve(options.profiles)] : []),
        '--seed',
        options.seed,
        '--threads',
        options.threads,
        '--heldout-forecasts',
      ],
      TRAINER,
    )
  ).seconds;
  const scoresFile = join(dir, 'scores.json');
  await step(
    `${now}: compare`,
    python,
    [
      '-m',
      'fleetcast_trainer.compare',
      '--dataset',
      dataset,
      '--peers',
      join(dir, 'peers'),
      '--tft',
      `tft=${join(dir, 'tft')}`,
      '--unknown',
      '--json',
      scoresFile,
    ],
    TRAINER,
  );
  const scored = JSON.parse(await readFile(scoresFile, 'utf8')) as { windows: number; scores: Score[] };
  const all = scored.scores.filter((s) => s.group === 'all');
  const at = (model: string, target: string, quantile: number) =>
    all.find((s) => s.model === model && s.target === target && s.quantile === quantile)?.q_risk ?? null;
  const vs = [...new Set(all.map((s) => s.target))].flatMap((target) =>
    [0.5, 0.9].map((quantile) => {
      const peers = ['gbm', 'ets']
        .map((p) => ({ p, v: at(p, target, quantile) }))
        .filter((x): x is { p: string; v: number } => x.v !== null)
        .sort((a, b) => a.v - b.v);
      const tft = at('tft', target, quantile);
      const best = peers[0] ?? null;
      const ratio = tft !== null && best !== null ? tft / best.v : null;
      return {
        target,
        quantile,
        tft,
        best_peer: best?.p ?? '',
        best: best?.v ?? null,
        ratio,
        met: ratio !== null && ratio <= GOAL,
      };
    }),
  );
  return { now, windows: scored.windows, seconds, scores: scored.scores, vs_best_peer: vs };
}

function table(result: WindowResult): string {
  const all = result.scores.filter((s) => s.group === 'all');
  const cols = [...new Set(all.map((s) => s.target))].flatMap((t) => [0.5, 0.9].map((q) => [t, q] as const));
  const lines = [
    `held out after ${result.now} (${result.windows} windows)`,
    `| model | ${cols.map(([t, q]) => `${t} P${q * 100}`).join(' | ')} |`,
    `|---|${cols.map(() => '---:').join('|')}|`,
  ];
  for (const model of new Set(all.map((s) => s.model))) {
    const v = cols.map(
      ([t, q]) => all.find((s) => s.model === model && s.target === t && s.quantile === q)?.q_risk,
    );
    lines.push(`| ${model} | ${v.map((x) => (x == null ? '—' : x.toFixed(4))).join(' | ')} |`);
  }
  lines.push(
    `| tft / best of gbm, ets | ${result.vs_best_peer.map((r) => (r.ratio === null ? '—' : `${r.ratio.toFixed(3)} ${r.met ? '(met)' : '(missed)'}`)).join(' | ')} |`,
  );
  lines.push(
    `seconds: ${Object.entries(result.seconds)
      .map(([k, s]) => `${k} ${s.toFixed(0)}`)
      .join(', ')}`,
  );
  return lines.join('\n');
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      metrics: { type: 'string', default: DEVELOPMENT_DATA },
      windows: { type: 'string', default: '2013-08-14T22:00:00Z,2013-08-28T22:00:00Z' },
      profile: { type: 'string', default: 'default' },
      profiles: { type: 'string' },
      seed: { type: 'string', default: '0' },
      threads: { type: 'string', default: '1' },
      peers: { type: 'string', default: 'gbm,ets,qnaive' },
      days: { type: 'string', default: '30' },
      'work-dir': { type: 'string', default: join(tmpdir(), 'fleetcast-bench-accuracy') },
      reuse: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const metrics = metricsOrNothing(values.metrics, 'bench accuracy');
  if (metrics === null) return;
  const work = resolve(values['work-dir']);
  const load = loadavg()[0]!;
  const results: WindowResult[] = [];
  for (const now of values.windows
    .split(',')
    .map((w) => w.trim())
    .filter(Boolean)) {
    const result = await oneWindow(now, metrics, work, {
      profile: values.profile,
      profiles: values.profiles,
      seed: values.seed,
      threads: values.threads,
      peers: values.peers,
      days: values.days,
      reuse: values.reuse,
    });
    results.push(result);
    if (!values.json) process.stdout.write(`${table(result)}\n\n`);
  }
  const met = results.every((r) => r.vs_best_peer.every((v) => v.met));
  if (values.json)
    process.stdout.write(
      `${JSON.stringify({ metrics, load_at_start: load, goal_met: met, windows: results }, null, 2)}\n`,
    );
  else
    process.stdout.write(
      `goal (TFT ≤ ${GOAL} × the better of gbm and ets, every target, P50 and P90, every window): ${met ? 'met' : 'missed'}\n`,
    );
}
