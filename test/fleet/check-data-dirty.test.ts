import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sqlString, withDuckDb } from '../../src/metrics/duckdb.js';
import { openMetricsSource } from '../../src/metrics/source.js';
import { summarizeServers } from '../../src/metrics/summary.js';
import { validateMetrics, type DataValidationReport } from '../../src/fleet/check-data.js';
import { DEFAULT_ELIGIBILITY_POLICY } from '../../src/fleet/eligibility.js';
import { collectionState } from '../../src/fleet/assess.js';
import { DEFAULT_STATUS_POLICY } from '../../src/fleet/status.js';
import { runFleetStatus } from '../../src/drift/fleet-report.js';
import { DEFAULT_RETRAIN_CONFIG } from '../../src/config/retrain-config.js';

/**
 * The dirty-data policy (DATA_CONTRACT.md, "Dirty data"): only unusable data fails check-data;
 * the rest is a warning with counts, the worst examples and what the readers do.
 */
const NOW = new Date('2026-11-20T00:00:00Z');
/** 4 servers, 8 days of 5-minute samples with only timestamp, server_name and cpu_pct. */
const BASE = `SELECT TIMESTAMP '2026-11-12 00:00:00' + to_minutes(5 * k) AS timestamp, s AS server_name,
    (20 + k % 7)::DOUBLE AS cpu_pct
  FROM range(2304) r(k), (VALUES ('vm-1'), ('vm-2'), ('vm-3'), ('vm-4')) v(s)`;

describe('check-data: dirty-data policy', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-dirty-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes `base` as table m, runs `extra` on it, and checks the parquet copy. */
  async function check(label: string, extra: string[] = [], base = BASE): Promise<DataValidationReport> {
    const path = join(dir, `${label}.parquet`);
    await withDuckDb(async (conn) => {
      await conn.run(`CREATE TABLE m AS ${base}`);
      for (const sql of extra) await conn.run(sql);
      await conn.run(`COPY m TO ${sqlString(path)} (FORMAT parquet)`);
    });
    return validateMetrics(openMetricsSource(path), { now: NOW, eligibility: DEFAULT_ELIGIBILITY_POLICY });
  }
  const find = (report: DataValidationReport, check: string) =>
    report.problems.find((p) => p.check === check);
  const checks = (report: DataValidationReport) => report.problems.map((p) => p.check).sort();

  it('passes a source with only timestamp, server_name and cpu_pct; its servers are in profile default', async () => {
    const report = await check('minimal');
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.equal(report.rows, 4 * 2304);
    assert.equal(report.servers, 4);
    assert.equal(report.warnings, 0);
    assert.deepEqual(checks(report), ['missing_metric_columns', 'no_profile_column']);
    assert.deepEqual(report.columns.present, ['timestamp', 'server_name', 'cpu_pct']);
    assert.ok(report.columns.missing.includes('profile') && report.columns.missing.includes('mem_pct'));
    const summary = await summarizeServers(openMetricsSource(join(dir, 'minimal.parquet')));
    assert.deepEqual(
      summary.servers.map((s) => s.profile),
      ['default', 'default', 'default', 'default'],
    );
  });

  it('notes an unknown extra column and accepts a DECIMAL metric', async () => {
    const report = await check('extra', [
      'ALTER TABLE m ADD COLUMN cpu_cores INTEGER DEFAULT 4',
      'ALTER TABLE m ADD COLUMN mem_pct DECIMAL(9, 3) DEFAULT 41.5',
    ]);
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    const note = find(report, 'ignored_columns')!;
    assert.equal(note.severity, 'note');
    assert.match(note.message, /"cpu_cores"/);
    assert.deepEqual(report.columns.ignored, ['cpu_cores']);
  });

  it('warns when a profile changes mid-history; the newest profile is used', async () => {
    const report = await check('profile-change', [
      "ALTER TABLE m ADD COLUMN profile VARCHAR DEFAULT 'web'",
      "UPDATE m SET profile = 'batch' WHERE server_name = 'vm-2' AND timestamp < TIMESTAMP '2026-11-15 00:00:00'",
    ]);
    assert.equal(report.ok, true);
    const p = find(report, 'profile_changed')!;
    assert.equal(p.severity, 'warning');
    assert.equal(p.action, 'latest_profile');
    assert.equal(p.count, 1);
    assert.deepEqual(p.worst[0], { server: 'vm-2', timestamp: '2026-11-14 23:55:00', value: 'web' });
    const summary = await summarizeServers(openMetricsSource(join(dir, 'profile-change.parquet')));
    assert.equal(summary.servers.find((s) => s.name === 'vm-2')!.profile, 'web');
  });

  it('keeps one of identical duplicates and averages conflicting ones, with the widest spread', async () => {
    const report = await check('duplicates', [
      "INSERT INTO m SELECT * FROM m WHERE server_name = 'vm-1' AND timestamp < TIMESTAMP '2026-11-12 01:00:00'",
      "INSERT INTO m SELECT timestamp, server_name, cpu_pct + 30 FROM m WHERE server_name = 'vm-3' AND timestamp = TIMESTAMP '2026-11-13 00:00:00'",
      "INSERT INTO m SELECT timestamp, server_name, cpu_pct + 5 FROM m WHERE server_name = 'vm-4' AND timestamp = TIMESTAMP '2026-11-13 00:00:00'",
    ]);
    assert.equal(report.ok, true);
    const identical = find(report, 'duplicate_identical')!;
    assert.equal(identical.count, 12);
    assert.equal(identical.action, 'kept_one');
    assert.equal(identical.servers, 1);
    const conflicting = find(report, 'duplicate_conflicting')!;
    assert.equal(conflicting.count, 2);
    assert.equal(conflicting.action, 'averaged');
    assert.deepEqual(conflicting.max, {
      server: 'vm-3',
      timestamp: '2026-11-13 00:00:00',
      value: 30,
      rows: 2,
    });
    assert.match(conflicting.message, /widest spread 30 in cpu_pct on "vm-3"/);
  });

  it('reports cpu_pct of 182.4 % with its server and time, clipped to 100', async () => {
    const report = await check('cpu-182', [
      "UPDATE m SET cpu_pct = 182.4 WHERE server_name = 'vm-3' AND timestamp = TIMESTAMP '2026-11-14 10:00:00'",
      "UPDATE m SET cpu_pct = 120 WHERE server_name = 'vm-1' AND timestamp < TIMESTAMP '2026-11-12 00:10:00'",
    ]);
    assert.equal(report.ok, true);
    const p = find(report, 'range_cpu_pct')!;
    assert.equal(p.severity, 'warning');
    assert.equal(p.count, 3);
    assert.equal(p.servers, 2);
    assert.equal(p.action, 'clipped');
    assert.deepEqual(p.max, { server: 'vm-3', timestamp: '2026-11-14 10:00:00', value: 182.4, rows: 1 });
    assert.match(
      p.message,
      /^cpu_pct above 100 % in 3 rows on 2 servers \(max 182\.4 % on "vm-3" at 2026-11-14 10:00:00\): clipped to 100$/,
    );
    assert.deepEqual(
      p.worst.map((e) => e.server),
      ['vm-3', 'vm-1'],
      'worst first, not first in the file',
    );
  });

  it('counts NULL, NaN and ±Inf per column with the servers most affected', async () => {
    const report = await check('missing', [
      "UPDATE m SET cpu_pct = NULL WHERE server_name = 'vm-2' AND timestamp < TIMESTAMP '2026-11-12 01:00:00'",
      "UPDATE m SET cpu_pct = 'nan' WHERE server_name = 'vm-4' AND timestamp < TIMESTAMP '2026-11-12 00:10:00'",
      "UPDATE m SET cpu_pct = 'inf' WHERE server_name = 'vm-4' AND timestamp = TIMESTAMP '2026-11-13 00:00:00'",
      "UPDATE m SET cpu_pct = '-inf' WHERE server_name = 'vm-1' AND timestamp = TIMESTAMP '2026-11-13 00:00:00'",
    ]);
    assert.equal(report.ok, true);
    const p = find(report, 'missing_cpu_pct')!;
    assert.equal(p.count, 12 + 2 + 2);
    assert.equal(p.action, 'missing');
    assert.match(p.message, /12 NULL, 2 NaN, 2 ±Inf/);
    assert.deepEqual(p.worst, [
      { server: 'vm-2', rows: 12 },
      { server: 'vm-4', rows: 3 },
      { server: 'vm-1', rows: 1 },
    ]);
    assert.equal(find(report, 'range_cpu_pct'), undefined, '-Inf is missing, not below the range');
  });

  it('reports a collection outage across all servers as one outage, not one gap per server', async () => {
    // Every server silent from about 10:00 on the 16th to 17:00 on the 17th, stopping and
    // restarting a few minutes apart.
    const report = await check('outage', [
      `DELETE FROM m WHERE timestamp > TIMESTAMP '2026-11-16 10:00:00' + to_minutes(5 * (right(server_name, 1)::INT - 1))
         AND timestamp < TIMESTAMP '2026-11-17 17:00:00' - to_minutes(5 * (right(server_name, 1)::INT - 1))`,
    ]);
    assert.equal(report.ok, true);
    assert.equal(report.outages.length, 1, JSON.stringify(report.outages));
    const [outage] = report.outages;
    assert.equal(outage!.start, '2026-11-16 10:00:00');
    assert.equal(outage!.end, '2026-11-17 17:00:00');
    assert.equal(outage!.silent_servers, 4);
    assert.equal(outage!.active_servers, 4);
    const p = find(report, 'collection_outage')!;
    assert.equal(p.count, 1);
    assert.match(p.examples[0]!, /^2026-11-16 10:00 → 2026-11-17 17:00, 31 h, 4 of 4 servers silent$/);
    assert.equal(find(report, 'gaps'), undefined, 'the outage is not also reported as gaps');
    assert.equal(find(report, 'switched_off'), undefined);
  });

  it('reports a server switched off for two days (its longest silence), not an outage', async () => {
    const report = await check('switched-off', [
      "DELETE FROM m WHERE server_name = 'vm-2' AND timestamp > TIMESTAMP '2026-11-14 00:00:00' AND timestamp < TIMESTAMP '2026-11-16 00:00:00'",
      "DELETE FROM m WHERE server_name = 'vm-2' AND timestamp > TIMESTAMP '2026-11-17 00:00:00' AND timestamp < TIMESTAMP '2026-11-17 01:00:00'",
    ]);
    assert.equal(report.ok, true);
    assert.deepEqual(report.outages, []);
    const off = find(report, 'switched_off')!;
    assert.equal(off.count, 1);
    assert.deepEqual(off.max, {
      server: 'vm-2',
      timestamp: '2026-11-14 00:00:00',
      until: '2026-11-16 00:00:00',
      hours: 48,
    });
    assert.equal(find(report, 'gaps')!.count, 1, 'the 1-hour gap stays a gap');
  });

  it('still fails on what nothing can use', async () => {
    const nullTs = await check('null-ts', [
      "UPDATE m SET timestamp = NULL WHERE server_name = 'vm-1' AND cpu_pct = 20",
    ]);
    assert.equal(nullTs.ok, false);
    assert.equal(find(nullTs, 'null_timestamp')!.severity, 'error');
    const noName = await check('no-name', ['ALTER TABLE m DROP COLUMN server_name']);
    assert.equal(noName.ok, false);
    assert.match(find(noName, 'schema')!.message, /missing column 'server_name'/);
    assert.equal(noName.rows, 4 * 2304);
    const badName = await check('bad-name', ["UPDATE m SET server_name = 'vm/1' WHERE server_name = 'vm-1'"]);
    assert.equal(find(badName, 'invalid_server')!.severity, 'error');
    const badProfile = await check('bad-profile', [
      "ALTER TABLE m ADD COLUMN profile VARCHAR DEFAULT 'Web Tier'",
    ]);
    assert.equal(badProfile.ok, false);
    const empty = await check('empty', ['DELETE FROM m']);
    assert.equal(empty.ok, false);
    assert.ok(find(empty, 'empty'));
    const textTs = await check('text-ts', ['ALTER TABLE m ALTER COLUMN timestamp TYPE VARCHAR']);
    assert.match(
      find(textTs, 'schema')!.message,
      /column 'timestamp' has type VARCHAR, expected a timestamp/,
    );
  });
});

describe('fleet status: a stale source', () => {
  const H = 3_600_000;
  const last = new Date('2013-08-30T22:00:00Z');
  const servers = [{ lastSeen: last }, { lastSeen: new Date(last.getTime() - 3 * 24 * H) }];

  it('is reporting while the newest sample is recent', () => {
    const state = collectionState(servers, new Date(last.getTime() + H), DEFAULT_STATUS_POLICY);
    assert.equal(state.status, 'reporting');
    assert.equal(state.asOf.getTime(), last.getTime() + H);
  });

  it('is stale once the newest sample of any server is offline_hours old; statuses are as of it', () => {
    const state = collectionState(servers, new Date(last.getTime() + 5 * 24 * H), DEFAULT_STATUS_POLICY);
    assert.equal(state.status, 'stale');
    assert.equal(state.asOf.toISOString(), last.toISOString());
    assert.equal(state.silentHours, 120);
  });

  it('the fleet report says so once and keeps genuinely offline servers offline', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetcast-stale-'));
    try {
      const path = join(dir, 'm.parquet');
      await withDuckDb(async (conn) => {
        await conn.run(`COPY (${BASE.replace('2304', '2304')}) TO ${sqlString(path)} (FORMAT parquet)`);
        await conn.run(`COPY (SELECT * FROM read_parquet(${sqlString(path)})
          WHERE NOT (server_name = 'vm-4' AND timestamp > TIMESTAMP '2026-11-17 00:00:00'))
          TO ${sqlString(join(dir, 'n.parquet'))} (FORMAT parquet)`);
      });
      const { report } = await runFleetStatus({
        metrics: join(dir, 'n.parquet'),
        now: new Date('2026-12-01T00:00:00Z'),
        config: { config: DEFAULT_RETRAIN_CONFIG, source: 'built-in' },
      });
      assert.equal(report.collection.status, 'stale');
      assert.equal(report.collection.newest_sample, '2026-11-19T23:55:00.000Z');
      assert.equal(report.counts.active, 3);
      assert.equal(report.counts.offline, 1, 'vm-4 stopped days before the collector');
      assert.equal(report.servers.find((s) => s.name === 'vm-4')!.status, 'offline');
      assert.ok(report.warnings.some((w) => /the source is stale/.test(w)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('check-data on the real Bitbrains file', () => {
  const real = join(process.cwd(), '../shared/data/bitbrains-rnd-dev.parquet');
  it('passes with warnings and finds the July outage', { timeout: 120_000 }, async (t) => {
    if (!existsSync(real)) {
      t.skip(
        `${real} is absent (the development data set lives outside the repository, in ../shared/data): not checked`,
      );
      return;
    }
    const report = await validateMetrics(openMetricsSource(real), {
      now: new Date('2013-08-30T22:00:00Z'),
      eligibility: DEFAULT_ELIGIBILITY_POLICY,
    });
    assert.equal(report.ok, true, JSON.stringify(report.problems.filter((p) => p.severity === 'error')));
    assert.equal(report.rows, 4_091_435);
    assert.equal(report.servers, 250);
    assert.ok(report.warnings > 0);
    const july = report.outages.find((o) => o.start.startsWith('2013-07-16'));
    assert.ok(july, JSON.stringify(report.outages));
    assert.ok(july.hours > 28 && july.hours < 34, `${july.hours} h`);
    assert.ok(july.silent_servers >= 200);
    assert.ok(report.problems.some((p) => p.check === 'range_cpu_pct' && p.action === 'clipped'));
    assert.deepEqual(report.columns.ignored, ['cpu_cores']);
  });
});
