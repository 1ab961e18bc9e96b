// `npm run bench -- candidate [--servers 400,1000] [--iterations N] [--json]`
// The cost of a forecast cycle with a shadow candidate vs without, measured in the same run: two
// services on the same windows and real ONNX models, one with a shadow candidate in its pointer.
// A cycle is what the service does per window load plus one whole-fleet forecast served: reload
// the windows, score live accuracy, (with the candidate: forecast the fleet with both models and
// score the comparison), then GET /forecast/fleet's work (fleetForecast()). Iterations alternate
// between the two services so drift in machine load hits both alike. JSON on stdout with --json.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../src/core/logger.js';
import { deploy, setCandidate } from '../src/registry/pointer.js';
import { ForecastService } from '../src/service/serving/forecast-service.js';
import type { WindowFetcher } from '../src/service/serving/window-cache.js';
import { makeTinyModels, tinyModelId } from '../test/helpers/tiny-model.js';
import { fleetOf, syntheticWindows } from '../test/service/fixtures.js';

const logger = createLogger('bench-candidate', process.env.FLEETCAST_LOG_LEVEL ?? 'silent');
const progress = (msg: string): void => void process.stderr.write(`bench candidate: ${msg}\n`);
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)]!;
const r2 = (v: number): number => Math.round(v * 100) / 100;

interface Row {
  servers: number;
  iterations: number;
  without_ms: number;
  with_shadow_ms: number;
  ratio: number;
  shared_points: number;
}

async function measure(n: number, iterations: number): Promise<Row> {
  const root = await mkdtemp(join(tmpdir(), 'fleetcast-bench-candidate-'));
  const servers = fleetOf(n);
  const clock = { end: Math.floor(Date.now() / 3_600_000) * 3600 - 30 * 86_400 };
  const fetcher: WindowFetcher = async (shape) => ({
    windows: syntheticWindows(servers, shape, clock.end),
    newestData: new Date(clock.end * 1000),
  });
  const services: ForecastService[] = [];
  try {
    const ids = [tinyModelId(), tinyModelId()] as const;
    const registries = [join(root, 'plain'), join(root, 'shadow')];
    for (const registry of registries)
      await makeTinyModels(join(registry, 'models'), [
        { modelId: ids[0], servers, seed: 1, lookbackSteps: 48, horizonSteps: 24 },
        { modelId: ids[1], servers, seed: 2, lookbackSteps: 48, horizonSteps: 24 },
      ]);
    for (const registry of registries) await deploy(registry, ids[0], 'bench');
    await setCandidate(registries[1]!, { modelId: ids[1], mode: 'shadow' });
    for (const registry of registries) {
      const service = new ForecastService({
        registry,
        windowFetcher: fetcher,
        refreshIntervalMs: 0,
        staleAfterMs: 365 * 86_400_000,
        logger,
        defaultMetrics: false,
      });
      services.push(service);
      await service.start();
      await service.candidate.settled();
    }
    const shadow = services[1]!;
    if (shadow.candidate.status()?.state !== 'active')
      throw new Error(
        `the shadow candidate did not load: ${shadow.candidate.status()?.error ?? 'no candidate'}`,
      );
    const cycle = async (service: ForecastService): Promise<number> => {
      const started = performance.now();
      await service.refresh();
      await service.fleetForecast();
      return performance.now() - started;
    };
    const times: [number[], number[]] = [[], []];
    for (let i = 0; i < iterations + 2; i++) {
      clock.end += 3600; // a new window load each cycle: forecasts meet actuals and get scored
      const order = i % 2 === 0 ? [0, 1] : [1, 0];
      for (const which of order) {
        const ms = await cycle(services[which]!);
        if (i >= 2) times[which as 0 | 1].push(ms); // two warm-up cycles
      }
    }
    const without = median(times[0]);
    const withShadow = median(times[1]);
    return {
      servers: n,
      iterations,
      without_ms: r2(without),
      with_shadow_ms: r2(withShadow),
      ratio: r2(withShadow / without),
      shared_points: shadow.candidate.status()?.comparison?.shared_points ?? 0,
    };
  } finally {
    for (const service of services) await service.close();
    await rm(root, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      servers: { type: 'string', default: '400,1000' },
      iterations: { type: 'string', default: '15' },
      json: { type: 'boolean', default: false },
    },
  });
  const sizes = values.servers.split(',').map(Number);
  const iterations = Number(values.iterations);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !(iterations >= 1))
    throw new Error('--servers must be positive integers and --iterations at least 1');
  const rows: Row[] = [];
  for (const n of sizes) {
    progress(`${n} servers, ${iterations} cycles each`);
    rows.push(await measure(n, iterations));
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ rows }, null, 2)}\n`);
    return;
  }
  process.stdout.write('servers  cycle without  cycle with shadow  ratio  shared points\n');
  for (const r of rows)
    process.stdout.write(
      `${String(r.servers).padStart(7)}  ${`${r.without_ms} ms`.padStart(13)}  ${`${r.with_shadow_ms} ms`.padStart(17)}  ${r.ratio.toFixed(2).padStart(5)}  ${String(r.shared_points).padStart(13)}\n`,
    );
}
