import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deploy } from '../../src/registry/pointer.js';
import { buildApp } from '../../src/service/http/app.js';
import { FleetForecast } from '../../src/service/serving/forecast-batch.js';
import type { ForecastService } from '../../src/service/serving/forecast-service.js';
import { assertSameForecastDocument } from '../helpers/forecast-document.js';
import { makeTinyModels } from '../helpers/tiny-model.js';
import { fleetOf, newService, removeDir, tempDir, watchRelease } from './fixtures.js';

const M1 = 'tft-20261001T000000Z-0a0a0a';
const M2 = 'tft-20261101T000000Z-0b0b0b';
const trained = fleetOf(8);
/** The live fleet: the trained servers plus two new ones the model has never seen. */
const live = [...trained, { name: 'new-0001', profile: 'web' }, { name: 'new-0002', profile: 'db' }];

async function streamedText(pieces: AsyncGenerator<string>): Promise<{ text: string; count: number }> {
  let text = '';
  let count = 0;
  for await (const piece of pieces) {
    text += piece;
    count++;
  }
  return { text, count };
}

describe('streamed fleet forecast (GET /forecast/fleet)', () => {
  let registry: string;
  let service: ForecastService;

  before(async () => {
    registry = await tempDir();
    // the models and the manifest know a server that sends no metrics: a "missing" entry too
    const manifest = [...trained, { name: 'gone-0001', profile: 'web' }];
    await makeTinyModels(join(registry, 'models'), [
      { modelId: M1, servers: manifest },
      { modelId: M2, servers: manifest, seed: 3 },
    ]);
    await deploy(registry, M1, 'first');
    service = newService(registry, () => live, { manifest: () => manifest.map((s) => ({ ...s })) });
    await service.start();
  });
  after(async () => {
    await service.close();
    await removeDir(registry);
  });

  it('is the same document as fleetForecast() at any chunk size', async () => {
    const expected = await service.fleetForecast();
    assert.deepEqual(expected.missing, [
      { server: 'gone-0001', reason: 'no recent metrics for this server' },
    ]);
    for (const chunkSize of [1, 3, 100]) {
      const { text, count } = await streamedText(await service.fleetForecastJson(chunkSize));
      assert.equal(count, 2 + Math.ceil((live.length + 1) / chunkSize), `pieces at chunk size ${chunkSize}`);
      const got = FleetForecast.parse(JSON.parse(text));
      assert.deepEqual(Object.keys(got), Object.keys(expected));
      // onnxruntime may round the last float32 bit differently for another batch size, which can
      // move a value by one unit of the 4 significant digits the service keeps
      assertSameForecastDocument({ ...got, generated_at: '' }, { ...expected, generated_at: '' });
    }
  });

  it('a consumer that stops early lets a swapped-out model go', async () => {
    const pieces = await service.fleetForecastJson(2);
    try {
      await pieces.next(); // head
      await pieces.next(); // first chunk: the generator holds its model lease
      const released = watchRelease(service.slot.current!);
      await deploy(registry, M2, 'swap during a stream');
      assert.equal((await service.reload('pointer')).result, 'success');
      assert.equal(released(), false, 'released under a running stream');
      await pieces.return(undefined);
      await new Promise((r) => setTimeout(r, 10));
      assert.equal(released(), true);
    } finally {
      await pieces.return(undefined); // a failed assertion must not leave the lease held
    }
  });

  it('answers 503 before streaming when no model is loaded', async () => {
    const empty = await tempDir();
    const idle = newService(empty, () => live);
    try {
      await idle.start();
      const app = buildApp({ service: idle });
      const res = await app.inject('/forecast/fleet');
      assert.equal(res.statusCode, 503);
      assert.match(res.json().message, /no model/);
      await app.close();
    } finally {
      await idle.close();
      await removeDir(empty);
    }
  });
});
