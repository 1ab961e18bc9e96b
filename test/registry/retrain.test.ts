import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyChecksums } from '../../src/registry/checksums.js';
import { readModelMetadata } from '../../src/registry/read-model.js';
import {
  makeFleet,
  runCli,
  writeLooseGates,
  writeManifestFile,
  type FleetServer,
} from '../validate/fixtures/fleet.js';

/**
 * The design's encoder persistence test, end to end with the smoke profile: train, reload the
 * encoders, retrain with one server added and one removed, and check indices stay put.
 */
describe('train → registry → retrain (smoke profile)', () => {
  let dir: string;
  let parquet: string;
  let fleet: FleetServer[];
  let gates: string;
  let first: { id: string; dir: string; manifest: FleetServer[] };
  const registry = () => join(dir, 'registry');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-retrain-'));
    ({ parquet, servers: fleet } = await makeFleet(dir, 11, 9));
    gates = await writeLooseGates(join(dir, 'gates.json'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const train = async (manifest: FleetServer[], name: string) => {
    const path = await writeManifestFile(join(dir, `${name}.json`), manifest);
    const result = await runCli([
      'train',
      '--metrics',
      parquet,
      '--manifest',
      path,
      '--registry',
      registry(),
      '--profile',
      'smoke',
      '--epochs',
      '1',
      '--days',
      '9',
      '--gates',
      gates,
      '--json',
    ]);
    return { ...result, manifestPath: path };
  };

  it('writes a complete, checksummed model covering every manifest server', async () => {
    const manifest = fleet.slice(0, 10);
    const result = await train(manifest, 'manifest-1');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stderr, /train: epoch 1\/1: .*ETA/);
    const out = JSON.parse(result.stdout) as { model_id: string; model_dir: string; passed: boolean };
    assert.equal(out.passed, true);
    assert.deepEqual(await readdir(join(registry(), 'models')), [out.model_id], 'no temp dirs left behind');
    assert.deepEqual((await readdir(out.model_dir)).sort(), [
      'SHA256SUMS',
      'encoders.json',
      'model.onnx',
      'normalization.json',
      'server_mapping.json',
      'training_info.json',
      'validation.json',
    ]);
    assert.equal((await verifyChecksums(out.model_dir)).ok, true);
    const meta = await readModelMetadata(out.model_dir);
    assert.deepEqual(Object.keys(meta.encoders.server_id.classes).sort(), manifest.map((s) => s.name).sort());
    assert.ok(!Object.values(meta.encoders.server_id.classes).includes(0), 'index 0 is reserved');
    assert.equal(meta.trainingInfo.data.fleet_size, 10);
    assert.equal(meta.trainingInfo.epochs.length, 1);
    assert.match(meta.trainingInfo.torch_version ?? '', /^\d+\.\d+/);
    assert.equal(meta.trainingInfo.data.holdout_servers.length, 1, '5 % of 10 servers, at least 1');
    const validation = meta.validation as {
      passed: boolean;
      coverage: { percent: number; forecasts_checked: boolean };
    };
    assert.equal(validation.passed, true);
    assert.equal(validation.coverage.percent, 100);
    assert.equal(validation.coverage.forecasts_checked, true);
    first = { id: out.model_id, dir: out.model_dir, manifest };
  });

  it('fleetcast validate confirms 100 % coverage from the metrics', async () => {
    const path = join(dir, 'manifest-1.json');
    const result = await runCli([
      'validate',
      '--model',
      first.dir,
      '--manifest',
      path,
      '--metrics',
      parquet,
      '--gates',
      gates,
      '--json',
    ]);
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as {
      passed: boolean;
      coverage: { percent: number };
      accuracy: { windows: { known: number; unknown: number } };
    };
    assert.equal(report.coverage.percent, 100);
    assert.ok(report.accuracy.windows.known > 0 && report.accuracy.windows.unknown > 0);
  });

  it('keeps indices across a retrain with one server added and one removed', async () => {
    const manifest = [...fleet.slice(1, 10), fleet[10]!];
    const result = await train(manifest, 'manifest-2');
    assert.equal(result.status, 0, result.stderr);
    const out = JSON.parse(result.stdout) as { model_id: string; model_dir: string };
    assert.ok(out.model_id > first.id, 'ids sort by time');
    const before = await readModelMetadata(first.dir);
    const after = await readModelMetadata(out.model_dir);
    for (const s of manifest.slice(0, 9))
      assert.equal(after.mapping.servers[s.name], before.mapping.servers[s.name], s.name);
    assert.deepEqual(after.mapping.retired, { [fleet[0]!.name]: before.mapping.servers[fleet[0]!.name] });
    assert.equal(after.mapping.servers[fleet[10]!.name], before.mapping.next_index);
    assert.deepEqual(
      Object.keys(after.encoders.server_id.classes).sort(),
      manifest.map((s) => s.name).sort(),
    );
  });

  it('a model missing a manifest server fails validation naming it', async () => {
    const result = await runCli([
      'validate',
      '--model',
      first.dir,
      '--manifest',
      join(dir, 'manifest-2.json'),
      '--metrics',
      parquet,
      '--gates',
      gates,
    ]);
    assert.equal(result.status, 3, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`we intended 10 servers, the model covers 9 \\(90\\.0%\\): missing ${fleet[10]!.name}`),
    );
    assert.match(result.stdout, /validation FAILED/);
  });

  it('a tampered artifact is rejected before loading', async () => {
    await appendFile(join(first.dir, 'model.onnx'), Buffer.from([0]));
    const result = await runCli([
      'validate',
      '--model',
      first.dir,
      '--manifest',
      join(dir, 'manifest-1.json'),
    ]);
    assert.equal(result.status, 3);
    assert.match(result.stderr, /model\.onnx: sha256 mismatch/);
  });
});
