import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import {
  checkParityCase,
  parityFeeds,
  readParityFile,
  type ParityFile,
} from '../../src/model/onnx-parity.js';
import { resolvePython } from '../../src/core/python.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function quantiles(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>) {
  const out = (await session.run(feeds)).quantiles;
  assert.ok(out, 'model has no quantiles output');
  return out;
}

// smoke: one-day window through the whole encoder; default: two-day window, the encoder over its
// newest day, seasonal lags of both days and the gated baseline (abs, sigmoid)
for (const profile of ['smoke', 'default'])
  describe(`ONNX export matches PyTorch in onnxruntime-node (${profile} profile)`, () => {
  let dir: string;
  let parity: ParityFile;
  let session: ort.InferenceSession;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-parity-'));
    // a randomly initialised model of the profile's shape: the same export path as training, in seconds
    const result = spawnSync(
      resolvePython(),
      ['-m', 'fleetcast_trainer.export', '--out', dir, '--profile', profile, '--seed', '3'],
      { cwd: join(root, 'trainer'), encoding: 'utf8' },
    );
    assert.equal(result.status, 0, `export failed:\n${result.stderr}`);
    parity = await readParityFile(join(dir, 'parity.json'));
    session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
  });

  after(async () => {
    await session?.release();
    await rm(dir, { recursive: true, force: true });
  });

  it('declares the contract inputs and output', () => {
    assert.deepEqual(
      [...session.inputNames].sort(),
      ['future_known', 'past_known', 'past_observed', 'profile_idx', 'server_idx'],
    );
    assert.deepEqual(session.outputNames, ['quantiles']);
    assert.deepEqual(
      parity.cases.map((c) => c.batch),
      [1, 4, 33],
    );
  });

  it('agrees within 1e-4 at every batch size', async () => {
    for (const c of parity.cases) {
      const result = await checkParityCase(session, parity, c);
      assert.ok(result.shapeMatches, `batch ${c.batch}: output shape`);
      assert.ok(result.finite, `batch ${c.batch}: non-finite output`);
      assert.ok(
        result.maxError <= parity.tolerance,
        `batch ${c.batch}: max error ${result.maxError} > ${parity.tolerance}`,
      );
    }
  });

  it('uses the server embedding (a different index changes the forecast)', async () => {
    const c = parity.cases.find((x) => x.batch === 4);
    assert.ok(c);
    const feeds = parityFeeds(parity, c);
    const base = (await quantiles(session, feeds)).data as Float32Array;
    const ids = (c.inputs.server_idx?.data ?? []).map((v) => (v + 1) % 11);
    feeds.server_idx = new ort.Tensor('int32', Int32Array.from(ids), [4]);
    const moved = (await quantiles(session, feeds)).data as Float32Array;
    assert.ok(base.some((v, i) => Math.abs(v - (moved[i] ?? v)) > 1e-6));
  });
});
