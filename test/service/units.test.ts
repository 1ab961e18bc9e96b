import assert from 'node:assert/strict';
import { writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseDuration } from '../../src/core/duration.js';
import { mergeFleet } from '../../src/service/fleet.js';
import { formatForecast, quantileKey, round4Significant } from '../../src/service/forecast-format.js';
import { ModelSlot } from '../../src/service/model-slot.js';
import { PointerWatcher } from '../../src/service/pointer-watch.js';
import { driftPriority, fleetCoverage, fleetDrift, modelAge } from '../../src/service/status.js';
import type { ServingModel } from '../../src/service/types.js';
import { UnknownPredictionTracker, unknownRateLevel } from '../../src/service/unknown-tracker.js';
import { missingFromVocabulary, warmUpInputs, warmUpProblems } from '../../src/service/warm-up.js';
import { WindowCache } from '../../src/service/window-cache.js';
import type { Encoders } from '../../src/registry/schemas.js';
import { redactRemote, GitRegistryClone } from '../../src/service/git-follow.js';
import { removeDir, syntheticWindows, tempDir } from './fixtures.js';

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
    forecast: async () => [],
    release: async () => {
      released.push(id);
    },
  };
}

describe('unknown-prediction tracking', () => {
  it('uses the seed levels at the boundaries', () => {
    assert.equal(unknownRateLevel(0), 'acceptable');
    assert.equal(unknownRateLevel(4.99), 'acceptable');
    assert.equal(unknownRateLevel(5), 'warning');
    assert.equal(unknownRateLevel(15), 'warning');
    assert.equal(unknownRateLevel(15.01), 'critical');
  });
  it('counts over a rolling window and forgets old predictions', () => {
    let now = 1_000_000_000_000;
    const tracker = new UnknownPredictionTracker(3600, () => now);
    for (let i = 0; i < 80; i++) tracker.record(`k${i}`, true);
    for (let i = 0; i < 20; i++) tracker.record('new-1', false);
    let stats = tracker.stats();
    assert.deepEqual([stats.unknown, stats.total, stats.rate_pct, stats.level], [20, 100, 20, 'critical']);
    assert.deepEqual(stats.servers, ['new-1']);
    now += 1800_000;
    for (let i = 0; i < 100; i++) tracker.record('k', true);
    stats = tracker.stats();
    assert.deepEqual([stats.unknown, stats.total, stats.rate_pct, stats.level], [20, 200, 10, 'warning']);
    now += 1860_000; // the first batch is now older than the window
    stats = tracker.stats();
    assert.deepEqual([stats.unknown, stats.total, stats.level], [0, 100, 'acceptable']);
    now += 7200_000;
    assert.equal(tracker.stats().total, 0);
  });
});

describe('pure service helpers', () => {
  it('drift, coverage and model age follow the seed formulas', () => {
    const model = { vocabulary: new Set(Array.from({ length: 20 }, (_, i) => `s${i}`)) };
    const fleet = [
      ...Array.from({ length: 18 }, (_, i) => ({ name: `s${i}`, profile: null, inManifest: true })),
      ...Array.from({ length: 5 }, (_, i) => ({ name: `n${i}`, profile: null, inManifest: true })),
    ];
    const drift = fleetDrift(model, fleet, true);
    assert.equal(drift.drift_pct, 35); // the seed's example: 20 known, 5 new, 2 sunset
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
  it('mergeFleet keeps manifest servers and adds live ones, sorted', () => {
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
        { name: 'c-1', profile: null },
        { name: 'a-1', profile: 'api' },
      ],
      windows,
    );
    assert.deepEqual(fleet, [
      { name: 'a-1', profile: 'api', inManifest: true },
      { name: 'b-1', profile: 'db', inManifest: false },
      { name: 'c-1', profile: 'web', inManifest: true },
    ]);
  });
  it('warm-up checks vocabulary, completeness and finiteness', () => {
    const model = fakeModel('tft-20261001T000000Z-abcdef');
    const expected = [
      { name: 's1', profile: 'web', inManifest: true },
      { name: 's9', profile: 'web', inManifest: true },
      { name: 'x', profile: null, inManifest: false },
    ];
    assert.deepEqual(missingFromVocabulary(model, expected), ['s9']);
    const inputs = warmUpInputs(model, expected, new Map(), 1_800_000_000);
    assert.equal(inputs.length, 3);
    assert.equal(inputs[0]!.past.length, 8);
    const good = inputs.map((i) => ({
      server: i.server,
      known: true,
      serverIndex: 1,
      start: 0,
      stepSeconds: 3600,
      values: new Float32Array(6).fill(1),
    }));
    assert.deepEqual(warmUpProblems(model, inputs, good), []);
    const bad = good.map((r, i) => (i === 1 ? { ...r, values: new Float32Array(6).fill(Number.NaN) } : r));
    assert.deepEqual(warmUpProblems(model, inputs, bad), ['s9: non-finite forecast (NaN or Inf)']);
    assert.match(warmUpProblems(model, inputs, good.slice(1))[0]!, /2 forecasts for 3 servers/);
  });
  it('formats forecasts by target and quantile', () => {
    assert.equal(quantileKey(0.1), 'p10');
    assert.equal(quantileKey(0.025), 'p2.5');
    const values = Float32Array.from([1, 2, 3, 4.123456, 5, 6]);
    const out = formatForecast(
      { server: 's1', known: true, serverIndex: 1, start: 3600, stepSeconds: 3600, values },
      encoders,
      'web',
    );
    assert.deepEqual(out.forecast, { cpu_pct: { p10: [1, 4.123], p50: [2, 5], p90: [3, 6] } });
    assert.equal(out.start, '1970-01-01T01:00:00.000Z');
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
    assert.equal(parseDuration('2', '--x'), 2000);
    assert.throws(() => parseDuration('soon', '--interval'), /--interval: invalid duration/);
  });
  it('redacts credentials in remotes and validates branch names', async () => {
    assert.equal(redactRemote('https://user:secret@example.com/r.git'), 'https://***@example.com/r.git');
    assert.equal(redactRemote('/srv/git/r.git'), '/srv/git/r.git');
    // Refused before git runs (src/core/branch-name.ts owns the rule).
    for (const branch of ['main;rm -rf', 'a..b', 'release/.hidden', 'a.lock/b'])
      await assert.rejects(
        GitRegistryClone.create('/nonexistent/remote.git', branch, '/nonexistent/clone'),
        /--branch: invalid branch name/,
      );
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
    cache.retainOnly([]);
    assert.equal(cache.get(shape), undefined);
  });
});

describe('PointerWatcher', () => {
  it('notices a file replaced by rename, by events or by polling', async () => {
    const dir = await tempDir();
    const path = join(dir, 'current.json');
    await writeFile(path, '{"v":1}');
    let changes = 0;
    const watcher = new PointerWatcher(path, () => changes++, { pollMs: 100, debounceMs: 10 });
    await watcher.start();
    try {
      await writeFile(join(dir, '.tmp'), '{"v":2}');
      await rename(join(dir, '.tmp'), path);
      for (let i = 0; i < 50 && changes === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(changes, 1);
      await writeFile(path, '{"v":2}'); // same content: no change
      await new Promise((r) => setTimeout(r, 250));
      assert.equal(changes, 1);
    } finally {
      watcher.stop();
      await removeDir(dir);
    }
  });
});
