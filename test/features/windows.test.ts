import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { withDuckDb } from '../../src/metrics/duckdb.js';
import { openMetricsSource } from '../../src/metrics/source.js';
import { loadRecentWindows } from '../../src/features/windows.js';
import { forwardFill } from '../../src/features/resample.js';

const FEATURES = [
  'cpu_pct',
  'mem_pct',
  'disk_io_mbps',
  'net_in_mbps',
  'net_out_mbps',
  'latency_ms',
  'error_rate',
];
const shape = { resolution_seconds: 3600, lookback_steps: 4, observed_features: FEATURES };
const base = Date.UTC(2026, 0, 1) / 1000;

describe('loadRecentWindows', () => {
  let dir: string;
  let file: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-windows-'));
    file = join(dir, 'm.parquet');
    // web-01: 10 hours, two 5-minute samples an hour (cpu = hour, hour + 1), hour 7 missing.
    // db-01: stops after hour 5. ghost: only NULL cpu. spiky: latency Inf once an hour (the
    // first sample of each hour), -Inf cpu once.
    await withDuckDb(async (conn) => {
      await conn.run(`
        COPY (
          SELECT to_timestamp(${base} + h * 3600 + m * 300) AS timestamp, 'web-01' AS server_name, 'web' AS profile,
                 (h + m)::DOUBLE AS cpu_pct, 50.0 AS mem_pct, 1.0 AS disk_io_mbps, 1.0 AS net_in_mbps,
                 1.0 AS net_out_mbps, 10.0 AS latency_ms, 0.0 AS error_rate
          FROM range(10) t(h), range(2) u(m) WHERE h <> 7
          UNION ALL
          SELECT to_timestamp(${base} + h * 3600), 'db-01', 'database', 20.0, 60.0, 1, 1, 1, 5.0, 0
          FROM range(6) t(h)
          UNION ALL
          SELECT to_timestamp(${base}), 'ghost', 'web', NULL, 1, 1, 1, 1, 1, 0
          UNION ALL
          SELECT to_timestamp(${base} + h * 3600 + m * 300), 'spiky', 'web',
                 CASE WHEN h = 8 AND m = 1 THEN '-inf'::DOUBLE ELSE 30.0 END, 50.0, 1, 1, 1,
                 CASE WHEN m = 0 THEN 'inf'::DOUBLE ELSE 12.0 END, 0
          FROM range(10) t(h), range(3) u(m)
        ) TO '${file}' (FORMAT parquet)`);
    });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('ends each window at the server’s own newest bucket and fills gaps', async () => {
    const { windows, missing } = await loadRecentWindows(
      openMetricsSource(file),
      ['web-01', 'db-01', 'ghost', 'nobody'],
      shape,
    );
    assert.deepEqual(missing.sort(), ['ghost', 'nobody']);
    const web = windows.get('web-01')!;
    assert.equal(web.input.pastStart, base + 6 * 3600);
    assert.equal(web.lastObservedStep, base / 3600 + 9);
    assert.equal(web.observedSteps, 3);
    const cpu = [0, 1, 2, 3].map((t) => web.input.past[t * FEATURES.length]);
    assert.deepEqual(cpu, [6.5, 6.5, 8.5, 9.5]); // hour 7 forward-filled from hour 6
    const db = windows.get('db-01')!;
    assert.equal(db.input.pastStart, base + 2 * 3600);
    assert.equal(db.profile, 'database');
  });

  it('treats a non-finite sample as a missing one: one Inf an hour leaves a finite window', async () => {
    const { windows, missing } = await loadRecentWindows(openMetricsSource(file), ['spiky'], shape);
    assert.deepEqual(missing, []);
    const past = windows.get('spiky')!.input.past;
    assert.ok(past.every(Number.isFinite), `window has non-finite values: ${[...past].join(',')}`);
    const latency = FEATURES.indexOf('latency_ms');
    // each hour's mean is over its finite samples only
    assert.deepEqual(
      [0, 1, 2, 3].map((t) => past[t * FEATURES.length + latency]),
      [12, 12, 12, 12],
    );
    assert.deepEqual(
      [0, 1, 2, 3].map((t) => past[t * FEATURES.length]),
      [30, 30, 30, 30],
    );
  });

  it('respects an end time and a staleness limit', async () => {
    const end = new Date((base + 10 * 3600) * 1000);
    const { windows } = await loadRecentWindows(openMetricsSource(file), undefined, shape, {
      end,
      maxStalenessSteps: 1,
    });
    // db-01 went quiet 4 hours before the end
    assert.deepEqual([...windows.keys()].sort(), ['spiky', 'web-01']);
  });

  it('forward-fills only gaps up to the limit', () => {
    const values = Float32Array.from([1, NaN, NaN, NaN, 5]);
    assert.equal(forwardFill(values, 5, 1, 2), 2);
    assert.deepEqual([...values], [1, 1, 1, NaN, 5]);
  });
});
