import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FleetcastError } from '../../src/core/errors.js';
import { openPinnedModel } from '../../src/registry/pinned-model.js';
import { deploy } from '../../src/registry/pointer.js';
import { writeModelDir } from '../../src/registry/write-model.js';
import { sampleModelJson } from './fixtures/model-files.js';

describe('the pinned (deployed) model, file by file', () => {
  let registry: string;
  const id = 'tft-20261101T000000Z-aaaaaa';
  before(async () => {
    registry = await mkdtemp(join(tmpdir(), 'fleetcast-pinned-'));
    const onnx = join(registry, 'graph.onnx');
    await writeFile(onnx, Buffer.from([8, 7, 1, 2, 3]));
    await writeModelDir(registry, id, {
      json: sampleModelJson(id, { 'web-01': 1 }),
      copies: { 'model.onnx': onnx },
    });
  });
  after(async () => rm(registry, { recursive: true, force: true }));

  it('is null before anything is deployed', async () => {
    assert.equal(await openPinnedModel(registry), null);
  });

  it('reads listed files verified, and refuses unlisted or changed ones', async () => {
    await deploy(registry, id, 'test');
    const model = await openPinnedModel(registry);
    assert.ok(model !== null);
    assert.equal(model.pointer.model_id, id);
    assert.ok(model.lists('encoders.json'));
    assert.equal(JSON.parse(await model.readVerified('encoders.json')).model_id, id);
    await assert.rejects(model.readVerified('extra.json'), /extra\.json: not listed in SHA256SUMS/);
    await writeFile(join(model.dir, 'encoders.json'), '{}');
    await assert.rejects(
      model.readVerified('encoders.json'),
      (e: unknown) => e instanceof FleetcastError && /sha256 mismatch with SHA256SUMS/.test(e.message),
    );
  });

  it('refuses a SHA256SUMS whose digest is not the one the pointer pins', async () => {
    await writeFile(join(registry, 'models', id, 'SHA256SUMS'), '\n', { flag: 'a' });
    await assert.rejects(openPinnedModel(registry), /sha256 does not match .*current\.json/);
  });
});
