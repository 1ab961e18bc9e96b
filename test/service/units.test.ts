import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration } from '../../src/core/duration.js';
import { mergeFleet } from '../../src/service/serving/fleet.js';
import { formatForecast, quantileKey, round4Significant } from '../../src/service/serving/forecast-format.js';
import { ModelSlot } from '../../src/service/serving/model-slot.js';
import { driftPriority, fleetCoverage, fleetDrift, modelAge } from '../../src/service/serving/monitor.js';
import type { ServingModel } from '../../src/service/serving-model.js';
import { UnknownPredictionTracker, unknownRateLevel } from '../../src/service/serving/unknown-tracker.js';
import {
  coverageVerdict,
  unknownSlotName,
  warmUpInputs,
  warmUpProblems,
} from '../../src/service/serving/warm-up.js';
import { redactPaths } from '../../src/service/serving/public-text.js';
import { WindowCache } from '../../src/service/serving/window-cache.js';
import type { Encoders } from '../../src/registry/schemas.js';
import { syntheticWindows } from './fixtures.js';

const encoders: Encoders = {
  format_version: 1,
  model_id: 'tft-20261001T000000Z-abcdef',
  server_id: { unknown_index: 0, num_embeddings: 3, classes: { s1: 1, s2: 2 } },
  profile: { unknown_index: 0, classes: { web: 1 } },
  server_profiles: { s1: 'web', s2: 'web' },
  observed_features: ['cpu_pct', 'mem_pct'],
  known_features: ['tod_sin', 'tod_cos', 'dow_sin', 'dow_cos'],
  targets: ['cpu_pct'],
  quantiles: [0.1, 0.5, 0.9],
  resolution_seconds: 3600,
  lookback_steps: 4,
  horizon_steps: 2,
};

function fakeModel(id: string, released: string[] = []): ServingModel {
  return {
    id,
    dir: `/x/${id}`,
    digest: 'd',
    encoders: { ...encoders, model_id: id },
    vocabulary: new Set(['s1', 's2']),
    forecastEach: async () => ({ results: [], failures: [] }),
    release: async () => {
      released.push(id);
    },
  };
}

describe('unknown-prediction tracking', () => {
  it('uses the unknown-rate levels at the boundaries', () => {
    assert.equal(unknownRateLevel(0), 'acceptable');
    assert.equal(unknownRateLevel(4.99), 'acceptable');
    assert.equal(unknownRateLevel(5), 'warning');
    assert.equal(unknownRateLevel(15), 'warning');
    assert.equal(unknownRateLevel(15.01), 'critical');
  });
  it('counts each server once per forecast cycle, over a rolling window of cycles', () => {
    let now = 1_000_000_000_000;
    const tracker = new UnknownPredictionTracker(3600, () => now);
    // cycle 1: 8 known servers and 2 unknown ones, asked for five times (page loads, requests)
    for (let view = 0; view < 5; view++) {
      for (let i = 0; i < 8; i++) tracker.record(1, `k${i}`, true);
      tracker.record(1, 'new-1', false);
      tracker.record(1, 'new-2', false);
    }
    let stats = tracker.stats();
    assert.deepEqual([stats.unknown, stats.total, stats.rate_pct, stats.level], [2, 10, 20, 'critical']);
    assert.deepEqual(stats.servers, ['new-1', 'new-2']);
    now += 1800_000;
    // cycle 2: the same fleet once more, one of the new servers is pending (not counted)
    for (let i = 0; i < 8; i++) tracker.record(2, `k${i}`, true);
    tracker.record(2, 'new-1', false);
    tracker.record(2, 'new-2', false, true);
    stats = tracker.stats();
    assert.deepEqual([stats.unknown, stats.total, stats.pending], [3, 19, 1]);
    assert.deepEqual(stats.pendingServers, ['new-2']);
    // a late request on cycle 1's windows for a server it already counted counts nothing new
    tracker.record(1, 'new-1', false);
    assert.equal(tracker.stats().total, 19);
    now += 3660_000; // cycle 1 was last used more than the window ago
    for (let i = 0; i < 8; i++) tracker.record(2, `k${i}`, true); // cycle 2 still in use
    stats = tracker.stats();
    assert.deepEqual([stats.unknown, stats.total, stats.rate_pct, stats.level], [1, 9, 11.11, 'warning']);
    tracker.record(1, 'new-9', false); // a forgotten cycle counts nothing
    assert.equal(tracker.stats().total, 9);
    tracker.reset();
    assert.deepEqual([tracker.stats().unknown, tracker.stats().total], [0, 0]);
    now += 7200_000;
    tracker.record(3, 'k1', true);
    assert.equal(tracker.stats().total, 1);
  });
});

describe('pure service helpers', () => {
  it('drift, coverage and model age follow the monitoring formulas', () => {
    const model = { vocabulary: new Set(Array.from({ length: 20 }, (_, i) => `s${i}`)) };
    const fleet = [
      ...Array.from({ length: 18 }, (_, i) => ({
        name: `s${i}`,
        profile: null,
        inManifest: true,
        pending: null,
      })),
      ...Array.from({ length: 5 }, (_, i) => ({
        name: `n${i}`,
        profile: null,
        inManifest: true,
        pending: null,
      })),
    ];
    const drift = fleetDrift(model, fleet, true);
    assert.equal(drift.drift_pct, 35); // the fleet-drift example: 20 known, 5 new, 2 sunset
    assert.equal(drift.priority, 'medium');
    assert.deepEqual(drift.sunset_servers, ['s18', 's19']);
    assert.equal(driftPriority(35.01), 'high');
    assert.equal(driftPriority(9.99), 'none');
    const windows = syntheticWindows(
      fleet.slice(0, 20).map((s) => ({ name: s.name, profile: 'web' })),
      { resolution_seconds: 3600, lookback_steps: 4, observed_features: ['a'] },
    );
    const coverage = fleetCoverage(model, fleet, windows, true);
    assert.deepEqual([coverage.expected, coverage.covered, coverage.forecastable], [23, 18, 20]);
    assert.equal(coverage.coverage_pct, 78.26);
    const age = modelAge('tft-20261001T000000Z-abcdef', new Date('2026-10-31T00:00:00Z'));
    assert.equal(age.age_days, 30);
  });
  it('mergeFleet keeps manifest servers (and their profiles) and adds live ones, sorted', () => {
    const windows = syntheticWindows(
      [
        { name: 'b-1', profile: 'db' },
        { name: 'c-1', profile: 'web' },
      ],
      {
        resolution_seconds: 3600,
        lookback_steps: 2,
        observed_features: ['a'],
      },
    );
    const fleet = mergeFleet(
      [
        { name: 'c-1', profile: 'db' },
        { name: 'a-1', profile: 'api' },
      ],
      windows,
      new Map([
        ['b-1', '2.0 days of history (needs 7)'],
        ['c-1', 'ignored: in the manifest'],
      ]),
    );
    assert.deepEqual(fleet, [
      { name: 'a-1', profile: 'api', inManifest: true, pending: null },
      { name: 'b-1', profile: 'db', inManifest: false, pending: '2.0 days of history (needs 7)' },
      { name: 'c-1', profile: 'db', inManifest: true, pending: null },
    ]);
  });
  it('warm-up checks vocabulary coverage, completeness and finiteness, the unknown slot included', () => {
    const model = fakeModel('tft-20261001T000000Z-abcdef');
    const expected = [
      { name: 's1', profile: 'web', inManifest: true, pending: null },
      { name: 's9', profile: 'web', inManifest: true, pending: null },
      { name: 'x', profile: null, inManifest: false, pending: null },
    ];
    const newer = 'tft-20261101T000000Z-abcdef';
    assert.deepEqual(coverageVerdict(newer, model.vocabulary, expected, model), {
      missing: ['s9'],
      verdict: 'refused',
    });
    assert.equal(
      coverageVerdict('tft-20260901T000000Z-abcdef', model.vocabulary, expected, model).verdict,
      'rollback',
    );
    assert.equal(coverageVerdict(newer, model.vocabulary, expected, null).verdict, 'startup');
    assert.equal(coverageVerdict(newer, model.vocabulary, expected.slice(0, 1), model).verdict, 'covered');
    // s1's window has an Inf: it warms up on a flat window instead, the model is not blamed
    const windows = syntheticWindows([{ name: 's1', profile: 'web' }], model.encoders);
    windows.get('s1')!.input.past[3] = Number.POSITIVE_INFINITY;
    const inputs = warmUpInputs(model, expected, windows, 1_800_000_000);
    assert.deepEqual(
      inputs.map((i) => [i.server, i.profile ?? null]),
      [
        ['s1', 'web'],
        ['s9', 'web'],
        ['x', null],
        [unknownSlotName('web'), 'web'],
        [unknownSlotName(null), null],
      ],
    );
    assert.equal(unknownSlotName('web'), 'unknown slot (profile web)');
    assert.ok(inputs.every((i) => i.past.length === 8 && i.past.every(Number.isFinite)));
    const good = inputs.map((i) => ({
      server: i.server,
      known: true,
      serverIndex: 1,
      start: 0,
      stepSeconds: 3600,
      values: new Float32Array(6).fill(1),
    }));
    assert.deepEqual(warmUpProblems(model, inputs, { results: good, failures: [] }), []);
    const nanUnknown = {
      results: good.slice(0, 4),
      failures: [
        {
          server: unknownSlotName(null),
          known: false,
          reason: 'non_finite_output' as const,
          message: 'the model returned non-finite forecast values (6 of 6) through the unknown slot',
        },
      ],
    };
    assert.deepEqual(warmUpProblems(model, inputs, nanUnknown), [
      'unknown slot (profile none): non-finite forecast (NaN or Inf)',
    ]);
    const short = good.map((r, i) => (i === 1 ? { ...r, values: new Float32Array(3).fill(1) } : r));
    assert.deepEqual(warmUpProblems(model, inputs, { results: short, failures: [] }), [
      's9: 3 values, expected 6',
    ]);
    assert.match(
      warmUpProblems(model, inputs, { results: good.slice(1), failures: [] })[0]!,
      /4 forecasts and 0 failures for 5 inputs/,
    );
  });
  it('answers name where inside the registry a problem is, never the host’s absolute paths', () => {
    const roots = [['/srv/fleet/models-registry', '<registry>']] as const;
    assert.equal(
      redactPaths('/srv/fleet/models-registry/models/m1/model.onnx: onnxruntime cannot load it', roots),
      '<registry>/models/m1/model.onnx: onnxruntime cannot load it',
    );
    assert.equal(
      redactPaths('IO Error: No files found that match the pattern "/data/x/metrics.parquet"'),
      'IO Error: No files found that match the pattern "…/metrics.parquet"',
    );
    assert.equal(
      redactPaths('fetch https://git.example.com/ops/fleet.git failed in /tmp/clone (file:///srv/r.git)'),
      'fetch https://git.example.com/ops/fleet.git failed in …/clone (file:///srv/r.git)',
    );
    assert.equal(redactPaths('3/4 servers, 1/2 done'), '3/4 servers, 1/2 done');
  });
  it('formats forecasts by target and quantile', () => {
    assert.equal(quantileKey(0.1), 'p10');
    assert.equal(quantileKey(0.025), 'p2.5');
    const values = Float32Array.from([1, 2, 3, 4.123456, 5, 6]);
    const out = formatForecast(
      { server: 's1', known: true, serverIndex: 1, start: 3600, stepSeconds: 3600, values },
      encoders,
      'web',
      7200,
    );
    assert.deepEqual(out.forecast, { cpu_pct: { p10: [1, 4.123], p50: [2, 5], p90: [3, 6] } });
    assert.equal(out.start, '1970-01-01T01:00:00.000Z');
    assert.deepEqual([out.data_time, out.stale], ['1970-01-01T01:00:00.000Z', true]);
  });
  it('rounds forecast values to 4 significant digits with short JSON text', () => {
    const cases: Array<[number, string]> = [
      [123.456789, '123.5'],
      [0.000123456, '0.0001235'],
      [-45.67891, '-45.68'],
      [98765.4321, '98770'],
      [1e21 + 7, '1e+21'],
      [0, '0'],
      [0.3, '0.3'],
    ];
    for (const [value, text] of cases) assert.equal(JSON.stringify(round4Significant(value)), text);
    assert.ok(Number.isNaN(round4Significant(Number.NaN)));
    for (let i = 0; i < 2000; i++) {
      const v = (Math.random() - 0.5) * 10 ** (Math.random() * 12 - 4);
      const r = round4Significant(v);
      assert.ok(Math.abs(r - v) <= Math.abs(v) * 5e-4, `${v} -> ${r}`);
      // significant digits: no sign, exponent or point, no leading or trailing zeros
      const digits = JSON.stringify(r)
        .replace(/^-|e.*$|\./g, '')
        .replace(/^0+|0+$/g, '');
      assert.ok(digits.length <= 4, `${v} -> ${r}`);
    }
  });
  it('parses durations and rejects bad ones', () => {
    assert.equal(parseDuration('30s', '--x'), 30_000);
    assert.equal(parseDuration('1h', '--x'), 3_600_000);
    assert.equal(parseDuration('250ms', '--x'), 250);
    assert.equal(parseDuration('2', '--x'), 2000); // a bare number is seconds
    assert.equal(parseDuration(' 1.5h ', '--x'), 5_400_000);
    assert.equal(parseDuration('7d', '--x'), 604_800_000);
    assert.throws(() => parseDuration('soon', '--interval'), /--interval: invalid duration "soon"/);
    assert.throws(() => parseDuration('', '--interval'), /--interval: invalid duration/);
    assert.throws(() => parseDuration('0', '--poll'), /--poll: duration must be positive/);
    assert.throws(() => parseDuration('-5m', '--poll'), /--poll: duration must be positive/);
  });
});

describe('ModelSlot', () => {
  it('swaps atomically and releases the old model after its last lease', async () => {
    const released: string[] = [];
    const slot = new ModelSlot();
    slot.swap(fakeModel('a', released));
    const l1 = slot.acquire()!;
    const l2 = slot.acquire()!;
    slot.swap(fakeModel('b', released));
    assert.equal(slot.current?.id, 'b');
    assert.equal(l1.model.id, 'a');
    l1.done();
    l1.done(); // extra calls are ignored
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(released, []);
    l2.done();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(released, ['a']);
    await slot.close();
    assert.deepEqual(released, ['a', 'b']);
    assert.equal(slot.acquire(), null);
  });
});

describe('WindowCache', () => {
  it('coalesces loads of one shape and keeps the old snapshot until the new one is complete', async () => {
    let loads = 0;
    let release: () => void = () => {};
    const cache = new WindowCache(async () => {
      loads++;
      if (loads > 1) await new Promise<void>((r) => (release = r));
      return { windows: new Map(), newestData: null };
    });
    const shape = { resolution_seconds: 60, lookback_steps: 2, observed_features: ['a'] };
    const first = await cache.ensure(shape);
    const [a, b] = [cache.refresh(shape), cache.refresh(shape)];
    assert.equal(cache.get(shape), first);
    await new Promise((r) => setImmediate(r));
    release();
    assert.equal(await a, await b);
    assert.equal(loads, 2);
    assert.notEqual(cache.get(shape), first);
    assert.ok(cache.get(shape)!.cycle > first.cycle, 'each load is a new forecast cycle');
    cache.retainOnly([]);
    assert.equal(cache.get(shape), undefined);
  });
});
