import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LiveRecord, LiveRecordResult } from '../../src/gitops/live-record.js';
import {
  decideLiveRegression,
  type LiveCheckFacts,
  type LiveRegressionPolicy,
} from '../../src/gitops/live-regression.js';

const M = 'tft-20261101T000000Z-bbbbbb';
const P = 'tft-20261001T000000Z-aaaaaa';
const policy: LiveRegressionPolicy = {
  enabled: true,
  maxRatioVsPrevious: 1.25,
  maxRatioVsNaive: 1.1,
  minLiveHours: 6,
  minScoredPoints: 100,
};
const record = (over: Partial<LiveRecord> = {}): LiveRecordResult => ({
  record: {
    model: M,
    targets: ['cpu_pct', 'mem_pct'],
    p50: 0.2,
    p90: 0.1,
    naive_p50: 0.25,
    naive_p90: 0.12,
    ratio_vs_naive_p50: 0.8,
    ratio_vs_naive_p90: 0.85,
    scored_points: 1000,
    naive_points: 1000,
    scored_hours: 12,
    read_at: '2026-12-01T10:00:00.000Z',
    ...over,
  },
});
const facts = (over: Partial<LiveCheckFacts> = {}): LiveCheckFacts => ({
  modelId: M,
  serving: record(),
  previous: { modelId: P, live: record({ model: P, p50: 0.2, p90: 0.1 }) },
  revertible: { deployCommit: 'a'.repeat(40) },
  policy,
  ...over,
});

test('disabled: kept, saying so', () => {
  const d = decideLiveRegression(
    facts({ policy: { ...policy, enabled: false }, serving: record({ p50: 9 }) }),
  );
  assert.equal(d.action, 'keep');
  assert.match(d.reason, /enabled is false/);
});

test('no live record of the serving model: kept with the reason', () => {
  const d = decideLiveRegression(facts({ serving: { none: 'GET /status answered 503' } }));
  assert.equal(d.action, 'keep');
  assert.match(d.reason, /no live record .*503/);
});

test('not enough data (points or hours): kept, even when far worse', () => {
  for (const thin of [{ scored_points: 99 }, { scored_hours: 5.9 }]) {
    const d = decideLiveRegression(facts({ serving: record({ p50: 0.9, ratio_vs_naive_p50: 5, ...thin }) }));
    assert.equal(d.action, 'keep');
    assert.match(d.reason, /not enough live data yet .*needs ≥ 100 points and ≥ 6 h/);
  }
});

test('within bounds: kept with every ratio in the reason', () => {
  const d = decideLiveRegression(facts({ serving: record({ p50: 0.24, p90: 0.12 }) }));
  assert.equal(d.action, 'keep');
  assert.match(d.reason, /within bounds \(1000 points over 12\.0 h\)/);
  assert.match(d.reason, /P50 live q-risk 0\.240 is 1\.20× the previous model/);
  assert.equal(d.comparisons.length, 4);
  assert.ok(d.comparisons.every((c) => !c.regressed));
});

test('worse than the previous model past the ratio (P50 or P90): revert', () => {
  const p50 = decideLiveRegression(facts({ serving: record({ p50: 0.26 }) }));
  assert.equal(p50.action, 'revert');
  assert.match(
    p50.reason,
    new RegExp(`P50 live q-risk 0\\.260 is 1\\.30× the previous model ${P}'s 0\\.200 \\(max 1\\.25×\\)`),
  );
  const p90 = decideLiveRegression(facts({ serving: record({ p90: 0.2 }) }));
  assert.equal(p90.action, 'revert');
  assert.match(p90.reason, /P90 live q-risk 0\.200 is 2\.00×/);
});

test('worse than seasonal naive on the same points past the ratio: revert, even without a previous record', () => {
  const d = decideLiveRegression(facts({ previous: null, serving: record({ ratio_vs_naive_p50: 1.2 }) }));
  assert.equal(d.action, 'revert');
  assert.match(d.reason, /P50 loss is 1\.20× seasonal naive's on the same points \(max 1\.1×\)/);
  assert.deepEqual(d.notes, ['no previous model (first deploy): nothing to compare with']);
});

test('previous record missing, none, too short, or of other targets: that comparison is skipped with a note', () => {
  const cases: Array<[LiveCheckFacts['previous'], RegExp]> = [
    [{ modelId: P, live: undefined }, /recorded no live accuracy of the previous model/],
    [{ modelId: P, live: { none: 'no service URL given' } }, /has no live record \(no service URL given\)/],
    [
      { modelId: P, live: record({ model: P, scored_points: 10 }) },
      /too short to compare with: 10 scored points/,
    ],
    [{ modelId: P, live: record({ model: P, targets: ['cpu_pct'] }) }, /forecast other targets/],
  ];
  for (const [previous, note] of cases) {
    const d = decideLiveRegression(facts({ previous, serving: record({ p50: 0.9 }) }));
    assert.equal(d.action, 'keep', 'vs naive still within bounds');
    assert.ok(
      d.notes.some((n) => note.test(n)),
      d.notes.join('|'),
    );
    assert.ok(d.comparisons.every((c) => c.against === 'naive'));
  }
});

test('naive on too few points and no previous: nothing to compare, kept saying so', () => {
  const d = decideLiveRegression(
    facts({ previous: null, serving: record({ naive_points: 50, ratio_vs_naive_p50: 3 }) }),
  );
  assert.equal(d.action, 'keep');
  assert.match(d.reason, /nothing to compare .*naive had a value on only 50 points/);
});

test('a regression on a model a person put back is reported, not reverted', () => {
  const d = decideLiveRegression(
    facts({ serving: record({ p50: 0.5 }), revertible: { heldBy: 'put in service by a rollback by Dana' } }),
  );
  assert.equal(d.action, 'keep');
  assert.match(d.reason, /live regression .*but it is not reverted: put in service by a rollback by Dana/);
  assert.ok(d.comparisons.some((c) => c.regressed));
});
