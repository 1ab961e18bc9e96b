import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeFleet, runCli, writeManifestFile, type FleetServer } from './fixtures/fleet.js';

describe('fleetcast train stops before writing a bad model', () => {
  let dir: string;
  let parquet: string;
  let fleet: FleetServer[];
  const registry = () => join(dir, 'registry');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-train-gates-'));
    ({ parquet, servers: fleet } = await makeFleet(dir, 4, 9));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('bad training data stops with a clear error before training starts', async () => {
    const manifest = await writeManifestFile(join(dir, 'ghost.json'), [
      ...fleet,
      { name: 'ghost-0001', profile: 'web' },
    ]);
    const result = await runCli([
      'train',
      '--metrics',
      parquet,
      '--manifest',
      manifest,
      '--registry',
      registry(),
      '--profile',
      'smoke',
      '--days',
      '9',
    ]);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /fails the checks for 1 of 5 manifest servers; nothing was trained/);
    assert.match(result.stderr, /ghost-0001: no data between/);
    assert.doesNotMatch(result.stderr, /train: epoch/, 'the trainer never started');
    assert.equal(existsSync(join(registry(), 'models')), false);
  });

  it('too little history is named per server', async () => {
    const manifest = await writeManifestFile(join(dir, 'all.json'), fleet);
    const result = await runCli([
      'train',
      '--metrics',
      parquet,
      '--manifest',
      manifest,
      '--registry',
      registry(),
      '--profile',
      'smoke',
      '--days',
      '5',
    ]);
    assert.equal(result.status, 2);
    // a 5-day window holds only 5 days of history: every server is short of the 7 required
    for (const s of fleet) assert.match(result.stderr, new RegExp(`${s.name}: only 5\\.0 days of history`));
  });

  it('failed gates: exit 3, nothing in the registry, the work dir kept with the report', async () => {
    const manifest = await writeManifestFile(join(dir, 'all.json'), fleet);
    const gates = join(dir, 'strict.json');
    // no model beats seasonal naive by a factor of 10^4: this gate must fail
    await writeFile(gates, JSON.stringify({ accuracy: { max_ratio_vs_seasonal_naive: { '0.5': 0.0001 } } }));
    const work = join(dir, 'work');
    const result = await runCli([
      'train',
      '--metrics',
      parquet,
      '--manifest',
      manifest,
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
      '--work-dir',
      work,
    ]);
    assert.equal(result.status, 3, result.stderr);
    assert.match(result.stdout, /\[FAIL\] p50 vs seasonal naive: cpu_pct/);
    assert.match(result.stdout, /failed validation and was NOT written to the registry; work files kept in /);
    assert.deepEqual(
      existsSync(join(registry(), 'models')) ? await readdir(join(registry(), 'models')) : [],
      [],
    );
    const report = JSON.parse(await readFile(join(work, 'validation.json'), 'utf8')) as {
      passed: boolean;
      coverage: { percent: number };
    };
    assert.equal(report.passed, false);
    assert.equal(report.coverage.percent, 100);
    assert.equal((await readdir(join(work, 'candidate'))).length, 1);
  });
});
