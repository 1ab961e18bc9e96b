import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { sqlString, withDuckDb } from '../../src/metrics/duckdb.js';
import { ParquetSource, openMetricsSource } from '../../src/metrics/source.js';
import { openPrometheusSource, type PrometheusSource } from '../../src/metrics/prometheus/source.js';
import { summarizeServers } from '../../src/metrics/summary.js';
import {
  backfill,
  expectedRow,
  nodeFixture,
  prometheusMissing,
  startPrometheus,
  writeOpenMetrics,
  type FixtureInstance,
  type RunningPrometheus,
} from '../helpers/prometheus-fixture.js';

/**
 * The Prometheus source against a real Prometheus 2.42 (Debian's), backfilled with synthetic
 * node_exporter series, read through the shipped mapping (deploy/prometheus/node-exporter-mapping.yaml).
 */

const HOUR = 3600;
const END = Date.parse('2026-11-20T00:00:00Z') / 1000;
const DAYS = 4;
const UNSAFE = ['bad host:9100', '../../etc/passwd:9100', `${'x'.repeat(140)}:9100`];
const COLUMNS = ['cpu_pct', 'mem_pct', 'disk_io_mbps', 'net_in_mbps', 'net_out_mbps'] as const;
const SHIPPED = new URL('../../deploy/prometheus/node-exporter-mapping.yaml', import.meta.url);
const missing = prometheusMissing();

interface CacheRow {
  t: number;
  server: string;
  profile: string | null;
  values: Array<number | null>;
}

async function readRows(source: PrometheusSource | ParquetSource): Promise<CacheRow[]> {
  return withDuckDb(async (conn) => {
    await source.prepare(conn);
    const reader = await conn.runAndReadAll(
      `SELECT epoch(timestamp)::BIGINT, server_name, profile, ${COLUMNS.join(', ')}
       FROM ${source.relation()} ORDER BY server_name, timestamp`,
    );
    return reader.getRows().map(([t, server, profile, ...values]) => ({
      t: Number(t),
      server: String(server),
      profile: profile === null ? null : String(profile),
      values: values.map((v) => (v === null ? null : Number(v))),
    }));
  });
}

describe('Prometheus source against a real Prometheus', { skip: missing }, () => {
  let dir: string;
  let prometheus: RunningPrometheus;
  let instances: FixtureInstance[];
  let mappingFor: (backfill: string) => Promise<string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-prom-'));
    instances = nodeFixture({
      instances: 20,
      days: DAYS,
      end: END,
      newHours: 30,
      goneHours: 40,
      unsafe: UNSAFE,
    });
    const om = join(dir, 'fixture.om');
    await writeOpenMetrics(om, instances);
    backfill(om, join(dir, 'data'));
    await rm(om);
    prometheus = await startPrometheus(join(dir, 'prom'), join(dir, 'data'));
    const shipped = parse(await readFile(SHIPPED, 'utf8')) as Record<string, unknown>;
    mappingFor = async (window: string): Promise<string> => {
      const path = join(dir, `mapping-${window}.yaml`);
      await writeFile(path, stringify({ ...shipped, backfill: window }));
      return path;
    };
  });

  after(async () => {
    await prometheus?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const open = async (cache: string, window: string, now: number): Promise<PrometheusSource> =>
    openPrometheusSource(`prometheus+${prometheus.url}#mapping=${await mappingFor(window)}`, {
      cacheRoot: join(dir, cache),
      now: () => new Date(now * 1000),
    });

  it('caches the shipped mapping value for value, skipping and counting unsafe names', async () => {
    const now = END - 12 * HOUR;
    const source = await open('cache-a', '72h', now);
    const rows = await readRows(source);
    const report = source.lastSync!;
    const from = now - 72 * HOUR;
    assert.equal(report.from, from);
    assert.equal(report.to, now);
    // 5 columns; 865 points at 5 m fit in one request each
    assert.equal(report.requests.length, 5);
    assert.equal(report.skips.unsafeNameSeries, UNSAFE.length * 5);
    assert.ok(report.skips.unsafeNameSamples > 0);
    assert.equal(report.skips.duplicateSeries, 0);
    assert.equal(report.skips.nonFiniteSamples, 0);

    const byKey = new Map(rows.map((r) => [`${r.server}@${r.t}`, r]));
    const safe = instances.filter((i) => !UNSAFE.includes(i.instance));
    let compared = 0;
    for (const inst of safe) {
      const server = inst.instance.replace(/:9100$/, '');
      for (let t = from; t <= now; t += 300) {
        const expected = expectedRow(inst, t);
        if (expected === null) continue;
        const row = byKey.get(`${server}@${t}`);
        assert.ok(row, `missing row ${server} at ${new Date(t * 1000).toISOString()}`);
        assert.equal(row.profile, inst.role);
        COLUMNS.forEach((column, c) => {
          const actual = row.values[c]!;
          const want = expected[column]!;
          assert.ok(
            Math.abs(actual - want) <= 1e-9 * Math.max(1, Math.abs(want)),
            `${server} ${column} at ${t}: ${actual} != ${want}`,
          );
        });
        compared++;
      }
    }
    assert.ok(compared > 20 * 800, `compared ${compared} rows`);
    // no names other than the safe instances; rows outside a server's samples only at its edges
    const servers = new Set(rows.map((r) => r.server));
    assert.deepEqual([...servers].sort(), safe.map((i) => i.instance.replace(/:9100$/, '')).sort());
    assert.ok(rows.length - compared <= safe.length * 2, `${rows.length - compared} extra edge rows`);
    assert.equal(report.rows, rows.length);

    // the per-server summary (what drift runs) is the same from the cache as from an export of it
    const exported = join(dir, 'export.parquet');
    await withDuckDb(
      async (conn) => {
        await source.prepare(conn);
        await conn.run(
          `COPY (SELECT * FROM ${source.relation()}) TO ${sqlString(exported)} (FORMAT parquet)`,
        );
      },
      { access: { directories: [source.cacheDir, dir] } },
    );
    const fromCache = await summarizeServers(source, { until: new Date(now * 1000) });
    const fromParquet = await summarizeServers(new ParquetSource(exported), { until: new Date(now * 1000) });
    assert.deepEqual(
      { ...fromCache, source: '' },
      { ...fromParquet, source: '' },
      'summary from the Prometheus cache and from its parquet export',
    );
    assert.equal(fromCache.servers.length, 22);
  });

  it('syncs incrementally: the second sync asks only for what is new and equals a full sync', async () => {
    const t1 = END - 12 * HOUR;
    const first = await open('cache-b', '72h', t1);
    await readRows(first);
    const filesBefore = await readdir(first.cacheDir);
    // a second source over the same cache, later: only the overlap step and the new 12 hours
    const second = await open('cache-b', '72h', END);
    const incremental = await readRows(second);
    const report = second.lastSync!;
    assert.equal(report.from, t1 - 300);
    assert.equal(report.to, END);
    assert.equal(report.requests.length, 5);
    for (const request of report.requests) {
      assert.equal(request.start, t1 - 300);
      assert.equal(request.end, END);
    }
    assert.ok(filesBefore.some((f) => f.endsWith('.parquet')));
    // up to date: a third sync within the same step makes no request
    const third = await open('cache-b', '72h', END + 60);
    await readRows(third);
    assert.equal(third.lastSync!.upToDate, true);
    assert.equal(third.lastSync!.requests.length, 0);

    const full = await open('cache-c', '84h', END);
    const fresh = await readRows(full);
    assert.equal(full.lastSync!.from, t1 - 72 * HOUR);
    assert.equal(incremental.length, fresh.length);
    assert.deepEqual(incremental, fresh);
  });

  it('is accepted as --metrics by openMetricsSource', async () => {
    const mapping = await mappingFor('2h');
    const previous = process.env.FLEETCAST_PROMETHEUS_CACHE;
    process.env.FLEETCAST_PROMETHEUS_CACHE = join(dir, 'cache-env');
    try {
      const source = openMetricsSource(`prometheus+${prometheus.url}#mapping=${mapping}`);
      assert.match(source.description, /^prometheus http:\/\/127\.0\.0\.1:\d+ \(mapping /);
      assert.deepEqual(source.access, { directories: [(source as PrometheusSource).cacheDir] });
      assert.ok((source as PrometheusSource).cacheDir.startsWith(join(dir, 'cache-env')));
    } finally {
      if (previous === undefined) delete process.env.FLEETCAST_PROMETHEUS_CACHE;
      else process.env.FLEETCAST_PROMETHEUS_CACHE = previous;
    }
  });
});
