import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel } from '../../src/model/loaded-model.js';
import { deploy, readPointer, writePointer } from '../../src/registry/pointer.js';
import { modelDir } from '../../src/registry/layout.js';
import type { ForecastService } from '../../src/service/serving/forecast-service.js';
import { healthResponse, healthStatus } from '../../src/service/serving/health.js';
import { ModelWorkerPool } from '../../src/service/worker/pool.js';
import { makeTinyModels } from '../helpers/tiny-model.js';
import { corruptOnnx, fleetOf, newService, removeDir, tempDir, watchRelease } from './fixtures.js';

const GOOD_1 = 'tft-20261001T000000Z-111111';
const GOOD_2 = 'tft-20261101T000000Z-222222';
const NAN = 'tft-20261102T000000Z-333333';
const SHORT_VOCAB = 'tft-20261103T000000Z-444444';
const CORRUPT = 'tft-20261104T000000Z-555555';
const TAMPERED = 'tft-20261105T000000Z-666666';
const OLD_SHORT_VOCAB = 'tft-20260901T000000Z-777777';
const fleet = fleetOf(6);

/** Writes the pointer directly (deploy would refuse the broken models, the service must too). */
async function pointAt(registry: string, id: string, sha256?: string): Promise<void> {
  const before = await readPointer(registry);
  await writePointer(registry, {
    format_version: 1,
    model_id: id,
    sha256:
      sha256 ??
      (await import('../../src/registry/checksums.js')).sha256Text(
        await readFile(join(modelDir(registry, id), 'SHA256SUMS')),
      ),
    deployed_at: new Date().toISOString(),
    previous_model_id: before?.model_id ?? null,
    reason: 'test',
  });
}

describe('swap protocol with real ONNX models', () => {
  let registry: string;
  let service: ForecastService;

  before(async () => {
    registry = await tempDir();
    await makeTinyModels(join(registry, 'models'), [
      { modelId: GOOD_1, servers: fleet },
      { modelId: GOOD_2, servers: fleet, seed: 7 },
      { modelId: NAN, servers: fleet, nan: true },
      { modelId: SHORT_VOCAB, servers: fleet.slice(0, 5) },
      { modelId: CORRUPT, servers: fleet },
      { modelId: TAMPERED, servers: fleet },
      { modelId: OLD_SHORT_VOCAB, servers: fleet.slice(0, 4) },
    ]);
    await corruptOnnx(modelDir(registry, CORRUPT));
    await deploy(registry, GOOD_1, 'first');
    // Sessions on the main thread here (faster to start); the worker-thread loader, the default,
    // runs the same protocol in the crash test below and in live-server / dashboard / serve-git.
    service = newService(registry, () => fleet, {
      manifest: () => fleet.map((s) => ({ ...s })),
      loadModel: (dir, options) => loadModel(dir, options),
    });
    const outcome = await service.start();
    assert.equal(outcome.result, 'success', outcome.reason);
  });
  after(async () => {
    await service.close();
    await removeDir(registry);
  });

  it('serves the deployed model and reports ok', async () => {
    assert.equal(service.slot.current?.id, GOOD_1);
    assert.equal(healthStatus(service), 'ok');
    const batch = await service.predict([fleet[0]!.name]);
    assert.equal(batch.model_id, GOOD_1);
    assert.equal(batch.forecasts[0]!.known, true);
  });

  for (const [name, id, pattern] of [
    ['a NaN-output model', NAN, /non-finite forecast/],
    [
      'a vocabulary missing a manifest server',
      SHORT_VOCAB,
      /vocabulary lacks 1 manifest server\(s\): web-0006/,
    ],
    ['a corrupt ONNX file', CORRUPT, /onnxruntime cannot load it/],
  ] as const) {
    it(`keeps the old model serving on ${name}, and /health says why`, async () => {
      await pointAt(registry, id);
      const outcome = await service.reload('pointer');
      assert.equal(outcome.result, 'failure');
      assert.match(outcome.reason ?? '', pattern);
      assert.equal(service.slot.current?.id, GOOD_1);
      assert.equal(healthStatus(service), 'degraded');
      assert.match(String(healthResponse(service).reason), pattern);
      const batch = await service.predict([fleet[1]!.name]);
      assert.equal(batch.model_id, GOOD_1);
      assert.ok(batch.forecasts[0]!.forecast.cpu_pct!.p50!.every(Number.isFinite));
    });
  }

  it('refuses files that do not match SHA256SUMS, and a pointer digest that does not match', async () => {
    const file = join(modelDir(registry, TAMPERED), 'encoders.json');
    const original = await readFile(file, 'utf8');
    await pointAt(registry, TAMPERED);
    await writeFile(file, original.replace('"lookback_steps": 24', '"lookback_steps": 24 '));
    let outcome = await service.reload('pointer');
    assert.equal(outcome.result, 'failure');
    assert.match(outcome.reason ?? '', /encoders\.json: sha256 mismatch/);
    await writeFile(file, original);
    await pointAt(registry, TAMPERED, 'f'.repeat(64));
    outcome = await service.reload('pointer');
    assert.equal(outcome.result, 'failure');
    assert.match(outcome.reason ?? '', /does not match the pointer/);
    assert.equal(service.slot.current?.id, GOOD_1);
  });

  it('counts failed swaps and schedules a retry with backoff', () => {
    const health = healthResponse(service);
    assert.ok(health.failed_swaps >= 5);
    assert.ok(health.retry?.next_retry_at);
  });

  it('swaps to a good model, then back when the pointer is reverted', async () => {
    await deploy(registry, GOOD_2, 'retrained');
    let outcome = await service.reload('pointer');
    assert.equal(outcome.result, 'success', outcome.reason);
    assert.equal(service.slot.current?.id, GOOD_2);
    assert.equal(healthStatus(service), 'ok');
    assert.equal(healthResponse(service).reason, null);
    await deploy(registry, GOOD_1, 'revert');
    outcome = await service.reload('pointer');
    assert.equal(outcome.result, 'success');
    assert.equal(service.slot.current?.id, GOOD_1);
    assert.equal(healthResponse(service).last_swap?.from, GOOD_2);
  });

  it('a failed target recovers on retry once its files are fixed', async () => {
    const dir = modelDir(registry, TAMPERED);
    await pointAt(registry, TAMPERED);
    const file = join(dir, 'model.onnx');
    const original = await readFile(file);
    await writeFile(file, Buffer.concat([original, Buffer.from([0])]));
    const failed = await service.reload('pointer');
    assert.equal(failed.result, 'failure');
    await writeFile(file, original);
    // the retry timer (50 ms backoff in tests) loads it without any other trigger
    for (let i = 0; i < 100 && service.slot.current?.id !== TAMPERED; i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(service.slot.current?.id, TAMPERED);
    assert.equal(healthStatus(service), 'ok');
  });

  it('follows a rollback to an older model that lacks manifest servers, and stays degraded until covered', async () => {
    await deploy(registry, GOOD_2, 'retrained');
    assert.equal((await service.reload('pointer')).result, 'success');
    await pointAt(registry, OLD_SHORT_VOCAB);
    const outcome = await service.reload('pointer');
    assert.equal(outcome.result, 'success', outcome.reason);
    assert.equal(service.slot.current?.id, OLD_SHORT_VOCAB);
    assert.equal(healthStatus(service), 'degraded');
    assert.match(
      String(healthResponse(service).reason),
      /lacks 2 manifest server\(s\), forecast as unknown: web-0005, web-0006/,
    );
    const batch = await service.predict(['web-0006']);
    assert.equal(batch.forecasts[0]!.known, false);
    await deploy(registry, GOOD_1, 'roll forward');
    assert.equal((await service.reload('pointer')).result, 'success');
    assert.equal(healthStatus(service), 'ok');
  });

  it('concurrent triggers coalesce into one load', async () => {
    await deploy(registry, GOOD_2, 'coalesce');
    const loadsBefore = service.swap.loadCount;
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => service.reload('admin')));
    assert.ok(outcomes.every((o) => o.result !== 'failure'));
    assert.equal(service.slot.current?.id, GOOD_2);
    assert.equal(service.swap.loadCount - loadsBefore, 1);
  });

  it('releases the old session only after its in-flight request finishes', async () => {
    const lease = service.slot.acquire()!;
    const old = lease.model;
    const released = watchRelease(old);
    await deploy(registry, GOOD_1, 'swap under a lease');
    assert.equal((await service.reload('pointer')).result, 'success');
    assert.equal(released(), false, 'released while a request still used it');
    const { results } = await old.forecastEach([
      { server: fleet[0]!.name, past: new Float32Array(24 * 7).fill(5), pastStart: 0 },
    ]);
    assert.equal(results.length, 1);
    lease.done();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(released(), true);
  });
});

describe('startup without a usable model', () => {
  it('reports unavailable with a reason, then serves once a model is deployed', async () => {
    const registry = await tempDir();
    const service = newService(registry, () => fleet);
    try {
      const outcome = await service.start();
      assert.equal(outcome.result, 'failure');
      assert.equal(healthStatus(service), 'unavailable');
      assert.match(String(healthResponse(service).reason), /no model deployed/);
      await makeTinyModels(join(registry, 'models'), [{ modelId: GOOD_1, servers: fleet }]);
      await deploy(registry, GOOD_1, 'first');
      assert.equal((await service.reload('pointer')).result, 'success');
      assert.equal(healthStatus(service), 'ok');
    } finally {
      await service.close();
      await removeDir(registry);
    }
  });
});

describe('worker-thread models', () => {
  it('reports load failures from the worker, and reloads the model when its worker dies', async () => {
    const registry = await tempDir();
    const service = newService(registry, () => fleet);
    try {
      await makeTinyModels(join(registry, 'models'), [
        { modelId: GOOD_1, servers: fleet },
        { modelId: CORRUPT, servers: fleet },
      ]);
      await corruptOnnx(modelDir(registry, CORRUPT));
      await deploy(registry, GOOD_1, 'first');
      assert.equal((await service.start()).result, 'success');
      const model = service.slot.current!;
      const worker = (model as unknown as { worker: { terminate(): Promise<number> } }).worker;
      await worker.terminate();
      for (let i = 0; i < 200 && service.slot.current === model; i++)
        await new Promise((r) => setTimeout(r, 50));
      assert.notEqual(service.slot.current, model);
      assert.equal(service.slot.current?.id, GOOD_1);
      assert.equal(healthResponse(service).last_reload?.trigger, 'crash');
      const batch = await service.predict([fleet[0]!.name]);
      assert.equal(batch.forecasts.length, 1);

      await pointAt(registry, CORRUPT);
      const failed = await service.reload('pointer');
      assert.equal(failed.result, 'failure');
      assert.match(failed.reason ?? '', /onnxruntime cannot load it/);
      assert.equal(service.slot.current?.id, GOOD_1);
    } finally {
      await service.close();
      await removeDir(registry);
    }
  });
});

describe('model worker pool', () => {
  it('loads a new model beside the serving one and reuses the threads across swaps', async () => {
    const registry = await tempDir();
    const pool = new ModelWorkerPool(2);
    try {
      await makeTinyModels(join(registry, 'models'), [
        { modelId: GOOD_1, servers: fleet },
        { modelId: GOOD_2, servers: fleet, seed: 7 },
        { modelId: CORRUPT, servers: fleet },
      ]);
      await corruptOnnx(modelDir(registry, CORRUPT));
      const first = await pool.load(modelDir(registry, GOOD_1), {});
      const second = await pool.load(modelDir(registry, GOOD_2), {});
      const workerOf = (m: unknown) => (m as { worker: object }).worker;
      assert.notEqual(workerOf(second), workerOf(first), 'the new model must not share the serving thread');
      await first.release();
      // a load failure is an answer, not a dead thread: the worker serves the next model
      await assert.rejects(pool.load(modelDir(registry, CORRUPT), {}), /onnxruntime cannot load it/);
      const third = await pool.load(modelDir(registry, GOOD_1), {});
      assert.equal(workerOf(third), workerOf(first), 'the released model’s thread hosts the next one');
      const [a, b] = await Promise.all([
        second.forecastEach([syntheticInput(second)]),
        third.forecastEach([syntheticInput(third)]),
      ]);
      assert.ok(a.results[0]!.values.every(Number.isFinite) && b.results[0]!.values.every(Number.isFinite));
      assert.equal(third.alive, true);
    } finally {
      await pool.close();
      await removeDir(registry);
    }
  });

  it('a reload that arrives during shutdown loads nothing and starts no thread', async () => {
    const registry = await tempDir();
    const service = newService(registry, () => fleet);
    try {
      await makeTinyModels(join(registry, 'models'), [{ modelId: GOOD_1, servers: fleet }]);
      await deploy(registry, GOOD_1, 'first');
      assert.equal((await service.start()).result, 'success');
      await service.close();
      const loads = service.swap.loadCount;
      const late = await service.reload('git');
      assert.equal(late.result, 'failure');
      assert.match(String(late.reason), /shutting down/);
      assert.equal(service.swap.loadCount, loads);
      const pool = new ModelWorkerPool(2);
      await pool.close();
      await assert.rejects(pool.load(modelDir(registry, GOOD_1), {}), /worker pool is closed/);
    } finally {
      await removeDir(registry);
    }
  });
});

function syntheticInput(model: { encoders: { lookback_steps: number; observed_features: string[] } }) {
  const { lookback_steps: L, observed_features: f } = model.encoders;
  return {
    server: fleet[0]!.name,
    past: Float32Array.from({ length: L * f.length }, (_, i) => 20 + (i % 7)),
    pastStart: 1_793_059_200,
  };
}
