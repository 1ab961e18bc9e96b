import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateFleet, type GenerateResult } from '../../src/synthetic/generator.js';
import type { PlanFile } from '../../src/synthetic/plan-file.js';
import { planFleet, PLANTED } from '../../src/synthetic/fleet-plan.js';
import { CONTRACT_COLUMNS, KNOWN_PROFILES, METRICS } from '../../src/metrics/contract.js';
import { withDuckDb } from '../../src/metrics/duckdb.js';
import { ParquetSource } from '../../src/metrics/source.js';
import { runFleetStatus } from '../../src/drift/fleet-report.js';
import { validateMetrics } from '../../src/fleet/check-data.js';
import { DEFAULT_ELIGIBILITY_POLICY } from '../../src/fleet/eligibility.js';
import { InputError } from '../../src/core/errors.js';

const END = new Date('2026-11-20T00:00:00Z');

async function query(sql: string): Promise<unknown[][]> {
  return withDuckDb(async (conn) => (await conn.runAndReadAll(sql)).getRows());
}

describe('generator', () => {
  let dir: string;
  let fleet: GenerateResult;
  let plan: PlanFile;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-gen-'));
    fleet = await generateFleet({
      servers: 30,
      days: 40,
      out: join(dir, 'fleet.parquet'),
      seed: 11,
      end: END,
      add: 6,
      sunset: 6,
    });
    plan = JSON.parse(await readFile(fleet.planPath, 'utf8')) as PlanFile;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the data contract columns with the right types', async () => {
    const rows = await query(`DESCRIBE SELECT * FROM '${fleet.path}'`);
    assert.deepEqual(
      rows.map((r) => r[0]),
      [...CONTRACT_COLUMNS],
    );
    assert.equal(rows[0]![1], 'TIMESTAMP');
    assert.equal(rows[1]![1], 'VARCHAR');
    for (const row of rows.slice(3)) assert.equal(row[1], 'FLOAT');
  });

  it('keeps every metric inside its contract range, with daily variation', async () => {
    const report = await validateMetrics(new ParquetSource(fleet.path), {
      now: END,
      eligibility: DEFAULT_ELIGIBILITY_POLICY,
    });
    assert.equal(report.ok, true, JSON.stringify(report.problems, null, 2));
    assert.equal(report.rows, fleet.rows);
    for (const metric of METRICS) {
      const [[lo, hi]] = (await query(
        `SELECT min(${metric.name}), max(${metric.name}) FROM '${fleet.path}'`,
      )) as [[number, number]];
      assert.ok(lo >= metric.min && hi <= metric.max, `${metric.name} ${lo}..${hi}`);
      assert.ok(hi > lo, `${metric.name} varies`);
    }
    // web servers are busier mid-afternoon (UTC) than at 04:00
    const [[day, night]] = (await query(
      `SELECT avg(cpu_pct) FILTER (WHERE hour(timestamp) = 14), avg(cpu_pct) FILTER (WHERE hour(timestamp) = 4)
       FROM '${fleet.path}' WHERE profile = 'web'`,
    )) as [[number, number]];
    assert.ok(day > night + 10, `web cpu 14:00 ${day} vs 04:00 ${night}`);
  });

  it('uses every profile', async () => {
    const rows = await query(`SELECT DISTINCT profile FROM '${fleet.path}' ORDER BY 1`);
    assert.deepEqual(
      rows.map((r) => r[0]),
      [...KNOWN_PROFILES].sort(),
    );
  });

  it('planted statuses match what fleet status finds', async () => {
    const { report } = await runFleetStatus({
      metrics: fleet.path,
      now: END,
      config: {
        config: (await import('../../src/config/retrain-config.js')).DEFAULT_RETRAIN_CONFIG,
        source: 'defaults',
      },
    });
    const byName = new Map(report.servers.map((s) => [s.name, s]));
    assert.equal(plan.planted.length, 12);
    const statuses = new Set<string>();
    for (const planted of plan.planted) {
      const actual = byName.get(planted.name);
      if (planted.expected_status === 'absent') {
        assert.equal(actual, undefined, planted.name);
        continue;
      }
      assert.ok(actual, `${planted.name} missing`);
      assert.equal(actual.status, planted.expected_status, planted.name);
      assert.equal(actual.eligible, planted.expected_eligible, planted.name);
      assert.equal(actual.first_seen, planted.first_seen, planted.name);
      assert.equal(actual.last_seen, planted.last_seen, planted.name);
      statuses.add(`${planted.expected_status}/${planted.expected_eligible}`);
    }
    for (const expected of [
      'offline/true',
      'sunset_candidate/true',
      'sunset_confirmed/true',
      'active/true',
      'active/false',
    ])
      assert.ok(statuses.has(expected), `plan covers ${expected}`);
    assert.deepEqual(plan.expected_status_counts, {
      active: report.counts.active,
      offline: report.counts.offline,
      sunset_candidate: report.counts.sunset_candidate,
      sunset_confirmed: report.counts.sunset_confirmed,
      absent: 0,
    });
  });

  it('is deterministic for a seed, whatever the thread count', async () => {
    const again = await generateFleet({
      servers: 30,
      days: 40,
      out: join(dir, 'again.parquet'),
      seed: 11,
      end: END,
      add: 6,
      sunset: 6,
      threads: 1,
    });
    const other = await generateFleet({
      servers: 30,
      days: 40,
      out: join(dir, 'other.parquet'),
      seed: 12,
      end: END,
      add: 6,
      sunset: 6,
    });
    const digest = (path: string): string =>
      `SELECT count(*), sum(hash(server_name, timestamp, cpu_pct, mem_pct, disk_io_mbps, net_in_mbps, net_out_mbps, latency_ms, error_rate)) FROM '${path}'`;
    const [a] = await query(digest(fleet.path));
    const [b] = await query(digest(again.path));
    const [c] = await query(digest(other.path));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.equal(await readFile(again.planPath, 'utf8'), await readFile(fleet.planPath, 'utf8'));
  });

  it('leaves no temp files beside the output', async () => {
    const names = await readdir(dir);
    assert.ok(
      names.every((n) => !n.endsWith('.tmp')),
      names.join(','),
    );
  });

  it('plans sunset-confirmed servers as absent when the window is too short', () => {
    const p = planFleet({
      servers: 10,
      days: 30,
      intervalSeconds: 300,
      end: END,
      seed: 1,
      add: 0,
      sunset: 3,
    });
    const confirmed = p.servers.filter((s) => s.kind === 'sunset')[2]!;
    assert.ok(confirmed.lastStep < 0, 'no rows');
    assert.ok(PLANTED.silenceDays(2) >= 30);
  });

  it('rejects bad options before writing anything', async () => {
    const out = join(dir, 'bad.parquet');
    const bad: Array<[Parameters<typeof generateFleet>[0], RegExp]> = [
      [{ servers: 0, days: 1, out }, /--servers/],
      [{ servers: 5, days: 0, out }, /--days/],
      [{ servers: 5, days: 1, out, sunset: 6 }, /--sunset/],
      [{ servers: 5, days: 1, out, end: new Date('2026-11-20T00:01:00Z') }, /not aligned/],
    ];
    for (const [options, message] of bad)
      await assert.rejects(
        generateFleet(options),
        (e: unknown) => e instanceof InputError && message.test(e.message),
      );
    assert.ok(!(await readdir(dir)).includes('bad.parquet'));
  });
});
