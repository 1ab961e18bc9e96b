// `npm run bench -- live-accuracy [--scale 1000,10000] [--cycles 31]` (JSON on stdout, progress on stderr)
// (a) overhead of live scoring on the fleet forecast cycle: the same cycle (window refresh, then the
//     whole-fleet forecast through ForecastService with the real onnxruntime model) with live
//     scoring on and off, switched cycle by cycle in one service, as a ratio (goal ≤ 1.05); every
//     cycle brings each server a new step (the most scoring a cycle can have);
// (b) memory of kept forecasts per 10,000 servers: heap delta after gc (run with --expose-gc, as
//     `npm run bench` does through NODE_OPTIONS below) and the state file's size.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../src/core/logger.js';
import type { RecentWindow } from '../src/features/windows.js';
import { loadModel } from '../src/model/loaded-model.js';
import { modelDir } from '../src/registry/layout.js';
import { deploy } from '../src/registry/pointer.js';
import { ForecastService } from '../src/service/serving/forecast-service.js';
import { LiveAccuracy, type LiveModelShape } from '../src/service/serving/live-accuracy.js';
import type { ForecastResult } from '../src/service/serving-model.js';
import { makeTinyModels } from '../test/helpers/tiny-model.js';

const logger = createLogger('bench-live', process.env.FLEETCAST_LOG_LEVEL ?? 'silent');
const progress = (msg: string): void => void process.stderr.write(`bench live-accuracy: ${msg}\n`);
const r3 = (v: number): number => Math.round(v * 1000) / 1000;
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)]!;
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

interface Shape {
  lookback: number;
  res: number;
  features: readonly string[];
}

/** Windows of `names` ending at step `last` (a smooth daily pattern: naive has a value to score). */
function windowsAt(names: readonly string[], shape: Shape, last: number): Map<string, RecentWindow> {
  const { lookback: L, res, features } = shape;
  const nF = features.length;
  const windows = new Map<string, RecentWindow>();
  names.forEach((name, s) => {
    const past = new Float32Array(L * nF);
    for (let t = 0; t < L; t++) {
      const step = last - L + 1 + t;
      for (let f = 0; f < nF; f++) past[t * nF + f] = 40 + 15 * Math.sin((2 * Math.PI * step) / 24 + s + f);
    }
    windows.set(name, {
      input: { server: name, profile: null, past, pastStart: (last - L + 1) * res },
      profile: '',
      imputed: [],
      lastObservedStep: last,
      observedSteps: L,
    });
  });
  return windows;
}

/** (a) The fleet cycle with live scoring on vs off, on the same precomputed windows. */
async function overhead(n: number, cycles: number, registry: string, vocab: string[]) {
  const model = await loadModel(modelDir(registry, MODEL_ID));
  const shape: Shape = {
    lookback: model.encoders.lookback_steps,
    res: model.encoders.resolution_seconds,
    features: model.encoders.observed_features,
  };
  await model.release();
  const names = [...vocab, ...Array.from({ length: n - vocab.length }, (_, i) => `new-${i}`)].slice(0, n);
  const first = Math.floor(1_793_059_200 / shape.res);
  // built before timing: the metrics read is the same for both and not what is measured
  const snapshots = Array.from({ length: cycles + 3 }, (_, k) => windowsAt(names, shape, first + k));
  let k = 0;
  const service = new ForecastService({
    registry,
    windowFetcher: async () => {
      const windows = snapshots[Math.min(k, snapshots.length - 1)]!;
      return { windows, newestData: new Date((first + k + 1) * shape.res * 1000) };
    },
    refreshIntervalMs: 0,
    logger,
    defaultMetrics: false,
  });
  // One service, live scoring switched on and off cycle by cycle: two service instances differ by
  // a few per cent with live scoring off in both (measured), more than the effect measured here.
  // Each on-cycle brings every server a new step (the most scoring a cycle can have); an off-cycle
  // re-reads the same data and forecasts the whole fleet again, so the live state sees exactly the
  // steady state of a service whose every refresh brings each server one step.
  const live = service.live;
  const record = live.record.bind(live);
  const scoreCycle = live.scoreCycle.bind(live);
  const work = { ms: 0 };
  const setLive = (on: boolean): void => {
    live.record = on
      ? (s, results, windows) => {
          const t = performance.now();
          record(s, results, windows);
          work.ms += performance.now() - t;
        }
      : () => undefined;
    live.scoreCycle = on
      ? (snapshot, s) => {
          const t = performance.now();
          const points = scoreCycle(snapshot, s);
          work.ms += performance.now() - t;
          return points;
        }
      : () => 0;
  };
  const outcome = await service.start();
  if (outcome.result !== 'success') throw new Error(`service did not load: ${outcome.reason}`);
  const cycle = async (on: boolean): Promise<number> => {
    setLive(on);
    work.ms = 0;
    if (on) k++;
    const t0 = performance.now();
    await service.refresh();
    const fleet = await service.fleetForecast();
    const ms = performance.now() - t0;
    if (fleet.servers.length !== n) throw new Error(`fleet of ${fleet.servers.length}, expected ${n}`);
    return ms;
  };
  const onMs: number[] = [];
  const offMs: number[] = [];
  const workMs: number[] = [];
  await cycle(true);
  await cycle(false); // warm-up
  for (let i = 0; i < cycles; i++) {
    // alternate which goes first so drift on the machine hits both alike
    const order = i % 2 === 0 ? [true, false] : [false, true];
    for (const on of order) {
      const ms = await cycle(on);
      if (on) {
        onMs.push(ms);
        workMs.push(work.ms);
      } else offMs.push(ms);
    }
  }
  const summary = live.summary()[0];
  await service.close();
  const row = {
    servers: n,
    cycles,
    cycle_ms_p50_live_off: r3(median(offMs)),
    cycle_ms_p50_live_on: r3(median(onMs)),
    ratio_on_vs_off: r3(median(onMs) / median(offMs)),
    live_work_ms_p50: r3(median(workMs)),
    /** (off cycle + live work) / off cycle: the overhead from the live work alone. */
    ratio_with_live_work: r3((median(offMs) + median(workMs)) / median(offMs)),
    scored_points: summary?.scored_points ?? 0,
  };
  progress(`(a) ${JSON.stringify(row)}`);
  return row;
}

/** (b) Kept forecasts and rolling sums of 10,000 servers at the full bound (maxOrigins origins each). */
async function memory(n: number, shape: LiveModelShape) {
  const size = shape.horizon_steps * shape.targets.length * shape.quantiles.length;
  const names = Array.from({ length: n }, (_, i) => `srv-${String(i).padStart(6, '0')}`);
  const first = Math.floor(1_793_059_200 / shape.resolution_seconds);
  gc();
  const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const live = new LiveAccuracy({ logger });
  const window: Shape = {
    lookback: 2 * 24 + shape.horizon_steps * 3,
    res: shape.resolution_seconds,
    features: shape.observed_features,
  };
  for (let origin = 0; origin < 3; origin++) {
    const startStep = first + origin * shape.horizon_steps;
    const results: ForecastResult[] = names.map((server, i) => ({
      server,
      known: true,
      serverIndex: i,
      start: startStep * shape.resolution_seconds,
      stepSeconds: shape.resolution_seconds,
      values: new Float32Array(size).fill(40),
    }));
    live.record(shape, results);
    // score the origin before last completely: per-server buckets fill as in steady state
    const last = startStep + shape.horizon_steps;
    live.score(
      {
        windows: windowsAt(names, window, last),
        newestData: new Date((last + 1) * shape.resolution_seconds * 1000),
      },
      shape,
    );
  }
  gc();
  const after = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const dir = await mkdtemp(join(tmpdir(), 'fleetcast-bench-live-'));
  const path = join(dir, 'live-accuracy.json');
  await live.save(path);
  const { size: bytes } = await import('node:fs/promises').then((fs) => fs.stat(path));
  await rm(dir, { recursive: true, force: true });
  const row = {
    servers: n,
    shape: `${shape.horizon_steps} steps × ${shape.targets.length} targets × ${shape.quantiles.length} quantiles`,
    gc_available: typeof (globalThis as { gc?: unknown }).gc === 'function',
    heap_delta_mb: r3((after - before) / 1e6),
    state_file_mb: r3(bytes / 1e6),
    scored_points: live.summary()[0]?.scored_points ?? 0,
  };
  progress(`(b) ${JSON.stringify(row)}`);
  // keep `live` alive until after the measurement
  if (row.scored_points < 0) progress(String(live.errors));
  return row;
}

const MODEL_ID = 'tft-20261201T000000Z-b0b0b0';

export async function run(args: string[]): Promise<void> {
  const { values: opt } = parseArgs({
    args,
    options: {
      scale: { type: 'string', default: '1000,10000' },
      cycles: { type: 'string', default: '31' },
      json: { type: 'boolean', default: false },
    },
  });
  const scales = String(opt.scale)
    .split(',')
    .map(Number)
    .filter((x) => x > 0);
  const cycles = Number(opt.cycles);
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function')
    progress(
      'no gc(): run with NODE_OPTIONS=--expose-gc for the heap figure (the command in BENCHMARKS.md does)',
    );
  const root = await mkdtemp(join(tmpdir(), 'fleetcast-bench-live-'));
  try {
    const registry = join(root, 'models-registry');
    const vocab = Array.from({ length: 50 }, (_, i) => `web-${String(i).padStart(4, '0')}`);
    await makeTinyModels(join(registry, 'models'), [
      {
        modelId: MODEL_ID,
        servers: vocab.map((name) => ({ name, profile: 'web' })),
        lookbackSteps: 48,
        horizonSteps: 6,
      },
    ]);
    await deploy(registry, MODEL_ID, 'bench');
    const b = await memory(10_000, {
      id: 'tft-20261201T000000Z-c0c0c0',
      targets: ['cpu_pct', 'mem_pct', 'latency_ms'],
      quantiles: [0.1, 0.5, 0.9],
      horizon_steps: 24,
      resolution_seconds: 300,
      observed_features: ['cpu_pct', 'mem_pct', 'latency_ms'],
    });
    // (b) first: the services of (a) leave native and worker memory that a later gc() releases
    const a: unknown[] = [];
    for (const n of scales) a.push(await overhead(n, cycles, registry, vocab));
    process.stdout.write(`${JSON.stringify({ a_overhead: a, b_memory_per_10000_servers: b }, null, 2)}\n`);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
