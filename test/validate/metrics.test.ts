import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkConvergence } from '../../src/validate/convergence.js';
import { computeCoverage } from '../../src/validate/coverage.js';
import { quantileLoss, qRisk } from '../../src/validate/qrisk.js';
import { scoreWindows, findScore, pointAsQuantiles } from '../../src/validate/scoring.js';
import { seasonalNaive, stepsPerDay } from '../../src/validate/seasonal-naive.js';

describe('q-risk', () => {
  it('is the pinball loss, asymmetric by quantile', () => {
    assert.equal(quantileLoss(10, 8, 0.9), 0.9 * 2);
    assert.ok(Math.abs(quantileLoss(10, 12, 0.9) - 0.1 * 2) < 1e-12);
    assert.ok(Math.abs(quantileLoss(10, 12, 0.1) - 0.9 * 2) < 1e-12);
  });
  it('is 2·ΣQL/Σ|y| and skips non-finite pairs', () => {
    // P50: QL = 0.5·|err|, so q-risk = Σ|err| / Σ|y|
    assert.equal(qRisk([10, 20, NaN], [12, 18, 5], 0.5), (2 + 2) / 30);
    assert.equal(qRisk([1, -1], [1, -1], 0.9), 0);
    assert.equal(qRisk([0, 0], [1, 1], 0.5), null);
    assert.equal(qRisk([], [], 0.5), null);
  });
});

describe('seasonal naive', () => {
  it('repeats the value one period earlier, reaching back whole periods past the origin', () => {
    const series = Array.from({ length: 12 }, (_, i) => i);
    assert.deepEqual([...seasonalNaive(series, 8, 3, 4)], [4, 5, 6]);
    assert.deepEqual([...seasonalNaive(series, 8, 6, 4)], [4, 5, 6, 7, 4, 5]);
    assert.ok(Number.isNaN(seasonalNaive(series, 2, 1, 4)[0]!));
    assert.equal(stepsPerDay(900), 96);
    assert.throws(() => stepsPerDay(7 * 60 + 1));
  });
});

describe('scoring windows', () => {
  const layout = { horizon: 2, targets: ['cpu', 'lat'], quantiles: [0.1, 0.5, 0.9] };
  const exact = (actual: number[]) => pointAsQuantiles(actual, 3);
  it('scores every model on the same points, per group', () => {
    const windows = [
      {
        server: 'a',
        group: 'known' as const,
        actual: [10, 100, 20, 200],
        forecasts: { model: exact([10, 100, 20, 200]), naive: exact([12, 90, 18, 210]) },
      },
      {
        server: 'b',
        group: 'unknown' as const,
        actual: [10, NaN, 20, 200],
        forecasts: { model: exact([11, 1, 20, 100]), naive: exact([10, NaN, 20, NaN]) },
      },
    ];
    const scores = scoreWindows(windows, ['model', 'naive'], layout);
    assert.equal(findScore(scores, 'model', 'known', 'cpu', 0.5)!.q_risk, 0);
    assert.equal(findScore(scores, 'naive', 'known', 'cpu', 0.5)!.q_risk, 4 / 30);
    // b: lat step 0 has no actual, lat step 1 has no naive forecast: neither is scored for any model
    assert.equal(findScore(scores, 'model', 'unknown', 'lat', 0.5)!.points, 0);
    assert.equal(findScore(scores, 'model', 'unknown', 'lat', 0.5)!.q_risk, null);
    assert.equal(findScore(scores, 'model', 'unknown', 'cpu', 0.5)!.q_risk, 1 / 30);
    assert.equal(findScore(scores, 'model', 'all', 'cpu', 0.5)!.points, 4);
    assert.equal(findScore(scores, 'model', 'all', 'cpu', 0.5)!.q_risk, 1 / 60);
  });
  it('re-weights known servers to the unknown group profile mix', () => {
    const one = { horizon: 1, targets: ['cpu'], quantiles: [0.5] };
    const w = (server: string, group: 'known' | 'unknown', profile: string, y: number, f: number) => ({
      server,
      group,
      profile,
      actual: [y],
      forecasts: { model: [f] },
    });
    const windows = [
      // known servers: web is easy (q-risk 0.05), batch hard (0.25); the fleet is mostly web
      w('web-1', 'known', 'web', 100, 95),
      w('web-2', 'known', 'web', 100, 105),
      w('web-3', 'known', 'web', 100, 95),
      w('batch-1', 'known', 'batch', 100, 75),
      // the unknown batch server has q-risk 0.3: 3× the known fleet, but only 1.2× known batch
      w('batch-9', 'unknown', 'batch', 100, 70),
      // a profile with no known server cannot be compared and is left out of the weights
      w('cache-9', 'unknown', 'cache', 50, 50),
    ];
    const scores = scoreWindows(windows, ['model'], one);
    const q = (group: 'known' | 'unknown' | 'known_profile_matched' | 'unknown_profile_matched') =>
      findScore(scores, 'model', group, 'cpu', 0.5)!.q_risk!;
    assert.ok(Math.abs(q('known') - 0.1) < 1e-12);
    assert.ok(Math.abs(q('unknown') - 0.2) < 1e-12);
    assert.ok(Math.abs(q('known_profile_matched') - 0.25) < 1e-12);
    assert.ok(Math.abs(q('unknown_profile_matched') - 0.3) < 1e-12);
    assert.equal(findScore(scores, 'model', 'known_profile_matched', 'cpu', 0.5)!.points, 1);
    const none = scoreWindows([windows[0]!], ['model'], one);
    assert.equal(findScore(none, 'model', 'known_profile_matched', 'cpu', 0.5)!.q_risk, null);
  });
  it('rejects forecasts of the wrong shape', () => {
    assert.throws(
      () =>
        scoreWindows(
          [{ server: 'a', group: 'known', actual: [1, 2, 3, 4], forecasts: { model: [1] } }],
          ['model'],
          layout,
        ),
      /model has 1 values, expected 12/,
    );
  });
});

describe('coverage', () => {
  it('passes only at 100 % and names the missing servers and why', () => {
    const ok = computeCoverage(
      ['a', 'b'],
      new Set(['a', 'b', 'old']),
      new Map([
        ['a', true],
        ['b', true],
      ]),
    );
    assert.equal(ok.passed, true);
    assert.equal(ok.percent, 100);
    const bad = computeCoverage(
      ['a', 'b', 'c', 'd'],
      new Set(['a', 'b', 'd']),
      new Map([
        ['a', true],
        ['d', false],
      ]),
    );
    assert.equal(bad.passed, false);
    assert.equal(bad.covered, 1);
    assert.deepEqual(bad.missing, [
      { server: 'b', problem: 'no_recent_data' },
      { server: 'c', problem: 'not_in_vocabulary' },
      { server: 'd', problem: 'non_finite_forecast' },
    ]);
    assert.match(bad.message, /^we intended 4 servers, the model covers 1 \(25\.0%\): missing b, c, d/);
  });
});

describe('convergence', () => {
  const epochs = (vals: Array<number | null>) =>
    vals.map((v, i) => ({ epoch: i + 1, train_loss: 1, val_loss: v }));
  const opts = { minImprovement: 0.05, minEpochs: 1 };
  it('needs the best validation loss clearly below the untrained one', () => {
    assert.equal(checkConvergence(epochs([0.9, 0.7, 0.75]), { ...opts, initialValLoss: 1 }).passed, true);
    const flat = checkConvergence(epochs([0.99, 0.98]), { ...opts, initialValLoss: 1 });
    assert.equal(flat.passed, false);
    assert.match(flat.message, /fell only 2\.0% from the untrained model/);
  });
  it('fails a run the time guard cut short, however far its loss fell', () => {
    const cut = checkConvergence(epochs([0.6, 0.4]), {
      ...opts,
      initialValLoss: 1,
      stoppedBy: 'time_budget',
      plannedEpochs: 40,
    });
    assert.equal(cut.passed, false);
    assert.match(cut.message, /stopped by the time guard .* after epoch 2 of 40 planned/);
    const early = checkConvergence(epochs([0.6, 0.4]), {
      ...opts,
      initialValLoss: 1,
      stoppedBy: 'early_stopping',
    });
    assert.equal(early.passed, true);
  });
  it('falls back to the first epoch and fails on NaN or too few epochs', () => {
    assert.equal(checkConvergence(epochs([1, 0.5]), opts).reference, 'first_epoch');
    assert.equal(checkConvergence(epochs([1, 0.5]), opts).passed, true);
    assert.match(checkConvergence(epochs([1, null]), opts).message, /non-finite loss in epoch\(s\) 2/);
    assert.match(checkConvergence([], opts).message, /only 0 epoch/);
  });
});
