// `npm run bench -- prometheus [--instances 100] [--days 7] [--step 1m] [--repeat 3] [--work-dir DIR] [--json]`
// Against a real Prometheus (Debian's prometheus + promtool), backfilled once per size with
// synthetic node_exporter series scraped every minute (kept in --work-dir and reused):
//  1. ingestion: a full sync of the Prometheus source (query_range → parquet cache), samples/s,
//     where a sample is one value of one series at one step (what query_range returns), against a
//     full scan of the same values from one parquet file (its export);
//  2. drift: `runDriftCheck` (what `fleetcast drift` runs) on the warm cache (the sync finds it up
//     to date and makes no request) against the same check on the parquet export; ratio of medians.
// Goals: ingestion ≥ 1,000,000 samples/s; warm-cache drift ≤ 1.3 × parquet drift.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { DEFAULT_RETRAIN_CONFIG } from '../src/config/retrain-config.js';
import { runDriftCheck } from '../src/drift/check.js';
import { sqlString, withDuckDb } from '../src/metrics/duckdb.js';
import type { RangeRequest } from '../src/metrics/prometheus/client.js';
import { openPrometheusSource, type PrometheusSource } from '../src/metrics/prometheus/source.js';
import {
  backfill,
  nodeFixture,
  prometheusMissing,
  startPrometheus,
  writeOpenMetrics,
} from '../test/helpers/prometheus-fixture.js';

const END = Date.parse('2026-11-20T00:00:00Z') / 1000;
const say = (line: string): void => void process.stderr.write(`${line}\n`);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      instances: { type: 'string', default: '100' },
      days: { type: 'string', default: '7' },
      step: { type: 'string', default: '1m' },
      repeat: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '4' },
      'work-dir': { type: 'string', default: join(tmpdir(), 'fleetcast-bench-prometheus') },
      json: { type: 'boolean', default: false },
    },
  });
  const missing = prometheusMissing();
  if (missing !== undefined) throw new Error(missing);
  const instances = Number(values.instances);
  const days = Number(values.days);
  const repeat = Number(values.repeat);
  const work = values['work-dir'];
  const fixtureDir = join(work, `node-${instances}x${days}d`);
  const dataDir = join(fixtureDir, 'data');
  let backfillSeconds: number | null = null;
  let rawSamples: number;
  const meta = join(fixtureDir, 'fixture.json');
  if (existsSync(meta)) {
    say(`reusing ${dataDir}`);
    rawSamples = (JSON.parse(await readFile(meta, 'utf8')) as { rawSamples: number }).rawSamples;
  } else {
    await rm(fixtureDir, { recursive: true, force: true });
    await mkdir(fixtureDir, { recursive: true });
    say(`generating ${instances} node_exporter instances × ${days} days at 1 m …`);
    const fleet = nodeFixture({ instances, days, end: END, newHours: 30, goneHours: 40 });
    rawSamples = fleet.reduce((sum, i) => sum + ((i.last - i.first) / 60 + 1) * 10, 0);
    const om = join(fixtureDir, 'fixture.om');
    await writeOpenMetrics(om, fleet);
    const began = performance.now();
    backfill(om, dataDir);
    backfillSeconds = (performance.now() - began) / 1000;
    await rm(om);
    await writeFile(meta, JSON.stringify({ rawSamples }));
    say(`  promtool: ${fmt(rawSamples)} raw samples in ${backfillSeconds.toFixed(1)} s`);
  }

  const prometheus = await startPrometheus(join(fixtureDir, 'prom'), dataDir);
  try {
    const shipped = parse(
      await readFile(new URL('../deploy/prometheus/node-exporter-mapping.yaml', import.meta.url), 'utf8'),
    ) as Record<string, unknown>;
    const mapping = join(work, 'mapping.yaml');
    // the whole fixture but its first hour (where the rate windows are not yet full)
    await writeFile(
      mapping,
      stringify({
        ...shipped,
        step: values.step,
        backfill: `${days * 24 - 1}h`,
        concurrency: Number(values.concurrency),
      }),
    );
    const cacheRoot = join(work, 'cache');
    const open = (): PrometheusSource =>
      openPrometheusSource(`prometheus+${prometheus.url}#mapping=${mapping}`, {
        cacheRoot,
        now: () => new Date(END * 1000),
      });

    // 1. ingestion: full syncs into an empty cache (one warm-up)
    const ingest: number[] = [];
    let samples = 0;
    let rows = 0;
    let requests = 0;
    let planned: RangeRequest[] = [];
    for (let i = 0; i <= repeat; i++) {
      await rm(cacheRoot, { recursive: true, force: true });
      const source = open();
      const began = performance.now();
      const report = await source.sync();
      const seconds = (performance.now() - began) / 1000;
      samples = report.samples;
      rows = report.rows;
      requests = report.requests.length;
      planned = report.requests;
      if (i > 0) ingest.push(seconds);
      say(
        `  sync ${i === 0 ? '(warm-up)' : i}: ${fmt(samples)} samples in ${seconds.toFixed(2)} s ` +
          `(fetch ${report.fetchSeconds.toFixed(2)} s, write ${report.writeSeconds.toFixed(2)} s)`,
      );
    }
    const source = open();
    await source.sync();
    // the same requests, answers only read as text: how long Prometheus itself takes
    const serverOnly: number[] = [];
    for (let i = 0; i < repeat; i++) {
      const began = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: Number(values.concurrency) }, async () => {
          while (next < planned.length) {
            const r = planned[next++]!;
            const response = await fetch(`${prometheus.url}/api/v1/query_range`, {
              method: 'POST',
              body: new URLSearchParams({
                query: r.query,
                start: String(r.start),
                end: String(r.end),
                step: String(r.step),
              }),
            });
            await response.text();
          }
        }),
      );
      serverOnly.push((performance.now() - began) / 1000);
    }
    const parquet = join(work, 'export.parquet');
    const modelList = join(work, 'model.txt');
    const servers = await withDuckDb(
      async (conn) => {
        await source.prepare(conn);
        await conn.run(
          `COPY (SELECT * FROM ${source.relation()}) TO ${sqlString(parquet)} (FORMAT parquet, COMPRESSION zstd)`,
        );
        const reader = await conn.runAndReadAll(
          `SELECT DISTINCT server_name FROM ${source.relation()} ORDER BY 1`,
        );
        return reader.getRows().map(([name]) => String(name));
      },
      { access: { directories: [source.cacheDir, work] } },
    );
    // the model knows every server but the new one
    await writeFile(modelList, `${servers.filter((s) => !s.startsWith('node-new')).join('\n')}\n`);
    const scan: number[] = [];
    for (let i = 0; i <= repeat; i++) {
      const began = performance.now();
      await withDuckDb(async (conn) => {
        await conn.runAndReadAll(
          `SELECT count(*), sum(cpu_pct), sum(mem_pct), sum(disk_io_mbps), sum(net_in_mbps), sum(net_out_mbps)
           FROM read_parquet(${sqlString(parquet)})`,
        );
      });
      if (i > 0) scan.push((performance.now() - began) / 1000);
    }

    // 2. drift: warm cache vs the parquet export, alternating
    const drift = { cache: [] as number[], parquet: [] as number[] };
    const check = async (metrics: string | PrometheusSource): Promise<number> => {
      const began = performance.now();
      const report = await runDriftCheck({
        metrics,
        modelServers: modelList,
        now: new Date(END * 1000),
        config: { config: DEFAULT_RETRAIN_CONFIG, source: 'defaults' },
        events: null,
      });
      if (report.fleet.total !== servers.length) throw new Error(`drift saw ${report.fleet.total} servers`);
      return (performance.now() - began) / 1000;
    };
    const driftRepeat = Math.max(repeat, 9);
    for (let i = 0; i <= driftRepeat; i++) {
      // alternate which goes first, so neither always pays for the other's garbage
      const warm = open();
      const p1 = i % 2 === 1 ? await check(parquet) : 0;
      const c = await check(warm);
      if (warm.lastSync?.requests.length !== 0) throw new Error('the warm cache made requests');
      const p = i % 2 === 1 ? p1 : await check(parquet);
      if (i > 0) {
        drift.cache.push(c);
        drift.parquet.push(p);
      }
    }

    const ingestS = median(ingest);
    const scanS = median(scan);
    const result = {
      instances: servers.length,
      days,
      step: values.step,
      concurrency: Number(values.concurrency),
      cpus: cpus().length,
      raw_samples_in_prometheus: rawSamples,
      backfill_seconds: backfillSeconds,
      samples,
      rows,
      requests,
      ingest_seconds: ingestS,
      ingest_samples_per_second: samples / ingestS,
      prometheus_only_seconds: median(serverOnly),
      prometheus_only_samples_per_second: samples / median(serverOnly),
      parquet_mb: (await stat(parquet)).size / 1e6,
      parquet_scan_seconds: scanS,
      parquet_scan_samples_per_second: samples / scanS,
      drift_cache_seconds: median(drift.cache),
      drift_parquet_seconds: median(drift.parquet),
      drift_ratio: median(drift.cache) / median(drift.parquet),
    };
    if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      say('');
      say(`servers ${result.instances}, ${days} days at step ${values.step}, ${cpus().length} CPUs`);
      say(
        `ingestion: ${fmt(samples)} samples (${fmt(rows)} rows, ${requests} requests) in ${ingestS.toFixed(2)} s = ` +
          `${fmt(result.ingest_samples_per_second)} samples/s (goal ≥ 1,000,000)`,
      );
      say(
        `Prometheus alone (the same requests, answers read as text): ${result.prometheus_only_seconds.toFixed(2)} s = ` +
          `${fmt(result.prometheus_only_samples_per_second)} samples/s`,
      );
      say(
        `parquet scan of the same values: ${scanS.toFixed(3)} s = ${fmt(result.parquet_scan_samples_per_second)} samples/s`,
      );
      say(
        `drift: warm cache ${result.drift_cache_seconds.toFixed(3)} s, parquet ${result.drift_parquet_seconds.toFixed(3)} s, ` +
          `ratio ${result.drift_ratio.toFixed(2)} (goal ≤ 1.3)`,
      );
    }
  } finally {
    await prometheus.stop();
  }
}
