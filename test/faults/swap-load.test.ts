import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../src/model/loaded-model.js';
import { deploy, readPointer, writePointer } from '../../src/registry/pointer.js';
import { buildApp } from '../../src/service/http/app.js';
import { listen } from '../../src/service/http/server.js';
import { makeTinyModels } from '../helpers/tiny-model.js';
import { fleetOf, newService, removeDir, tempDir } from '../service/fixtures.js';

/**
 * Fault suite, group "swap under load": while four clients send bounded requests to a listening
 * server, the pointer moves 20 times between two good models, and 5 times to a model whose
 * forecasts are NaN (refused). Not one request fails, every answer names a good model, and the NaN
 * model never answers. The figures are printed as a test diagnostic and recorded in
 * docs/reliability.md.
 */
const GOOD = ['tft-20261001T000000Z-c1c1c1', 'tft-20261101T000000Z-c2c2c2'];
const NAN = 'tft-20261102T000000Z-c3c3c3';
const fleet = fleetOf(20);
const SWAPS = 20;

describe('faults: swaps under load', () => {
  let registry: string;
  before(async () => {
    registry = await tempDir('fleetcast-faults-swap-');
    await makeTinyModels(join(registry, 'models'), [
      { modelId: GOOD[0], servers: fleet },
      { modelId: GOOD[1], servers: fleet, seed: 4 },
      { modelId: NAN, servers: fleet, nan: true },
    ]);
    await deploy(registry, GOOD[0]!, 'start');
  });
  after(() => removeDir(registry));

  it(`swap | ${SWAPS} swaps and 5 refused NaN swaps under 4 request loops → 0 failed requests, no NaN served`, async (t) => {
    const service = newService(registry, () => fleet, {
      manifest: () => fleet.map((s) => ({ ...s })),
      loadModel: (dir, options) => loadModel(dir, options),
    });
    await service.start();
    const server = await listen(buildApp({ service }), service, { host: '127.0.0.1', port: 0 });
    let stop = false;
    let requests = 0;
    const failures: string[] = [];
    const seen = new Map<string, number>();
    const client = async (c: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const name = fleet[(c * 7 + i) % fleet.length]!.name;
        try {
          const res =
            i % 2 === 0
              ? await fetch(`${server.url}/predict/${name}`, { signal: AbortSignal.timeout(5000) })
              : await fetch(`${server.url}/predict`, {
                  method: 'POST',
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify({ servers: [name, fleet[0]!.name] }),
                  signal: AbortSignal.timeout(5000),
                });
          const text = await res.text();
          requests++;
          if (res.status !== 200) failures.push(`${res.status} ${text.slice(0, 200)}`);
          else {
            const body = JSON.parse(text) as { model_id: string };
            if (/null|NaN/.test(text.replace(/"[a-z_]+":null/g, '')))
              failures.push(`non-finite in ${text.slice(0, 200)}`);
            seen.set(body.model_id, (seen.get(body.model_id) ?? 0) + 1);
          }
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const started = Date.now();
    const clients = Array.from({ length: 4 }, (_, c) => client(c));
    let swaps = 0;
    let refused = 0;
    try {
      for (let i = 0; i < SWAPS; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const want = GOOD[(i + 1) % 2]!;
        await deploy(registry, want, `load swap ${i}`);
        const outcome = await service.reload('pointer');
        assert.equal(outcome.result, 'success', outcome.reason);
        assert.equal(service.slot.current?.id, want);
        swaps++;
        if (i % 4 === 3) {
          const before = await readPointer(registry);
          await writePointer(registry, {
            ...before!,
            model_id: NAN,
            sha256: await sumsDigest(registry, NAN),
          });
          const bad = await service.reload('pointer');
          assert.equal(bad.result, 'failure');
          assert.equal(service.slot.current?.id, want, 'the NaN model was swapped in');
          refused++;
          await writePointer(registry, before!);
          await service.reload('pointer');
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      stop = true;
      await Promise.all(clients);
      await server.close();
      await service.close();
    }
    const seconds = (Date.now() - started) / 1000;
    t.diagnostic(
      `load: ${requests} requests, ${failures.length} failed, ${swaps} swaps, ${refused} refused NaN swaps, ${seconds.toFixed(1)} s`,
    );
    assert.deepEqual(failures, []);
    assert.equal(swaps, SWAPS);
    assert.equal(refused, 5);
    assert.ok(requests >= 100, `only ${requests} requests`);
    assert.deepEqual([...seen.keys()].sort(), [...GOOD].sort());
    assert.ok(!seen.has(NAN));
  });
});

async function sumsDigest(registry: string, id: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const { sha256Text } = await import('../../src/registry/checksums.js');
  return sha256Text(await readFile(join(registry, 'models', id, 'SHA256SUMS')));
}
