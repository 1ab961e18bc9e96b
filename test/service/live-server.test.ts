import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel, type LoadedModel } from '../../src/model/loaded-model.js';
import { pointerPath } from '../../src/registry/layout.js';
import { deploy } from '../../src/registry/pointer.js';
import { buildApp } from '../../src/service/http/app.js';
import { PointerWatcher } from '../../src/service/follow/pointer-watch.js';
import { listen, type RunningServer } from '../../src/service/http/server.js';
import type { ForecastService } from '../../src/service/serving/forecast-service.js';
import type { ForecastInput, ForecastOutcomes, ModelLoader } from '../../src/service/serving-model.js';
import { makeTinyModels } from '../helpers/tiny-model.js';
import { fleetOf, newService, removeDir, tempDir } from './fixtures.js';

const M1 = 'tft-20261001T000000Z-a1a1a1';
const M2 = 'tft-20261101T000000Z-b2b2b2';
const fleet = fleetOf(40);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Loads real models whose forecast/release go through the given hooks (delays, failures, counts). */
function wrappingLoader(hooks: {
  forecast: (model: LoadedModel, inputs: readonly ForecastInput[]) => Promise<ForecastOutcomes>;
  release?: (model: LoadedModel) => Promise<void>;
}): ModelLoader {
  return async (dir, options) => {
    const model = await loadModel(dir, options);
    return {
      id: model.id,
      dir: model.dir,
      digest: model.digest,
      encoders: model.encoders,
      vocabulary: model.vocabulary,
      forecastEach: (inputs) => hooks.forecast(model, inputs),
      release: () => (hooks.release ? hooks.release(model) : model.release()),
    };
  };
}

describe('real listening server', () => {
  let registry: string;

  before(async () => {
    registry = await tempDir();
    await makeTinyModels(join(registry, 'models'), [
      { modelId: M1, servers: fleet },
      { modelId: M2, servers: fleet, seed: 5 },
    ]);
  });
  after(() => removeDir(registry));

  it('hot swaps during continuous load from concurrent clients: zero failed requests', async () => {
    await deploy(registry, M1, 'start');
    const service = newService(registry, () => fleet);
    await service.start();
    const server = await listen(buildApp({ service }), service, { host: '127.0.0.1', port: 0 });
    const watcher = new PointerWatcher(pointerPath(registry), () => void service.reload('pointer'), {
      pollMs: 100,
      debounceMs: 20,
    });
    await watcher.start();
    let stop = false;
    const failures: string[] = [];
    const seen = new Set<string>();
    let requests = 0;
    const client = async (c: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const kind = (c + i) % 3;
        try {
          const res =
            kind === 0
              ? await fetch(`${server.url}/predict/${fleet[i % fleet.length]!.name}`)
              : kind === 1
                ? await fetch(`${server.url}/predict`, {
                    method: 'POST',
                    headers: { 'content-type': 'application/json' },
                    body: JSON.stringify({ servers: fleet.slice(0, 10).map((s) => s.name) }),
                  })
                : await fetch(`${server.url}/forecast/fleet`);
          const body = (await res.json()) as { model_id?: string; message?: string };
          requests++;
          if (res.status !== 200) failures.push(`${res.status} ${body.message}`);
          else seen.add(body.model_id!);
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const clients = Array.from({ length: 6 }, (_, c) => client(c));
    const swapsBefore = service.swap.lastSwap;
    try {
      for (let i = 0; i < 4; i++) {
        await sleep(150);
        await deploy(registry, i % 2 === 0 ? M2 : M1, `swap ${i}`);
        const want = i % 2 === 0 ? M2 : M1;
        // worker-thread loads take seconds on a busy machine
        for (let t = 0; t < 600 && service.slot.current?.id !== want; t++) await sleep(50);
        assert.equal(service.slot.current?.id, want, `swap ${i} did not happen`);
      }
      await sleep(150);
    } finally {
      stop = true; // the clients must end even when an assertion above fails
      await Promise.all(clients);
      await watcher.stop();
      await server.close();
    }
    assert.deepEqual(failures, []);
    assert.ok(requests > 50, `only ${requests} requests`);
    assert.deepEqual([...seen].sort(), [M1, M2]);
    assert.notEqual(service.swap.lastSwap, swapsBefore);
    assert.equal(service.slot.current, null, 'models are released on close');
  });

  it('a model failure in the middle of a streamed fleet response aborts the response', async () => {
    await deploy(registry, M1, 'stream failure test');
    let armed = false;
    let calls = 0;
    const failSecondChunk = wrappingLoader({
      forecast: async (model, inputs) => {
        if (armed && ++calls === 2) throw new Error('session.run failed');
        return model.forecastEach(inputs);
      },
    });
    const service = newService(registry, () => fleet, { loadModel: failSecondChunk, fleetChunkSize: 2 });
    await service.start();
    armed = true; // after the swap's warm-up forecasts
    const server = await listen(buildApp({ service }), service, { host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`${server.url}/forecast/fleet`);
      assert.equal(res.status, 200, 'the head went out before the failing chunk');
      // the connection is cut: a client cannot mistake the first chunk for the whole fleet
      await assert.rejects(res.text());
      assert.equal(calls >= 2, true);
      armed = false;
      const again = await fetch(`${server.url}/forecast/fleet`);
      const body = (await again.json()) as { servers: unknown[] };
      assert.equal(body.servers.length, fleet.length, 'the next request is whole again');
    } finally {
      await server.close();
      await service.close();
    }
  });

  it('graceful shutdown lets in-flight requests finish, then refuses new ones', async () => {
    await deploy(registry, M1, 'shutdown test');
    let releases = 0;
    const slowLoader = wrappingLoader({
      forecast: async (model, inputs) => {
        const outcomes = await model.forecastEach(inputs);
        await sleep(inputs.length === 1 ? 600 : 0);
        return outcomes;
      },
      release: async (model) => {
        releases++;
        await model.release();
      },
    });
    const service: ForecastService = newService(registry, () => fleet, { loadModel: slowLoader });
    await service.start();
    const server: RunningServer = await listen(buildApp({ service }), service, {
      host: '127.0.0.1',
      port: 0,
    });
    const inFlight = Promise.all(
      Array.from({ length: 3 }, (_, i) =>
        fetch(`${server.url}/predict/${fleet[i]!.name}`).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as { forecast?: unknown },
        })),
      ),
    );
    await sleep(150);
    const closing = server.close();
    await sleep(50);
    await assert.rejects(fetch(`${server.url}/health`), 'a new connection after close must be refused');
    assert.equal(releases, 0, 'the model must not be released before in-flight requests finish');
    const results = await inFlight;
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 200],
    );
    assert.ok(results.every((r) => r.body.forecast));
    await closing;
    assert.equal(releases, 1);
  });

  it('cuts a client that sends its headers too slowly, on time (10 s by default)', async () => {
    await deploy(registry, M1, 'slow headers');
    const service = newService(registry, () => fleet);
    await service.start();
    const defaults = buildApp({ service });
    await listen(defaults, service, { host: '127.0.0.1', port: 0 });
    assert.deepEqual(
      [defaults.server.headersTimeout, defaults.server.requestTimeout, defaults.server.keepAliveTimeout],
      [10_000, 30_000, 72_000],
    );
    await defaults.close();
    const app = buildApp({ service });
    const server = await listen(app, service, { host: '127.0.0.1', port: 0, headersTimeoutMs: 500 });
    try {
      const socket = connect(server.port, '127.0.0.1');
      const started = Date.now();
      const closed = new Promise<number>((resolve) =>
        socket.on('close', () => resolve(Date.now() - started)),
      );
      socket.on('error', () => undefined);
      socket.write('GET /health HTTP/1.1\r\nHost: x\r\n');
      // one header byte every 200 ms: never complete, never idle
      const drip = setInterval(() => socket.write('x'), 200);
      const elapsed = await Promise.race([closed, sleep(6000).then(() => -1)]);
      clearInterval(drip);
      socket.destroy();
      assert.ok(elapsed > 0, 'the slow client was still connected after 6 s');
      assert.ok(elapsed < 3000, `cut after ${elapsed} ms, limit 500 ms`);
    } finally {
      await server.close();
    }
  });
});
