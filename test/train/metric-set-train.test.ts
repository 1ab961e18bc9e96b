import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderManifest } from '../../src/fleet/manifest.js';
import { sqlString, withDuckDb } from '../../src/metrics/duckdb.js';
import { generateFleet } from '../../src/synthetic/generator.js';
import { fleetcastInProcess } from '../helpers/cli-capture.js';
import { writeLooseGates } from '../validate/fixtures/fleet.js';

/**
 * The metric set is configuration: a source with only timestamp, server_name and cpu_pct trains
 * a cpu-only model that records its metric set and forecasts within 0..100; a constant target
 * named in config/metric_set.json is refused before training, by name.
 */
const END = new Date('2013-10-15T00:00:00Z');

describe('training on the metric set a source really has', () => {
  let dir: string;
  let cpuOnly: string;
  let withZeros: string;
  let manifest: string;
  let gates: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-metric-set-train-'));
    const full = join(dir, 'full.parquet');
    const fleet = await generateFleet({ servers: 4, days: 12, out: full, end: END, seed: 3, threads: 1 });
    cpuOnly = join(dir, 'cpu-only.parquet');
    withZeros = join(dir, 'with-zeros.parquet');
    await withDuckDb(
      async (conn) => {
        // cpu 182 % on one sample: a real reading of an overcommitted host, clipped by the readers
        await conn.run(
          `COPY (SELECT timestamp, server_name,
                        CASE WHEN row_number() OVER (ORDER BY server_name, timestamp) = 7 THEN 182.0 ELSE cpu_pct END AS cpu_pct
                 FROM read_parquet(${sqlString(full)})) TO ${sqlString(cpuOnly)} (FORMAT parquet)`,
        );
        await conn.run(
          `COPY (SELECT timestamp, server_name, cpu_pct, 0.0 AS latency_ms FROM read_parquet(${sqlString(full)}))
           TO ${sqlString(withZeros)} (FORMAT parquet)`,
        );
      },
      { access: { directories: [dir] } },
    );
    manifest = join(dir, 'manifest.json');
    const servers = fleet.plan.servers
      .map((s) => ({ name: s.name, profile: 'default', first_seen: '2013-10-01' }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    await writeFile(manifest, renderManifest({ format_version: 1, servers }));
    gates = await writeLooseGates(join(dir, 'gates.json'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('a source with only timestamp, server_name and cpu_pct trains a cpu-only model', async () => {
    const registry = join(dir, 'registry');
    const result = await fleetcastInProcess([
      'train',
      '--metrics',
      cpuOnly,
      '--manifest',
      manifest,
      '--registry',
      registry,
      '--profile',
      'smoke',
      '--epochs',
      '1',
      '--days',
      '10',
      '--gates',
      gates,
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /metric set: targets cpu_pct; covariates none/);
    assert.match(result.stderr, /targets: mem_pct, latency_ms not in the source, not forecast/);
    const { model_id: id } = JSON.parse(result.stdout) as { model_id: string };
    const encoders = JSON.parse(await readFile(join(registry, 'models', id, 'encoders.json'), 'utf8')) as {
      targets: string[];
      observed_features: string[];
      metrics: Record<string, { min: number; max: number | null; unit: string }>;
    };
    assert.deepEqual(encoders.targets, ['cpu_pct']);
    assert.deepEqual(encoders.observed_features, ['cpu_pct']);
    assert.deepEqual(encoders.metrics.cpu_pct, {
      unit: '%',
      min: 0,
      max: 100,
      transform: 'none',
      std_floor: 1,
    });
    // the service reads data for this model through its own record and serves cpu only
    const validate = await fleetcastInProcess([
      'validate',
      '--model-dir',
      join(registry, 'models', id),
      '--manifest',
      manifest,
      '--metrics',
      cpuOnly,
      '--gates',
      gates,
      '--json',
    ]);
    assert.equal(validate.code, 0, validate.stderr);
    assert.match(validate.stderr, /forecast 4 of 4 manifest servers/);
  });

  it('refuses a constant target named in the metric set, naming it, before training', async () => {
    const set = join(dir, 'metric_set.json');
    await writeFile(set, JSON.stringify({ format_version: 1, targets: ['cpu_pct', 'latency_ms'] }));
    const result = await fleetcastInProcess([
      'train',
      '--metrics',
      withZeros,
      '--metric-set',
      set,
      '--manifest',
      manifest,
      '--registry',
      join(dir, 'registry-zeros'),
      '--profile',
      'smoke',
      '--epochs',
      '1',
      '--days',
      '10',
      '--gates',
      gates,
    ]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /target latency_ms is 0 everywhere in the training window/);
  });

  it('names a configured column the source lacks', async () => {
    const set = join(dir, 'metric_set-mem.json');
    await writeFile(set, JSON.stringify({ format_version: 1, targets: ['cpu_pct', 'mem_pct'] }));
    const result = await fleetcastInProcess([
      'train',
      '--metrics',
      cpuOnly,
      '--metric-set',
      set,
      '--manifest',
      manifest,
      '--registry',
      join(dir, 'registry-mem'),
      '--profile',
      'smoke',
    ]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /has no column 'mem_pct', listed as targets in .*metric_set-mem\.json/);
  });
});
