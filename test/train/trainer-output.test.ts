import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyChecksums } from '../../src/registry/checksums.js';
import { trainModel, type TrainOptions } from '../../src/train/pipeline.js';
import { REPORT_ONLY_ACCURACY_GATES } from '../../src/validate/gates.js';
import { makeFleet, writeManifestFile } from '../validate/fixtures/fleet.js';

/** `trainerOutput`: register and validate a model trained elsewhere (a GPU runner) on the same data. */
describe('train pipeline with a trainer output made elsewhere', () => {
  let dir: string;
  let options: TrainOptions;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-trainer-output-'));
    const { parquet, servers } = await makeFleet(dir, 10, 9);
    options = {
      metrics: parquet,
      manifest: await writeManifestFile(join(dir, 'manifest.json'), servers),
      registry: join(dir, 'registry-a'),
      profile: 'smoke',
      seed: 0,
      epochs: 1,
      days: 9,
      work: join(dir, 'work-a'),
      validate: true,
      gates: REPORT_ONLY_ACCURACY_GATES,
      progress: () => {},
    };
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('validates and registers it without training', async () => {
    const trained = await trainModel(options);
    assert.ok(trained.modelDir);
    const lines: string[] = [];
    const adopted = await trainModel({
      ...options,
      registry: join(dir, 'registry-b'),
      work: join(dir, 'work-b'),
      trainerOutput: join(dir, 'work-a', 'trainer'),
      progress: (line) => lines.push(line),
    });
    assert.ok(adopted.modelDir && adopted.passed);
    assert.ok(lines.some((l) => l.includes('using the trainer output')));
    assert.ok(!lines.some((l) => l.includes('epoch')), 'no training ran');
    assert.equal((await verifyChecksums(adopted.modelDir)).ok, true);
    const model = (dir: string) => readFile(join(dir, 'model.onnx'));
    assert.deepEqual(await model(adopted.modelDir), await model(trained.modelDir));
    assert.equal(adopted.validation?.coverage.percent, 100);
    assert.equal(adopted.validation?.coverage.forecasts_checked, true);
  });

  it('refuses a trainer output from another dataset build', async () => {
    await assert.rejects(
      trainModel({
        ...options,
        days: 8,
        work: join(dir, 'work-d'),
        trainerOutput: join(dir, 'work-a', 'trainer'),
      }),
      /train_report\.json: trained on another dataset \(n_steps 432, this build has 384\)/,
    );
  });

  it('names a missing file of the trainer output', async () => {
    await assert.rejects(
      trainModel({ ...options, work: join(dir, 'work-c'), trainerOutput: join(dir, 'nowhere') }),
      /nowhere\/model\.onnx: missing from the trainer output directory/,
    );
  });
});
