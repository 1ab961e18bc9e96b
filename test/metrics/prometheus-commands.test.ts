import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { renderManifest } from '../../src/fleet/manifest.js';
import { sqlString, withDuckDb } from '../../src/metrics/duckdb.js';
import { openMetricsSource } from '../../src/metrics/source.js';
import { fleetcastInProcess } from '../helpers/cli-capture.js';
import { writeLooseGates } from '../validate/fixtures/fleet.js';
import {
  backfill,
  nodeFixture,
  prometheusMissing,
  startPrometheus,
  writeOpenMetrics,
  type RunningPrometheus,
} from '../helpers/prometheus-fixture.js';

/**
 * The commands on a real Prometheus (Debian's 2.42, backfilled with node_exporter series) give
 * what they give on the same data exported to parquet: the drift report, and a smoke training
 * (its dataset byte for byte, and the trained model's validation loss).
 */
const DAYS = 9;
const END = Date.parse('2026-11-20T00:00:00Z') / 1000;
const NOW = new Date(END * 1000).toISOString();
const SHIPPED = new URL('../../deploy/prometheus/node-exporter-mapping.yaml', import.meta.url);
const missing = prometheusMissing();

describe(
  'fleetcast commands on a real Prometheus equal them on its parquet export',
  { skip: missing },
  () => {
    let dir: string;
    let prometheus: RunningPrometheus;
    let spec: string;
    let exported: string;
    let manifest: string;
    let gates: string;
    const previousCache = process.env.FLEETCAST_PROMETHEUS_CACHE;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'fleetcast-prom-commands-'));
      const om = join(dir, 'fixture.om');
      // 2-minute scrapes: enough samples for the mapping's rate(…[5m]), half the backfill of 1-minute ones
      const instances = nodeFixture({ instances: 8, days: DAYS, end: END, scrapeSeconds: 120, seed: 11 });
      await writeOpenMetrics(om, instances, 120);
      backfill(om, join(dir, 'data'));
      await rm(om);
      prometheus = await startPrometheus(join(dir, 'prom'), join(dir, 'data'));
      const mapping = join(dir, 'mapping.yaml');
      const shipped = parse(await readFile(SHIPPED, 'utf8')) as Record<string, unknown>;
      // the wall clock is later than the fixture: reach back far enough to cover it
      const backfillDays = Math.ceil((Date.now() / 1000 - END) / 86_400) + DAYS + 1;
      await writeFile(mapping, stringify({ ...shipped, backfill: `${backfillDays}d` }));
      spec = `prometheus+${prometheus.url}#mapping=${mapping}`;
      process.env.FLEETCAST_PROMETHEUS_CACHE = join(dir, 'cache');

      // the same data as parquet: the cache, exported after one sync
      const source = openMetricsSource(spec);
      exported = join(dir, 'export.parquet');
      await withDuckDb(
        async (conn) => {
          await source.prepare(conn);
          await conn.run(
            `COPY (SELECT * FROM ${source.relation()}) TO ${sqlString(exported)} (FORMAT parquet)`,
          );
        },
        { access: { directories: [join(dir, 'cache'), dir] } },
      );
      manifest = join(dir, 'manifest.json');
      const servers = instances
        .map((i) => ({ name: i.instance.replace(/:9100$/, ''), profile: i.role, first_seen: '2026-11-10' }))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      await writeFile(manifest, renderManifest({ format_version: 1, servers }));
      gates = await writeLooseGates(join(dir, 'gates.json'));
    });

    after(async () => {
      if (previousCache === undefined) delete process.env.FLEETCAST_PROMETHEUS_CACHE;
      else process.env.FLEETCAST_PROMETHEUS_CACHE = previousCache;
      await prometheus?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    /** The report without where it came from or when it was made. */
    function comparable(json: string): unknown {
      return JSON.parse(json, (key, value: unknown) =>
        key === 'source' || key === 'generated_at' || key === 'metrics_source' ? undefined : value,
      );
    }

    it('drift: the same report from Prometheus and from its parquet export', async () => {
      const models = join(dir, 'model-servers.txt');
      await writeFile(models, 'node-1\nnode-2\nretired-9\n');
      const args = (metrics: string) => [
        'drift',
        '--metrics',
        metrics,
        '--model-servers',
        models,
        '--manifest',
        manifest,
        '--now',
        NOW,
        '--no-events',
        '--json',
      ];
      const fromPrometheus = await fleetcastInProcess(args(spec));
      const fromParquet = await fleetcastInProcess(args(exported));
      assert.ok([0, 3].includes(fromPrometheus.code), fromPrometheus.stderr);
      assert.equal(fromPrometheus.code, fromParquet.code);
      const report = comparable(fromPrometheus.stdout) as { fleet: { servers: number } };
      assert.deepEqual(report, comparable(fromParquet.stdout));
      assert.ok(JSON.stringify(report).includes('node-1'));
    });

    it('train (smoke): the same dataset byte for byte and the same trained model', async () => {
      const train = async (metrics: string, name: string) => {
        const work = join(dir, `work-${name}`);
        const result = await fleetcastInProcess([
          'train',
          '--metrics',
          metrics,
          '--manifest',
          manifest,
          '--registry',
          join(dir, `registry-${name}`),
          '--profile',
          'smoke',
          '--epochs',
          '1',
          '--days',
          '8',
          '--now',
          NOW,
          '--gates',
          gates,
          '--work-dir',
          work,
          '--json',
        ]);
        assert.equal(result.code, 0, result.stderr);
        const id = (JSON.parse(result.stdout) as { model_id: string }).model_id;
        return {
          header: comparable(await readFile(join(work, 'dataset', 'dataset.json'), 'utf8')) as Record<
            string,
            unknown
          >,
          values: await readFile(join(work, 'dataset', 'dataset.f32')),
          info: JSON.parse(
            await readFile(join(dir, `registry-${name}`, 'models', id, 'training_info.json'), 'utf8'),
          ) as {
            metrics: { best_val_loss: number };
          },
        };
      };
      const a = await train(spec, 'prometheus');
      const b = await train(exported, 'parquet');
      delete a.header.created_at;
      delete b.header.created_at;
      assert.deepEqual(a.header, b.header);
      assert.ok(a.values.equals(b.values), 'dataset.f32 differs');
      assert.deepEqual(a.header.targets, ['cpu_pct', 'mem_pct']);
      assert.ok(Math.abs(a.info.metrics.best_val_loss - b.info.metrics.best_val_loss) < 1e-6);
    });
  },
);
