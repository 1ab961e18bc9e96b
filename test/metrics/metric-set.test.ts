import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import { queryResampled } from '../../src/features/resample.js';
import { loadRecentWindows } from '../../src/features/windows.js';
import { ContractView } from '../../src/metrics/contract-view.js';
import { sqlString, withDuckDb } from '../../src/metrics/duckdb.js';
import {
  loadMetricSetConfig,
  metricSetConfig,
  resolveMetricSet,
  type MetricSetFile,
} from '../../src/metrics/metric-set.js';
import { openMetricsSource } from '../../src/metrics/source.js';

/** The metric set is configuration, and readers see every source through the contract view. */

const file = (doc: Partial<MetricSetFile>): MetricSetFile => ({ format_version: 1, columns: {}, ...doc });

describe('metric set resolution', () => {
  it('defaults to the default targets the source has, other metrics as covariates, extras ignored with a note', () => {
    const set = resolveMetricSet(
      metricSetConfig(),
      new Set(['timestamp', 'server_name', 'cpu_cores', 'cpu_pct', 'mem_pct', 'net_in_mbps']),
      'test source',
    );
    assert.deepEqual(set.targets, ['cpu_pct', 'mem_pct']);
    assert.deepEqual(set.covariates, ['net_in_mbps']);
    assert.deepEqual(
      set.features.map((f) => f.name),
      ['cpu_pct', 'mem_pct', 'net_in_mbps'],
    );
    assert.match(set.notes.join('\n'), /latency_ms not in the source/);
    assert.match(set.notes.join('\n'), /ignored: cpu_cores/);
  });

  it('takes a source with only timestamp, server_name and cpu_pct', () => {
    const set = resolveMetricSet(metricSetConfig(), new Set(['timestamp', 'server_name', 'cpu_pct']), 'src');
    assert.deepEqual(set.targets, ['cpu_pct']);
    assert.deepEqual(set.covariates, []);
  });

  it('refuses a source with none of the default targets, naming the file to write', () => {
    assert.throws(
      () => resolveMetricSet(metricSetConfig(), new Set(['timestamp', 'server_name', 'disk_io_mbps']), 'src'),
      (e: unknown) => e instanceof InputError && /config\/metric_set\.json/.test(e.message),
    );
  });

  it('uses configured targets and covariates, including a declared column, and names a missing one', () => {
    const config = metricSetConfig(
      file({
        targets: ['gpu_pct', 'cpu_pct'],
        covariates: ['net_in_mbps'],
        columns: {
          gpu_pct: {
            unit: '%',
            description: '',
            min: 0,
            max: 100,
            transform: 'none',
            std_floor: 1,
            out_of_range: 'clip',
          },
        },
      }),
      'metric_set.json',
    );
    const set = resolveMetricSet(
      config,
      new Set(['timestamp', 'server_name', 'gpu_pct', 'cpu_pct', 'net_in_mbps']),
      'src',
    );
    assert.deepEqual(set.targets, ['gpu_pct', 'cpu_pct']);
    assert.equal(set.features[0]!.max, 100);
    assert.throws(
      () => resolveMetricSet(config, new Set(['timestamp', 'server_name', 'cpu_pct', 'net_in_mbps']), 'src'),
      /src: has no column 'gpu_pct', listed as targets in metric_set\.json/,
    );
  });

  it('rejects unknown targets, redeclared contract columns and a column in both lists', () => {
    assert.throws(
      () => metricSetConfig(file({ targets: ['gpu_pct'] }), 'f'),
      /targets\[0\]: 'gpu_pct' is neither/,
    );
    assert.throws(
      () =>
        metricSetConfig(
          file({
            columns: {
              cpu_pct: {
                unit: '%',
                description: '',
                min: 0,
                max: 200,
                transform: 'none',
                std_floor: 1,
                out_of_range: 'clip',
              },
            },
          }),
          'f',
        ),
      /columns\.cpu_pct: is a data-contract column/,
    );
    assert.throws(
      () => metricSetConfig(file({ targets: ['cpu_pct'], covariates: ['cpu_pct'] }), 'f'),
      /both a target and a covariate/,
    );
  });

  it('reads the file with unknown keys refused by name, and a named file must exist', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetcast-metric-set-'));
    try {
      const path = join(dir, 'metric_set.json');
      await writeFile(path, JSON.stringify({ format_version: 1, targets: ['cpu_pct'], tragets: [] }));
      await assert.rejects(loadMetricSetConfig(path), /tragets/);
      await writeFile(
        path,
        JSON.stringify({ format_version: 1, targets: ['cpu_pct'], profile_column: 'role' }),
      );
      const config = await loadMetricSetConfig(path);
      assert.deepEqual(config.targets, ['cpu_pct']);
      assert.equal(config.profileColumn, 'role');
      await assert.rejects(loadMetricSetConfig(join(dir, 'absent.json')), /--metric-set: file not found/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('contract view over a real parquet file (DuckDB)', () => {
  let dir: string;
  let parquet: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-contract-view-'));
    parquet = join(dir, 'm.parquet');
    // Two servers, 1-hour buckets of 5-minute samples: cpu 182 % (overcommitted), NaN, Inf, a
    // duplicate row, no profile, latency or error_rate columns; a `role` column and a stray one.
    await withDuckDb(
      (conn) =>
        conn.run(`COPY (
          SELECT TIMESTAMP '2013-07-01 00:00:00' + to_minutes(5 * (k % 12)) AS timestamp, s AS server_name,
                 CASE WHEN s = 'vm-1' AND k = 0 THEN 182.0
                      WHEN s = 'vm-2' AND k = 1 THEN 'NaN'::DOUBLE
                      WHEN s = 'vm-2' AND k = 2 THEN 'Infinity'::DOUBLE
                      ELSE 10.0 END AS cpu_pct,
                 CASE WHEN s = 'vm-1' THEN NULL ELSE 40.0 END AS mem_pct,
                 CASE WHEN s = 'vm-1' AND k < 6 THEN 'batch' ELSE 'web' END AS role,
                 4 AS cpu_cores
          FROM range(13) r(k), (VALUES ('vm-1'), ('vm-2')) v(s)
        ) TO ${sqlString(parquet)} (FORMAT parquet)`),
      { access: { directories: [dir] } },
    );
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  async function resampled(view: ContractView) {
    return withDuckDb(async (conn) =>
      queryResampled(conn, view, { features: ['cpu_pct', 'mem_pct', 'latency_ms'], resolutionSeconds: 3600 }),
    );
  }

  it('clips out-of-range values, drops non-finite ones, NULLs absent columns and averages duplicates', async () => {
    const rows = await resampled(new ContractView(openMetricsSource(parquet)));
    assert.deepEqual(rows.servers, ['vm-1', 'vm-2']);
    const at = (r: number, f: number) => rows.values[r * 3 + f]!;
    // vm-1: the 182 % sample counts as 100; k = 12 is a conflicting duplicate of k = 0 (10 %): averaged
    assert.ok(Math.abs(at(0, 0) - (100 + 10 * 12) / 13) < 1e-4, `vm-1 cpu ${at(0, 0)}`);
    assert.ok(Number.isNaN(at(0, 1)), 'vm-1 has no memory provisioned: missing, not zero');
    assert.ok(Number.isNaN(at(0, 2)), 'latency_ms is absent from the source');
    assert.equal(at(1, 0), 10, 'NaN and Inf samples are missing samples, not poison');
    assert.equal(at(1, 1), 40);
    assert.deepEqual(rows.profiles, ['', ''], 'no profile column: the reader falls back');
  });

  it('takes the profile from the configured column, the latest one when it changed', async () => {
    const config = metricSetConfig(file({ profile_column: 'role' }), 'f');
    const rows = await resampled(new ContractView(openMetricsSource(parquet), config));
    assert.deepEqual(rows.profiles, ['web', 'web']);
  });

  it('drops out-of-range values of a column whose policy says null, and passes unknown columns through', async () => {
    const config = metricSetConfig(
      file({
        columns: {
          cpu_cores: {
            unit: 'cores',
            description: '',
            min: 0,
            max: 2,
            transform: 'none',
            std_floor: 1,
            out_of_range: 'null',
          },
        },
      }),
      'f',
    );
    const rows = await withDuckDb(async (conn) =>
      queryResampled(conn, new ContractView(openMetricsSource(parquet), config), {
        features: ['cpu_cores'],
        resolutionSeconds: 3600,
      }),
    );
    assert.ok(Number.isNaN(rows.values[0]!), '4 cores is outside [0, 2]: a missing sample, not 2');
    const raw = await withDuckDb(async (conn) =>
      queryResampled(conn, new ContractView(openMetricsSource(parquet)), {
        features: ['cpu_cores'],
        resolutionSeconds: 3600,
      }),
    );
    assert.equal(raw.values[0], 4, 'an undeclared column passes through unchanged');
  });

  it('reads a metric a server has no value for as its minimum, flagged, only when the model declares ranges', async () => {
    const view = new ContractView(openMetricsSource(parquet));
    const shape = { resolution_seconds: 300, lookback_steps: 6, observed_features: ['cpu_pct', 'mem_pct'] };
    const without = await loadRecentWindows(view, ['vm-1', 'vm-2'], shape);
    assert.deepEqual([...without.windows.keys()], ['vm-2'], 'vm-1 has no memory figure: no window');
    const withRanges = await loadRecentWindows(view, ['vm-1', 'vm-2'], {
      ...shape,
      metrics: { cpu_pct: { min: 0 }, mem_pct: { min: 0 } },
    });
    const vm1 = withRanges.windows.get('vm-1')!;
    assert.deepEqual(vm1.imputed, ['mem_pct']);
    assert.deepEqual([...vm1.input.past.filter((_, i) => i % 2 === 1)], [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(withRanges.windows.get('vm-2')!.imputed, []);
  });

  it('refuses relation() before prepare()', () => {
    assert.throws(() => new ContractView(openMetricsSource(parquet)).relation(), /before prepare/);
  });
});
