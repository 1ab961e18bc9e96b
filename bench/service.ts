// `npm run bench -- service [--model-dir DIR] [--metrics SRC] [--iterations N] [--phase-seconds S] [--scale 1000,10000]` (JSON on stdout, progress on stderr)
// (a) whole-fleet forecast through the HTTP service vs raw session.run on the same batch, and vs
//     PyTorch eager on the same architecture and batch;
// (b) hot swaps under load: errors, p50/p99 steady vs during swaps, event-loop delay;
// (c) scaling to more servers: latency and memory.
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Tensor } from 'onnxruntime-node';
import { openMetricsSource } from '../src/metrics/source.js';
import { loadModel, type ForecastInput, type LoadedModel } from '../src/model/loaded-model.js';
import type { RecentWindow } from '../src/features/windows.js';
import { CHECKSUMS_FILE, computeChecksums, renderChecksums } from '../src/registry/checksums.js';
import { modelDir, pointerPath } from '../src/registry/layout.js';
import { deploy } from '../src/registry/pointer.js';
import { buildApp } from '../src/service/http/app.js';
import { metricsWindowFetcher } from '../src/service/serving/metrics-windows.js';
import { PointerWatcher } from '../src/service/follow/pointer-watch.js';
import { listen } from '../src/service/http/server.js';
import { ForecastService } from '../src/service/serving/forecast-service.js';
import type { WindowFetcher } from '../src/service/serving/window-cache.js';
import { createLogger } from '../src/core/logger.js';
import { resolvePython } from '../src/core/python.js';
import { makeTinyModels } from '../test/helpers/tiny-model.js';

const logger = createLogger('bench-service', process.env.FLEETCAST_LOG_LEVEL ?? 'silent');
const progress = (msg: string): void => void process.stderr.write(`bench service: ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] ?? Number.NaN;
}
const median = (v: number[]): number => quantile(v, 0.5);
const r2 = (v: number): number => Math.round(v * 100) / 100;

/** Copies a model directory under a new id (a stand-in for a retrain), re-summing its files. */
async function copyModelAs(src: string, registry: string, id: string): Promise<void> {
  const dest = modelDir(registry, id);
  await cp(src, dest, { recursive: true });
  for (const name of ['encoders.json', 'training_info.json', 'validation.json']) {
    const path = join(dest, name);
    const json = JSON.parse(await readFile(path, 'utf8').catch(() => 'null')) as Record<
      string,
      unknown
    > | null;
    if (json && typeof json === 'object' && 'model_id' in json) {
      json.model_id = id;
      await writeFile(path, `${JSON.stringify(json, null, 2)}\n`);
    }
  }
  await writeFile(join(dest, CHECKSUMS_FILE), renderChecksums(await computeChecksums(dest)));
}

function syntheticWindows(
  names: readonly string[],
  model: LoadedModel,
  end = 1_793_059_200,
): Map<string, RecentWindow> {
  const { lookback_steps: L, resolution_seconds: res, observed_features } = model.encoders;
  const nF = observed_features.length;
  const last = Math.floor(end / res) - 1;
  const windows = new Map<string, RecentWindow>();
  names.forEach((name, s) => {
    const past = new Float32Array(L * nF);
    for (let t = 0; t < L; t++)
      for (let f = 0; f < nF; f++) past[t * nF + f] = 30 + 15 * Math.sin((t + s) / 8 + f) + f;
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

type LoaderKind = 'worker' | 'main';

async function startService(registry: string, fetcher: WindowFetcher, loader: LoaderKind = 'worker') {
  const service = new ForecastService({
    registry,
    windowFetcher: fetcher,
    refreshIntervalMs: 0,
    logger,
    defaultMetrics: false,
    ...(loader === 'main'
      ? { loadModel: (dir: string, o: { expectedDigest?: string }) => loadModel(dir, o) }
      : {}),
  });
  const outcome = await service.start();
  if (outcome.result !== 'success') throw new Error(`service did not load the model: ${outcome.reason}`);
  const server = await listen(buildApp({ service, bodyLimit: 4 * 1024 * 1024 }), service, {
    host: '127.0.0.1',
    port: 0,
  });
  return { service, server };
}

async function timeFleet(url: string): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/forecast/fleet`);
  const body = await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`/forecast/fleet: HTTP ${res.status}`);
  return { ms: performance.now() - t0, bytes: body.byteLength };
}

async function timeRaw(model: LoadedModel, feeds: Record<string, Tensor>): Promise<number> {
  const t0 = performance.now();
  await model.runFeeds(feeds);
  return performance.now() - t0;
}

export async function run(args: string[]): Promise<void> {
  const { values: opt } = parseArgs({
    args,
    options: {
      'model-dir': { type: 'string' },
      metrics: { type: 'string' },
      iterations: { type: 'string', default: '40' },
      scale: { type: 'string', default: '1000,10000' },
      'phase-seconds': { type: 'string', default: '12' },
    },
  });
  const iterations = Number(opt.iterations);
  const phaseMs = Number(opt['phase-seconds']) * 1000;
  const work = await mkdtemp(join(tmpdir(), 'fleetcast-bench-service-'));
  const registry = join(work, 'registry');
  const results: Record<string, unknown> = {};
  try {
    // ---- models: a trained model (copied twice) or two tiny fixture models of realistic shape
    const ids = ['tft-20261101T000000Z-b00001', 'tft-20261102T000000Z-b00002'];
    let kind: 'tft' | 'tiny';
    if (opt['model-dir']) {
      kind = 'tft';
      await mkdir(join(registry, 'models'), { recursive: true });
      for (const id of ids) await copyModelAs(opt['model-dir'], registry, id);
    } else {
      kind = 'tiny';
      const servers = Array.from({ length: 400 }, (_, i) => ({
        name: `web-${String(i + 1).padStart(4, '0')}`,
        profile: 'web',
      }));
      await makeTinyModels(
        join(registry, 'models'),
        ids.map((modelId, seed) => ({
          modelId,
          servers,
          seed,
          resolutionSeconds: 900,
          lookbackSteps: 96,
          horizonSteps: 24,
        })),
      );
    }
    await deploy(registry, ids[0]!, 'bench');
    const raw = await loadModel(modelDir(registry, ids[0]!));
    const vocab = [...raw.vocabulary].sort();
    const windowsFor400 = opt.metrics
      ? (await metricsWindowFetcher(openMetricsSource(opt.metrics))(raw.encoders)).windows
      : syntheticWindows(vocab, raw);
    const fleetNames = [...windowsFor400.keys()].sort().slice(0, 400);
    progress(
      `model ${kind} (${opt['model-dir'] ?? 'test/fixtures/tiny_model.py'}), ${fleetNames.length} servers, lookback ${raw.encoders.lookback_steps}, horizon ${raw.encoders.horizon_steps}`,
    );
    results.model = {
      kind,
      source: opt['model-dir'] ?? 'tiny fixture',
      lookback: raw.encoders.lookback_steps,
      horizon: raw.encoders.horizon_steps,
      servers: fleetNames.length,
    };

    // ---- (a) fleet forecast via HTTP vs raw session.run vs PyTorch eager
    const fleetWindows = new Map(fleetNames.map((n) => [n, windowsFor400.get(n)!]));
    const fleetFetcher: WindowFetcher = async () => ({ windows: fleetWindows, newestData: new Date() });
    const { service, server } = await startService(registry, fleetFetcher, 'worker');
    const main = await startService(registry, fleetFetcher, 'main');
    const inputs: ForecastInput[] = fleetNames.map((n) => fleetWindows.get(n)!.input);
    const feeds = raw.buildFeeds(inputs);
    for (let i = 0; i < 5; i++) {
      await timeRaw(raw, feeds);
      await timeFleet(server.url);
      await timeFleet(main.server.url);
    }
    const rawMs: number[] = [];
    const httpMs: number[] = [];
    const mainMs: number[] = [];
    let bytes = 0;
    for (let i = 0; i < iterations; i++) {
      rawMs.push(await timeRaw(raw, feeds));
      const t = await timeFleet(server.url);
      httpMs.push(t.ms);
      bytes = t.bytes;
      mainMs.push((await timeFleet(main.server.url)).ms);
    }
    const feedsDir = join(work, 'feeds');
    await mkdir(feedsDir);
    for (const [name, tensor] of Object.entries(feeds)) {
      const data = tensor.data as Float32Array | Int32Array;
      await writeFile(
        join(feedsDir, `${name}.bin`),
        Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      );
    }
    const info =
      kind === 'tft'
        ? (JSON.parse(
            await readFile(join(modelDir(registry, ids[0]!), 'training_info.json'), 'utf8'),
          ) as Record<string, unknown>)
        : {};
    const spec = {
      kind,
      feeds_dir: feedsDir,
      batch: inputs.length,
      lookback: raw.encoders.lookback_steps,
      horizon: raw.encoders.horizon_steps,
      n_observed: raw.encoders.observed_features.length,
      n_known: raw.encoders.known_features.length,
      observed_features: raw.encoders.observed_features,
      iterations: Math.max(10, Math.floor(iterations / 2)),
      num_servers: raw.encoders.server_id.num_embeddings,
      num_profiles: Object.keys(raw.encoders.profile.classes).length + 1,
      threads: 0,
      profile: (info.hyperparameters ?? info.profile_settings ?? {}) as Record<string, unknown>,
      trainer_dir: fileURLToPath(new URL('../trainer/', import.meta.url)),
      fixture_dir: fileURLToPath(new URL('../test/fixtures/', import.meta.url)),
    };
    progress('PyTorch eager on the same batch');
    const py = spawnSync(resolvePython(), [fileURLToPath(new URL('./service_eager.py', import.meta.url))], {
      input: JSON.stringify(spec),
      encoding: 'utf8',
    });
    let eager: { median_ms: number; p90_ms: number; threads: number; torch: string } | { error: string };
    try {
      eager = JSON.parse(py.stdout.trim().split('\n').at(-1) ?? '') as {
        median_ms: number;
        p90_ms: number;
        threads: number;
        torch: string;
      };
    } catch {
      eager = { error: `service_eager.py failed (${py.status}): ${py.stderr.slice(-800)}` };
    }
    const a = {
      servers: inputs.length,
      raw_session_run_ms: { p50: r2(median(rawMs)), p90: r2(quantile(rawMs, 0.9)) },
      http_fleet_ms: { p50: r2(median(httpMs)), p90: r2(quantile(httpMs, 0.9)) },
      ratio_http_vs_raw: r2(median(httpMs) / median(rawMs)),
      http_fleet_main_thread_model_ms: { p50: r2(median(mainMs)), p90: r2(quantile(mainMs, 0.9)) },
      ratio_http_main_thread_model_vs_raw: r2(median(mainMs) / median(rawMs)),
      response_bytes: bytes,
      pytorch_eager_ms:
        'median_ms' in eager
          ? { p50: r2(eager.median_ms), p90: r2(eager.p90_ms), threads: eager.threads, torch: eager.torch }
          : eager,
      ratio_http_vs_eager: 'median_ms' in eager ? r2(median(httpMs) / eager.median_ms) : null,
      ratio_raw_vs_eager: 'median_ms' in eager ? r2(median(rawMs) / eager.median_ms) : null,
    };
    results.a_fleet_forecast = a;
    progress(`(a) ${JSON.stringify(a)}`);

    // ---- (b) hot swaps under load, for the default (worker-thread) model and a main-thread model
    const hotSwap = async (svc: ForecastService, url: string) => {
      const watcher = new PointerWatcher(pointerPath(registry), () => void svc.reload('pointer'), {
        pollMs: 250,
      });
      await watcher.start();
      const loop = monitorEventLoopDelay({ resolution: 10 });
      type Sample = { ms: number; ok: boolean };
      let phase: Sample[] = [];
      let stop = false;
      const client = async (c: number): Promise<void> => {
        for (let i = c; !stop; i += 7) {
          const t0 = performance.now();
          let ok = false;
          try {
            const res = await fetch(`${url}/predict/${fleetNames[i % fleetNames.length]}`);
            await res.arrayBuffer();
            ok = res.status === 200;
          } catch {
            ok = false;
          }
          phase.push({ ms: performance.now() - t0, ok });
        }
      };
      const clients = Array.from({ length: 4 }, (_, c) => client(c));
      await sleep(1000);
      let next = 0;
      const measure = async (swapEveryMs: number | null) => {
        phase = [];
        loop.reset();
        loop.enable();
        const swaps: number[] = [];
        const end = Date.now() + phaseMs;
        while (Date.now() < end) {
          if (swapEveryMs !== null) {
            const target = ids[++next % 2]!;
            await deploy(registry, target, `bench swap ${next}`);
            const t0 = Date.now();
            while (svc.slot.current?.id !== target && Date.now() - t0 < 30_000) await sleep(10);
            const last = svc.swap.lastSwap;
            if (last?.to === target) swaps.push(last.durationMs);
            await sleep(Math.max(0, swapEveryMs - (Date.now() - t0)));
          } else await sleep(100);
        }
        loop.disable();
        const samples = phase;
        const ms = samples.map((x) => x.ms);
        return {
          requests: samples.length,
          errors: samples.filter((x) => !x.ok).length,
          p50_ms: r2(median(ms)),
          p99_ms: r2(quantile(ms, 0.99)),
          max_ms: r2(Math.max(...ms)),
          event_loop_delay_ms: {
            p50: r2(loop.percentile(50) / 1e6),
            p99: r2(loop.percentile(99) / 1e6),
            max: r2(loop.max / 1e6),
          },
          ...(swapEveryMs !== null ? { swaps: swaps.length, swap_duration_ms_p50: r2(median(swaps)) } : {}),
        };
      };
      const steady = await measure(null);
      const during = await measure(2000);
      stop = true;
      await Promise.all(clients);
      await watcher.stop();
      // back to the first model for the next run
      await deploy(registry, ids[0]!, 'bench reset');
      await svc.reload('pointer');
      return {
        clients: 4,
        phase_seconds: phaseMs / 1000,
        steady,
        during_swaps: during,
        p99_ratio: r2(during.p99_ms / steady.p99_ms),
      };
    };
    await main.server.close();
    progress('(b) worker-thread model: steady, then a swap every 2 s');
    const bWorker = await hotSwap(service, server.url);
    progress(`(b) worker ${JSON.stringify(bWorker)}`);
    await server.close();
    const mainB = await startService(registry, fleetFetcher, 'main');
    progress('(b) main-thread model: steady, then a swap every 2 s');
    const bMain = await hotSwap(mainB.service, mainB.server.url);
    progress(`(b) main ${JSON.stringify(bMain)}`);
    await mainB.server.close();
    results.b_hot_swap = { worker_thread_model: bWorker, main_thread_model: bMain };

    // ---- (c) scaling: N servers (the vocabulary's, then new ones through the unknown index)
    const scale: unknown[] = [];
    for (const n of String(opt.scale)
      .split(',')
      .map(Number)
      .filter((x) => x > 0)) {
      const names = [
        ...vocab,
        ...Array.from(
          { length: Math.max(0, n - vocab.length) },
          (_, i) => `new-${String(i + 1).padStart(6, '0')}`,
        ),
      ].slice(0, n);
      const windows = syntheticWindows(names, raw);
      const before = process.memoryUsage();
      const s = await startService(registry, async () => ({ windows, newestData: new Date() }));
      const feedsN = raw.buildFeeds(names.map((nm) => windows.get(nm)!.input));
      const reps = n >= 5000 ? 3 : 8;
      await timeFleet(s.server.url);
      const h: number[] = [];
      const rr: number[] = [];
      let size = 0;
      for (let i = 0; i < reps; i++) {
        rr.push(await timeRaw(raw, feedsN));
        const t = await timeFleet(s.server.url);
        h.push(t.ms);
        size = t.bytes;
      }
      const after = process.memoryUsage();
      const row = {
        servers: n,
        http_fleet_ms_p50: r2(median(h)),
        raw_session_run_ms_p50: r2(median(rr)),
        ratio: r2(median(h) / median(rr)),
        response_mb: r2(size / 1e6),
        rss_mb: r2(after.rss / 1e6),
        heap_used_mb: r2(after.heapUsed / 1e6),
        rss_growth_mb: r2((after.rss - before.rss) / 1e6),
      };
      scale.push(row);
      progress(`(c) ${JSON.stringify(row)}`);
      await s.server.close();
    }
    results.c_scaling = scale;
    await raw.release();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}
