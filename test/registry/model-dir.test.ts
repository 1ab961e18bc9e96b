import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listModelIds, newestModelId, previousModelDir } from '../../src/registry/list-models.js';
import { isModelId, modelIdTime, newModelId, trainingStartFromId } from '../../src/registry/model-id.js';
import { readModelMetadata } from '../../src/registry/read-model.js';
import { removeStaleTempDirs, writeCandidateDir, writeModelDir } from '../../src/registry/write-model.js';
import { verifyChecksums } from '../../src/registry/checksums.js';
import { GateError, InputError } from '../../src/core/errors.js';
import { sampleModelJson } from './fixtures/model-files.js';

describe('model ids', () => {
  it('encode the UTC start and sort by time', () => {
    const a = newModelId(new Date('2026-11-26T04:05:06.789Z'), 'a1b2c3');
    assert.equal(a, 'tft-20261126T040506Z-a1b2c3');
    assert.ok(isModelId(a));
    assert.equal(modelIdTime(a).toISOString(), '2026-11-26T04:05:06.000Z');
    const b = newModelId(new Date('2026-11-26T04:05:07Z'));
    assert.ok(a < b);
    assert.ok(!isModelId('tft-20261126T040506Z-XYZ123'));
  });

  it('give the training start, or null for a name that is no model id or no real time', () => {
    assert.equal(
      trainingStartFromId('tft-20261126T040506Z-a1b2c3')?.toISOString(),
      '2026-11-26T04:05:06.000Z',
    );
    assert.equal(trainingStartFromId('server-list'), null);
    assert.equal(trainingStartFromId('tft-20261399T250000Z-a1b2c3'), null);
  });
});

describe('model directories', () => {
  let registry: string;
  let onnx: string;
  before(async () => {
    registry = await mkdtemp(join(tmpdir(), 'fleetcast-registry-'));
    onnx = join(registry, 'graph.onnx');
    await writeFile(onnx, Buffer.from([8, 7, 1, 2, 3]));
  });
  after(async () => rm(registry, { recursive: true, force: true }));

  const idA = 'tft-20261101T000000Z-aaaaaa';
  const idB = 'tft-20261102T000000Z-bbbbbb';

  it('writes every file plus SHA256SUMS and reads it back verified', async () => {
    const { dir, digest } = await writeModelDir(registry, idA, {
      json: sampleModelJson(idA, { 'web-1': 1, 'web-2': 2 }),
      copies: { 'model.onnx': onnx },
    });
    assert.match(digest, /^[0-9a-f]{64}$/);
    assert.deepEqual((await readdir(dir)).sort(), [
      'SHA256SUMS',
      'encoders.json',
      'model.onnx',
      'normalization.json',
      'server_mapping.json',
      'training_info.json',
      'validation.json',
    ]);
    const meta = await readModelMetadata(dir);
    assert.equal(meta.id, idA);
    assert.equal(meta.digest, digest);
    assert.deepEqual(Object.keys(meta.encoders.server_id.classes), ['web-1', 'web-2']);
    assert.deepEqual(
      (await readdir(join(registry, 'models'))).filter((n) => n.startsWith('.tmp-')),
      [],
    );
  });

  it('refuses to overwrite an existing model and to write without required files', async () => {
    await assert.rejects(
      writeModelDir(registry, idA, {
        json: sampleModelJson(idA, { 'web-1': 1 }),
        copies: { 'model.onnx': onnx },
      }),
      /already exists/,
    );
    const json = sampleModelJson(idB, { 'web-1': 1 });
    delete json['validation.json'];
    await assert.rejects(
      writeModelDir(registry, idB, { json, copies: { 'model.onnx': onnx } }),
      /validation\.json/,
    );
    assert.ok(!existsSync(join(registry, 'models', idB)));
  });

  it('writes a candidate (no validation.json yet) the same way, replacing an earlier one', async () => {
    const id = 'tft-20261103T000000Z-cccccc';
    const parent = join(registry, 'work', 'candidate');
    const json = sampleModelJson(id, { 'web-1': 1 });
    delete json['validation.json'];
    await assert.rejects(
      writeCandidateDir(parent, id, { json, copies: {} }),
      /refusing to write without model\.onnx/,
    );
    for (let i = 0; i < 2; i++) {
      const { dir, digest } = await writeCandidateDir(parent, id, { json, copies: { 'model.onnx': onnx } });
      assert.equal(dir, join(parent, id));
      assert.ok(!existsSync(join(dir, 'validation.json')));
      assert.deepEqual(await verifyChecksums(dir), { ok: true, digest, problems: [] });
    }
    assert.deepEqual(await readdir(parent), [id]);
  });

  it('a write that fails midway leaves neither the model nor a temp dir', async () => {
    const id = 'tft-20261104T000000Z-eeeeee';
    await assert.rejects(
      writeModelDir(registry, id, {
        json: sampleModelJson(id, { 'web-1': 1 }),
        copies: { 'model.onnx': join(registry, 'no-such-file.onnx') },
      }),
      /ENOENT/,
    );
    assert.deepEqual(
      (await readdir(join(registry, 'models'))).filter((n) => n.includes('eeeeee')),
      [],
    );
  });

  it('a tampered artifact is rejected naming the file', async () => {
    const { dir } = await writeModelDir(registry, idB, {
      json: sampleModelJson(idB, { 'web-1': 1 }),
      copies: { 'model.onnx': onnx },
    });
    await appendFile(join(dir, 'model.onnx'), Buffer.from([0]));
    await assert.rejects(readModelMetadata(dir), (error: unknown) => {
      assert.ok(error instanceof GateError);
      assert.match(error.message, /model\.onnx: sha256 mismatch/);
      return true;
    });
    await writeFile(join(dir, 'extra.bin'), 'x');
    await assert.rejects(readModelMetadata(dir), /extra\.bin is not listed/);
  });

  it('errors in metadata name the file and field', async () => {
    const id = 'tft-20261103T000000Z-cccccc';
    const json = sampleModelJson(id, { 'web-1': 1 });
    (json['encoders.json'] as { horizon_steps: number }).horizon_steps = -1;
    const dir = join(registry, 'loose', id);
    await mkdir(dir, { recursive: true });
    for (const [name, value] of Object.entries(json)) await writeFile(join(dir, name), JSON.stringify(value));
    await assert.rejects(readModelMetadata(dir, { verify: false }), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /encoders\.json: horizon_steps: /);
      return true;
    });
  });

  it('lists models by time, skipping temp dirs, and cleans stale temp dirs', async () => {
    await mkdir(join(registry, 'models', '.tmp-tft-20261105T000000Z-dddddd-999999999'));
    assert.deepEqual(await listModelIds(registry), [idA, idB]);
    assert.equal(await newestModelId(registry), idB);
    assert.equal(await previousModelDir(registry), join(registry, 'models', idB));
    const removed = await removeStaleTempDirs(join(registry, 'models'));
    assert.deepEqual(removed, ['.tmp-tft-20261105T000000Z-dddddd-999999999']);
  });

  it('prefers the deployed model as the previous one', async () => {
    await writeFile(
      join(registry, 'current.json'),
      JSON.stringify({
        format_version: 1,
        model_id: idA,
        sha256: 'a'.repeat(64),
        deployed_at: '2026-11-02T00:00:00.000Z',
        previous_model_id: null,
        reason: 'test',
      }),
    );
    assert.equal(await previousModelDir(registry), join(registry, 'models', idA));
  });
});
