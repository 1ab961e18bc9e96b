import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, appendFile, cp, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModel, ModelOutputError } from '../../src/model/loaded-model.js';
import { ModelLoadError } from '../../src/model/model-load-error.js';
import {
  CHECKSUMS_FILE,
  computeChecksums,
  renderChecksums,
  sha256Text,
} from '../../src/registry/checksums.js';
import { InputError } from '../../src/core/errors.js';
import { makeTinyModels } from '../helpers/tiny-model.js';

const servers = [
  { name: 'web-01', profile: 'web' },
  { name: 'db-01', profile: 'database' },
];

function window(lookback: number, level: number): Float32Array {
  const past = new Float32Array(lookback * 7);
  for (let t = 0; t < lookback; t++) for (let f = 0; f < 7; f++) past[t * 7 + f] = level + (t % 3) + f;
  return past;
}

async function expectLoadError(dir: string, reason: string, pattern: RegExp, options = {}): Promise<void> {
  await assert.rejects(loadModel(dir, options), (error: unknown) => {
    assert.ok(error instanceof ModelLoadError, `expected ModelLoadError, got ${String(error)}`);
    assert.equal(error.reason, reason);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('LoadedModel', () => {
  let dir: string;
  let goodId: string;
  let nanId: string;
  let shortId: string;
  let nanUnknownId: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-model-'));
    const ids = await makeTinyModels(dir, [
      { servers },
      { servers, nan: true },
      { servers, output: 'no_quantile_axis' },
      { servers, nanUnknown: true },
    ]);
    [goodId, nanId, shortId, nanUnknownId] = ids as [string, string, string, string];
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('forecasts known and unknown servers in one batch', async () => {
    const model = await loadModel(join(dir, goodId));
    try {
      assert.equal(model.id, goodId);
      assert.deepEqual([...model.vocabulary].sort(), ['db-01', 'web-01']);
      const pastStart = 1_767_225_600;
      const results = await model.forecast([
        { server: 'web-01', past: window(24, 50), pastStart },
        { server: 'new-01', profile: 'web', past: window(24, 10), pastStart },
      ]);
      assert.equal(results.length, 2);
      assert.deepEqual(
        results.map((r) => [r.server, r.known, r.serverIndex > 0]),
        [
          ['web-01', true, true],
          ['new-01', false, false],
        ],
      );
      for (const r of results) {
        assert.equal(r.values.length, 6 * 3 * 3);
        assert.ok(r.values.every(Number.isFinite));
        assert.equal(r.start, pastStart + 24 * 3600);
      }
      // The forecast follows the input level: P50 of cpu near each window's cpu mean.
      const p50 = (i: number) => results[i]!.values[model.valueIndex(0, 0, 1)]!;
      assert.ok(p50(0) > p50(1) + 20, `${p50(0)} vs ${p50(1)}`);
      const q = (q: number) => results[0]!.values[model.valueIndex(0, 0, q)]!;
      assert.ok(q(0) < q(1) && q(1) < q(2), 'quantiles are ordered');
    } finally {
      await model.release();
    }
  });

  it('splits batches larger than maxBatch and keeps the order', async () => {
    const model = await loadModel(join(dir, goodId), { maxBatch: 3 });
    try {
      const inputs = Array.from({ length: 8 }, (_, i) => ({
        server: i % 2 ? 'web-01' : 'db-01',
        past: window(24, i * 10),
        pastStart: 0,
      }));
      const batched = await model.forecast(inputs);
      const single = await Promise.all(inputs.map(async (input) => (await model.forecast([input]))[0]!));
      batched.forEach((r, i) => assert.deepEqual([...r.values], [...single[i]!.values]));
    } finally {
      await model.release();
    }
  });

  it('rejects input windows of the wrong size or with NaN', async () => {
    const model = await loadModel(join(dir, goodId));
    try {
      await assert.rejects(
        model.forecast([{ server: 'web-01', past: new Float32Array(5), pastStart: 0 }]),
        InputError,
      );
      const bad = window(24, 1);
      bad[3] = Number.NaN;
      await assert.rejects(model.forecast([{ server: 'web-01', past: bad, pastStart: 0 }]), /non-finite/);
    } finally {
      await model.release();
    }
  });

  it('refuses an output whose shape is not batch × horizon × targets × quantiles', async () => {
    const model = await loadModel(join(dir, shortId));
    try {
      const inputs = Array.from({ length: 4 }, (_, i) => ({
        server: i % 2 ? 'web-01' : 'db-01',
        past: window(24, 10 + i),
        pastStart: 0,
      }));
      for (const batch of [inputs, inputs.slice(0, 1)]) {
        await assert.rejects(model.forecast(batch), (error: unknown) => {
          assert.ok(error instanceof ModelOutputError, String(error));
          assert.match(error.message, new RegExp(`output quantiles has shape \\[${batch.length},6,3\\]`));
          assert.match(error.message, new RegExp(`expected \\[${batch.length},6,3,3\\]`));
          return true;
        });
        await assert.rejects(model.forecastEach(batch), ModelOutputError);
      }
    } finally {
      await model.release();
    }
  });

  it('forecastEach isolates an unusable window or output to its own server', async () => {
    const model = await loadModel(join(dir, nanUnknownId));
    try {
      const inf = window(24, 30);
      inf[5 * 7 + 5] = Number.POSITIVE_INFINITY;
      const { results, failures } = await model.forecastEach([
        { server: 'web-01', past: window(24, 50), pastStart: 0 },
        { server: 'db-01', past: inf, pastStart: 0 },
        { server: 'new-01', profile: 'web', past: window(24, 20), pastStart: 0 },
        { server: 'web-01', past: new Float32Array(3), pastStart: 0 },
      ]);
      assert.deepEqual(
        results.map((r) => [r.server, r.known]),
        [['web-01', true]],
      );
      assert.ok(results[0]!.values.every(Number.isFinite));
      assert.equal(results[0]!.values.length, 6 * 3 * 3);
      assert.deepEqual(
        failures.map((f) => [f.server, f.reason, f.known]),
        [
          ['web-01', 'invalid_window', true],
          ['db-01', 'invalid_window', true],
          ['new-01', 'non_finite_output', false],
        ],
      );
      assert.match(failures[0]!.message, /3 values, expected 24 steps × 7 features/);
      assert.match(failures[1]!.message, /lookback window has a non-finite latency_ms at step 6/);
      assert.match(failures[2]!.message, /non-finite forecast values \(54 of 54\) through the unknown slot/);
    } finally {
      await model.release();
    }
  });

  it('loads a NaN model (rejecting it is the swap protocol warm-up’s job)', async () => {
    const model = await loadModel(join(dir, nanId));
    const [r] = await model.forecast([{ server: 'web-01', past: window(24, 1), pastStart: 0 }]);
    assert.ok(r!.values.every(Number.isNaN));
    await model.release();
  });

  it('refuses a tampered file, an unlisted file, a missing SHA256SUMS and a wrong pinned digest', async () => {
    const copy = async (name: string) => {
      const target = join(dir, `copy-${name}`, goodId);
      await cp(join(dir, goodId), target, { recursive: true });
      return target;
    };
    const tampered = await copy('tampered');
    await appendFile(join(tampered, 'encoders.json'), ' ');
    await expectLoadError(tampered, 'checksum', /encoders\.json: sha256 mismatch/);

    const extra = await copy('extra');
    await writeFile(join(extra, 'notes.txt'), 'hi');
    await expectLoadError(extra, 'checksum', /notes\.txt is not listed/);

    const noSums = await copy('nosums');
    await rm(join(noSums, CHECKSUMS_FILE));
    await expectLoadError(noSums, 'missing', /SHA256SUMS is missing/);

    await expectLoadError(join(dir, goodId), 'checksum', /does not match the pointer/, {
      expectedDigest: sha256Text('other'),
    });
  });

  it('refuses a corrupt ONNX file whose checksums were updated, and a renamed directory', async () => {
    const corrupt = join(dir, 'corrupt', goodId);
    await cp(join(dir, goodId), corrupt, { recursive: true });
    await writeFile(join(corrupt, 'model.onnx'), 'not a model');
    await writeFile(join(corrupt, CHECKSUMS_FILE), renderChecksums(await computeChecksums(corrupt)));
    await expectLoadError(corrupt, 'onnx', /onnxruntime cannot load it/);

    const renamed = join(dir, 'renamed', 'tft-20990101T000000Z-abcdef');
    await cp(join(dir, goodId), join(dir, 'renamed-src'), { recursive: true });
    await rename(join(dir, 'renamed-src'), renamed).catch(async () => {
      await cp(join(dir, goodId), renamed, { recursive: true });
    });
    await expectLoadError(renamed, 'mismatch', /does not match the directory name/);
  });
});
