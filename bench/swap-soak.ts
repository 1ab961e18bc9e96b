// `npm run bench -- swap-soak [--swaps 200] [--servers 50] [--json]`
// Memory over many hot swaps: the service (default worker-thread model sessions) swaps between two
// small real ONNX models `--swaps` times while one client keeps requesting forecasts; RSS and the
// JS heap are sampled (after a GC) at the start and every 10 % of the swaps. A leak shows as RSS
// that keeps climbing; a healthy service levels off once the allocators have warmed up.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deploy } from '../src/registry/pointer.js';
import { buildApp } from '../src/service/http/app.js';
import { listen } from '../src/service/http/server.js';
import { makeTinyModels } from '../test/helpers/tiny-model.js';
import { fleetOf, newService } from '../test/service/fixtures.js';

interface Sample {
  swaps: number;
  rss_mb: number;
  heap_mb: number;
}

function sample(swaps: number): Sample {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { swaps, rss_mb: +(m.rss / 2 ** 20).toFixed(1), heap_mb: +(m.heapUsed / 2 ** 20).toFixed(1) };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      swaps: { type: 'string', default: '200' },
      servers: { type: 'string', default: '50' },
      json: { type: 'boolean' },
    },
  });
  const total = Number(values.swaps);
  const fleet = fleetOf(Number(values.servers));
  const ids = ['tft-20261001T000000Z-a1a1a1', 'tft-20261101T000000Z-b2b2b2'];
  const registry = await mkdtemp(join(tmpdir(), 'fleetcast-bench-soak-'));
  try {
    await makeTinyModels(join(registry, 'models'), [
      { modelId: ids[0]!, servers: fleet },
      { modelId: ids[1]!, servers: fleet, seed: 4 },
    ]);
    await deploy(registry, ids[0]!, 'soak start');
    const service = newService(registry, () => fleet, { manifest: () => fleet.map((s) => ({ ...s })) });
    await service.start();
    const server = await listen(buildApp({ service }), service, { host: '127.0.0.1', port: 0 });
    let stop = false;
    let requests = 0;
    let failed = 0;
    const client = (async () => {
      for (let i = 0; !stop; i++) {
        const res = await fetch(`${server.url}/predict/${fleet[i % fleet.length]!.name}`);
        await res.text();
        requests++;
        if (res.status !== 200) failed++;
      }
    })();
    const samples: Sample[] = [sample(0)];
    const started = Date.now();
    for (let i = 1; i <= total; i++) {
      await deploy(registry, ids[i % 2]!, `soak ${i}`);
      const outcome = await service.reload('pointer');
      if (outcome.result !== 'success') throw new Error(`swap ${i}: ${outcome.reason ?? outcome.result}`);
      if (i % Math.max(1, Math.floor(total / 10)) === 0) {
        samples.push(sample(i));
        process.stderr.write(`bench swap-soak: ${i}/${total} swaps, rss ${samples.at(-1)!.rss_mb} MB\n`);
      }
    }
    stop = true;
    await client;
    await server.close();
    await service.close();
    // Growth after warm-up: the first 10 % of swaps fill allocator pools and caches.
    const warm = samples[1] ?? samples[0]!;
    const last = samples.at(-1)!;
    const result = {
      swaps: total,
      servers: fleet.length,
      seconds: +((Date.now() - started) / 1000).toFixed(1),
      requests,
      failed_requests: failed,
      samples,
      rss_growth_after_warmup_mb: +(last.rss_mb - warm.rss_mb).toFixed(1),
      heap_growth_after_warmup_mb: +(last.heap_mb - warm.heap_mb).toFixed(1),
    };
    if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else
      process.stdout.write(
        `${total} swaps in ${result.seconds} s, ${requests} requests, ${failed} failed; RSS ${warm.rss_mb} → ${last.rss_mb} MB after warm-up (${result.rss_growth_after_warmup_mb} MB), heap ${warm.heap_mb} → ${last.heap_mb} MB\n`,
      );
  } finally {
    await rm(registry, { recursive: true, force: true });
  }
}
