import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildDataset, buildDatasetDir } from '../../src/dataset/build.js';
import { readDataset, serverValues } from '../../src/dataset/format.js';
import { chooseHoldout, fnv1a32 } from '../../src/dataset/holdout.js';
import { computeSplit } from '../../src/dataset/split.js';
import { ParquetSource } from '../../src/metrics/source.js';
import { assignServerIndices } from '../../src/registry/mapping.js';
import { InputError } from '../../src/core/errors.js';
import { writeSyntheticMetrics, type SyntheticServer } from './fixtures/metrics.js';

const END = new Date('2026-11-20T00:00:00Z');
const servers: SyntheticServer[] = [
  { name: 'web-01', profile: 'web' },
  { name: 'web-02', profile: 'web' },
  { name: 'db-01', profile: 'database' },
  { name: 'short-01', profile: 'api', historyHours: 36 },
];

describe('dataset builder', () => {
  let dir: string;
  let parquet: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-dataset-'));
    parquet = join(dir, 'metrics.parquet');
    await writeSyntheticMetrics(parquet, servers, { days: 10, end: END });
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const shape = { resolutionSeconds: 900, lookbackSteps: 96, horizonSteps: 16 };

  it('writes dataset.json + dataset.f32 in mapping order with the held-out split', async () => {
    const manifest = ['web-02', 'db-01', 'web-01'];
    const mapping = assignServerIndices(
      { format_version: 1, servers: { 'web-02': 1 }, retired: {}, next_index: 2 },
      manifest,
    );
    const lines: string[] = [];
    const out = join(dir, 'ds');
    await buildDatasetDir(out, {
      source: new ParquetSource(parquet),
      servers: manifest.map((name) => ({ name })),
      mapping,
      ...shape,
      days: 8,
      progress: (l) => lines.push(l),
    });
    assert.deepEqual((await readdir(out)).sort(), ['dataset.f32', 'dataset.json']);
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.includes('tmp')),
      [],
    );
    const { header, values } = await readDataset(out);
    assert.equal(header.n_steps, 8 * 96);
    assert.equal(header.start, '2026-11-12T00:00:00.000Z');
    assert.deepEqual(
      header.servers.map((s) => [s.name, s.index, s.profile, s.profile_index]),
      [
        ['web-02', 1, 'web', 2],
        ['db-01', 2, 'database', 1],
        ['web-01', 3, 'web', 2],
      ],
    );
    assert.deepEqual(header.profiles, ['database', 'web']);
    assert.deepEqual(header.split, { train_end_step: 8 * 96 - 2 * 96, valid_end_step: 8 * 96 });
    assert.equal(values.length, 3 * 8 * 96 * 7);
    const web02 = serverValues({ header, values }, 0);
    assert.ok(
      web02.every((v) => Number.isFinite(v)),
      'a complete series has no gaps',
    );
    // cpu of the first bucket: mean of the three 5-minute samples in it
    assert.ok(web02[0]! >= 0 && web02[0]! <= 100);
    assert.ok(
      lines.some((l) => /3 servers \(0 holdout\)/.test(l)),
      lines.join('\n'),
    );
  });

  it('stops before training, naming the servers, when data is missing or too short', async () => {
    const manifest = ['web-01', 'short-01', 'ghost-01'];
    await assert.rejects(
      buildDataset({
        source: new ParquetSource(parquet),
        servers: manifest.map((name) => ({ name, profile: 'web' })),
        mapping: assignServerIndices(null, manifest),
        ...shape,
        days: 8,
      }),
      (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(error.message, /fails the checks for 2 of 3 manifest servers; nothing was trained/);
        assert.match(error.message, /ghost-01: no data between 2026-11-12T00:00:00\.000Z/);
        assert.match(error.message, /short-01: only 1\.5 days of history .* at least 7 days needed/);
        assert.doesNotMatch(error.message, /web-01/);
        return true;
      },
    );
  });

  it('clips values outside the data contract range instead of refusing them (DATA_CONTRACT.md, "Dirty data")', async () => {
    const hot = join(dir, 'hot.parquet');
    await writeSyntheticMetrics(hot, [{ name: 'hot-01', profile: 'web', scale: 30 }], { days: 8, end: END });
    const { dataset } = await buildDataset({
      source: new ParquetSource(hot),
      servers: [{ name: 'hot-01' }],
      mapping: assignServerIndices(null, ['hot-01']),
      ...shape,
      days: 8,
    });
    const F = dataset.header.features.length;
    const mem = dataset.header.features.indexOf('mem_pct');
    let max = 0;
    for (let i = mem; i < dataset.values.length; i += F)
      if (dataset.values[i]! > max) max = dataset.values[i]!;
    assert.equal(max, 100, 'memory above 100 % reads as 100');
    assert.equal(dataset.header.metrics.mem_pct?.max, 100);
  });

  it('rejects a window too short for the split', async () => {
    await assert.rejects(
      buildDataset({
        source: new ParquetSource(parquet),
        servers: [{ name: 'web-01' }],
        mapping: assignServerIndices(null, ['web-01']),
        ...shape,
        days: 2,
        quality: { minHistoryDays: 1, minObservedFraction: 0.8 },
      }),
      /fewer than one training window/,
    );
  });
});

describe('holdout choice', () => {
  it('holds out 5 % (at least 1) from 10 servers, stably', () => {
    const fleet = Array.from({ length: 40 }, (_, i) => `srv-${String(i).padStart(3, '0')}`);
    const chosen = chooseHoldout(fleet);
    assert.equal(chosen.size, 2);
    assert.deepEqual(chooseHoldout([...fleet].reverse()), chosen, 'order does not matter');
    assert.equal(chooseHoldout(fleet.slice(0, 9)).size, 0);
    assert.equal(chooseHoldout(fleet.slice(0, 10)).size, 1);
    const grown = chooseHoldout([...fleet, 'srv-new']);
    assert.ok(
      [...chosen].filter((s) => grown.has(s)).length >= 1,
      'adding a server keeps most of the choice',
    );
  });
  it('gives each profile its share of the holdout', () => {
    // 40 servers: 28 web, 8 batch, 4 db; 10 % = 4 → 2.8 / 0.8 / 0.4 → web 3, batch 1, db 0
    const profile = (i: number) => (i < 28 ? 'web' : i < 36 ? 'batch' : 'db');
    const fleet = Array.from({ length: 40 }, (_, i) => `srv-${String(i).padStart(3, '0')}`);
    const profileOf = (name: string) => profile(Number(name.slice(4)));
    const chosen = chooseHoldout(fleet, { fraction: 0.1, minFleet: 10 }, profileOf);
    const byProfile = (p: string) => [...chosen].filter((s) => profileOf(s) === p).length;
    assert.deepEqual([byProfile('web'), byProfile('batch'), byProfile('db')], [3, 1, 0]);
    // within a profile: the smallest hashes
    const batch = fleet.filter((s) => profileOf(s) === 'batch').sort((a, b) => fnv1a32(a) - fnv1a32(b));
    assert.ok(chosen.has(batch[0]!));
    assert.deepEqual(chooseHoldout([...fleet].reverse(), { fraction: 0.1, minFleet: 10 }, profileOf), chosen);
  });
  it('matches the fleet load: one holdout server per activity stratum, never a block of idle ones', () => {
    // 100 servers, a third idle (activity under 1), the rest spread up to 90; 10 % held out.
    const fleet = Array.from({ length: 100 }, (_, i) => `vm-${i}`);
    const activity = (name: string) => {
      const i = Number(name.slice(3));
      return i % 3 === 0 ? 0.1 + i / 1000 : i * 0.9;
    };
    const chosen = chooseHoldout(fleet, { fraction: 0.1, minFleet: 10 }, () => 'default', activity);
    assert.equal(chosen.size, 10);
    const ranked = [...fleet].sort((a, b) => activity(a) - activity(b));
    const deciles = [...chosen].map((s) => Math.floor(ranked.indexOf(s) / 10)).sort((a, b) => a - b);
    assert.deepEqual(deciles, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const idle = [...chosen].filter((s) => activity(s) < 1).length;
    assert.ok(idle >= 3 && idle <= 4, `idle share of the holdout ${idle}/10 matches the fleet's third`);
    assert.deepEqual(
      chooseHoldout([...fleet].reverse(), { fraction: 0.1, minFleet: 10 }, () => 'default', activity),
      chosen,
      'deterministic',
    );
  });
  it('uses 32-bit FNV-1a', () => {
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
  });
});

describe('split', () => {
  it('holds out two days, at least one horizon', () => {
    assert.deepEqual(
      computeSplit({
        nSteps: 2880,
        resolutionSeconds: 900,
        lookbackSteps: 96,
        horizonSteps: 24,
        heldOutDays: 2,
      }),
      {
        train_end_step: 2688,
        valid_end_step: 2880,
      },
    );
    assert.equal(
      computeSplit({
        nSteps: 2880,
        resolutionSeconds: 900,
        lookbackSteps: 96,
        horizonSteps: 300,
        heldOutDays: 2,
      }).train_end_step,
      2580,
    );
  });
});
