import { metricsRecord } from '../../src/dataset/assemble.js';
import { metricSetConfig } from '../../src/metrics/metric-set.js';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Dataset } from '../../src/dataset/format.js';
import { METRIC_NAMES } from '../../src/metrics/contract.js';
import { ParquetSource } from '../../src/metrics/source.js';
import { loadModel, type LoadedModel } from '../../src/model/loaded-model.js';
import { DEFAULT_GATES } from '../../src/validate/gates.js';
import { evaluateHeldOut } from '../../src/validate/heldout.js';
import { findScore } from '../../src/validate/scoring.js';
import { validateModel } from '../../src/validate/validate-model.js';
import { writeSyntheticMetrics } from '../dataset/fixtures/metrics.js';
import { makeTinyModels } from '../helpers/tiny-model.js';

const servers = [
  { name: 'web-01', profile: 'web' },
  { name: 'web-02', profile: 'web' },
  { name: 'db-01', profile: 'database' },
];
const RES = 3600;
const DAYS = 5;
const START = Date.UTC(2026, 10, 10) / 1000;

/** A dataset whose every series repeats exactly each day, so seasonal naive is perfect. */
function periodicDataset(): Dataset {
  const F = METRIC_NAMES.length;
  const nSteps = DAYS * 24;
  const values = new Float32Array(servers.length * nSteps * F);
  servers.forEach((_, s) => {
    for (let t = 0; t < nSteps; t++)
      for (let f = 0; f < F; f++)
        values[(s * nSteps + t) * F + f] = 10 + s + f + 5 * Math.sin((2 * Math.PI * (t % 24)) / 24);
  });
  return {
    header: {
      format_version: 1,
      created_at: '2026-11-20T00:00:00.000Z',
      source: 'test',
      start: new Date(START * 1000).toISOString(),
      resolution_seconds: RES,
      n_steps: nSteps,
      fill_limit_steps: 1,
      features: [...METRIC_NAMES],
      targets: ['cpu_pct', 'mem_pct', 'latency_ms'],
      metrics: metricsRecord([...metricSetConfig().columns.values()]),
      profiles: ['database', 'web'],
      servers: [
        { name: 'db-01', index: 1, profile: 'database', profile_index: 1, holdout: false },
        { name: 'web-01', index: 2, profile: 'web', profile_index: 2, holdout: false },
        { name: 'web-02', index: 3, profile: 'web', profile_index: 2, holdout: true },
      ],
      split: { train_end_step: nSteps - 48, valid_end_step: nSteps },
    },
    values,
  };
}

describe('held-out evaluation and coverage with a real ONNX model', () => {
  let dir: string;
  let model: LoadedModel;
  let nanModel: LoadedModel;
  let other: LoadedModel;
  let coarse: LoadedModel;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-heldout-'));
    const [good, nan, second, slow] = await makeTinyModels(dir, [
      { servers },
      { servers, nan: true },
      { servers: servers.slice(0, 2), seed: 3 },
      { servers, resolutionSeconds: 7200, lookbackSteps: 12, horizonSteps: 3 },
    ]);
    model = await loadModel(join(dir, good!));
    nanModel = await loadModel(join(dir, nan!));
    other = await loadModel(join(dir, second!));
    coarse = await loadModel(join(dir, slow!));
  });
  after(async () => {
    await model.release();
    await nanModel.release();
    await other.release();
    await coarse.release();
    await rm(dir, { recursive: true, force: true });
  });

  it('forecasts every origin of the held-out window; holdout servers go through index 0', async () => {
    const dataset = periodicDataset();
    const asHoldout = await evaluateHeldOut({ dataset, model, holdout: new Set(['web-02']) });
    assert.deepEqual(asHoldout.windows, { known: 16, unknown: 8, skipped_missing_input: 0 });
    assert.equal(asHoldout.window.origins_per_server, 8);
    assert.equal(findScore(asHoldout.scores, 'seasonal_naive', 'all', 'cpu_pct', 0.5)!.q_risk, 0);
    const asKnown = await evaluateHeldOut({ dataset, model, holdout: new Set() });
    assert.equal(asKnown.windows.unknown, 0);
    assert.equal(asKnown.holdout_rows_max_abs_diff, null);
    // the tiny model's row for web-02 is not row 0, and the check notices
    assert.ok(asHoldout.holdout_rows_max_abs_diff! > 1e-4);
    const score = (e: typeof asKnown, group: 'all' | 'known' | 'unknown') =>
      findScore(e.scores, 'model', group, 'cpu_pct', 0.5)!.q_risk!;
    assert.ok(score(asHoldout, 'unknown') > 0);
    // only web-02's forecasts change: through index 0 they differ from those through its own row
    assert.notEqual(score(asHoldout, 'all'), score(asKnown, 'all'));
  });

  it('scores the deployed model on the same windows, or says why it cannot', async () => {
    const dataset = periodicDataset();
    const compared = await evaluateHeldOut({ dataset, model, deployed: other, holdout: new Set() });
    assert.deepEqual(compared.models, ['model', 'seasonal_naive', 'deployed']);
    assert.equal(compared.deployed.scored, true);
    const deployedScore = findScore(compared.scores, 'deployed', 'all', 'cpu_pct', 0.5)!;
    assert.equal(deployedScore.points, findScore(compared.scores, 'model', 'all', 'cpu_pct', 0.5)!.points);
    assert.ok(Number.isFinite(deployedScore.q_risk!));
    const skipped = await evaluateHeldOut({ dataset, model, deployed: coarse, holdout: new Set() });
    assert.deepEqual(skipped.models, ['model', 'seasonal_naive']);
    assert.match(skipped.deployed.note!, /uses 7200s steps, not 3600s/);
  });

  it('scores peers on the model’s points; a peer with a non-finite window is left out, not the model’s points', async () => {
    const dataset = periodicDataset();
    const per = 6 * 3 * 3;
    const peer = (name: 'gbm' | 'qnaive', nanAt: number | null) => {
      const values = new Float32Array(3 * 8 * per).fill(12);
      if (nanAt !== null) values[nanAt] = Number.NaN;
      return { peer: name, values, per, nOrigins: 8, seconds: 1, windowsWithMissing: 0, info: {} };
    };
    let layout: { from: number; stride: number; origins: readonly number[] } | null = null;
    const result = await evaluateHeldOut({
      dataset,
      model,
      holdout: new Set(),
      peers: (l) => {
        layout = l;
        return Promise.resolve({
          forecasts: [peer('gbm', 5 * per + 1), peer('qnaive', null)],
          outcomes: [
            { peer: 'gbm', status: 'scored', seconds: 1, note: null },
            { peer: 'qnaive', status: 'scored', seconds: 1, note: null },
          ],
        });
      },
    });
    assert.deepEqual(layout, { from: 72, stride: 6, origins: [72, 78, 84, 90, 96, 102, 108, 114] });
    assert.deepEqual(result.models, ['model', 'seasonal_naive', 'qnaive']);
    assert.equal(result.peers[0]!.status, 'left_out');
    assert.match(
      result.peers[0]!.note!,
      /peer gbm: 1 of 24 scored windows have a non-finite forecast \(first: db-01 at step 102\)/,
    );
    const points = (m: string) => findScore(result.scores, m, 'all', 'cpu_pct', 0.9)!.points;
    assert.equal(points('model'), 24 * 6);
    assert.equal(points('qnaive'), points('model'));
    const ratio = result.ratios.find(
      (r) => r.baseline === 'qnaive' && r.target === 'cpu_pct' && r.quantile === 0.9,
    )!;
    assert.equal(ratio.ratio, ratio.model_q_risk! / ratio.baseline_q_risk!);
  });

  it('coverage names servers outside the vocabulary, without data, or with non-finite forecasts', async () => {
    const parquet = join(dir, 'recent.parquet');
    await writeSyntheticMetrics(parquet, [servers[0]!, servers[2]!, { name: 'new-01', profile: 'web' }], {
      days: 2,
      end: new Date('2026-11-20T00:00:00Z'),
    });
    const source = new ParquetSource(parquet);
    const manifest = ['web-01', 'web-02', 'db-01', 'new-01'];
    const report = await validateModel({
      model,
      trainingInfo: null,
      manifestServers: manifest,
      source,
      evaluation: null,
      gates: DEFAULT_GATES,
    });
    assert.equal(report.passed, false);
    assert.equal(report.coverage.covered, 2);
    assert.deepEqual(report.coverage.missing, [
      { server: 'new-01', problem: 'not_in_vocabulary' },
      { server: 'web-02', problem: 'no_recent_data' },
    ]);
    assert.match(
      report.coverage.message,
      /we intended 4 servers, the model covers 2 \(50\.0%\): missing new-01, web-02/,
    );

    const nan = await validateModel({
      model: nanModel,
      trainingInfo: null,
      manifestServers: ['web-01'],
      source,
      evaluation: null,
      gates: DEFAULT_GATES,
    });
    assert.deepEqual(nan.coverage.missing, [{ server: 'web-01', problem: 'non_finite_forecast' }]);

    const ok = await validateModel({
      model,
      trainingInfo: null,
      manifestServers: ['web-01', 'db-01'],
      source,
      evaluation: null,
      gates: DEFAULT_GATES,
    });
    assert.equal(ok.passed, true);
    assert.equal(ok.coverage.percent, 100);
  });
});
