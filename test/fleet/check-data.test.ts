import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { withDuckDb, sqlString } from '../../src/metrics/duckdb.js';
import { openMetricsSource } from '../../src/metrics/source.js';
import { validateMetrics, type DataValidationReport } from '../../src/fleet/check-data.js';
import { summarizeServers } from '../../src/metrics/summary.js';
import { DEFAULT_ELIGIBILITY_POLICY } from '../../src/fleet/eligibility.js';
import { InputError } from '../../src/core/errors.js';

const NOW = new Date('2026-11-20T00:00:00Z');
const METRIC_VALUES =
  '50.0::FLOAT, 60.0::FLOAT, 5.0::FLOAT, 10.0::FLOAT, 8.0::FLOAT, 20.0::FLOAT, 0.01::FLOAT';
const COLUMNS =
  'timestamp, server_name, profile, cpu_pct, mem_pct, disk_io_mbps, net_in_mbps, net_out_mbps, latency_ms, error_rate';

/** A clean 3-server, 8-day, 5-minute fleet; `extra` SQL statements then damage a copy of it. */
async function writeFleet(path: string, extra: Array<[string, unknown[]]> = []): Promise<void> {
  await withDuckDb(async (conn) => {
    await conn.run(`CREATE TABLE m AS
      SELECT TIMESTAMP '2026-11-12 00:00:00' + to_minutes(5 * k) AS timestamp, s AS server_name, 'web' AS profile, ${METRIC_VALUES.split(
        ', ',
      )
        .map((v, i) => `${v} AS ${COLUMNS.split(', ')[i + 3]}`)
        .join(', ')}
      FROM range(2304) r(k), (VALUES ('web-01'), ('web-02'), ('db-01')) v(s)`);
    for (const [sql, params] of extra) await conn.run(sql, params as never);
    await conn.run(`COPY m TO ${sqlString(path)} (FORMAT parquet)`);
  });
}

const insertRow = (
  name: unknown,
  at = '2026-11-15 00:02:00',
  metrics = METRIC_VALUES,
): [string, unknown[]] => [
  `INSERT INTO m (${COLUMNS}) VALUES (TIMESTAMP '${at}', $1, 'web', ${metrics})`,
  [name],
];

describe('data validation', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-validate-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function check(label: string, extra: Array<[string, unknown[]]>): Promise<DataValidationReport> {
    const path = join(dir, `${label}.parquet`);
    await writeFleet(path, extra);
    return validateMetrics(openMetricsSource(path), { now: NOW, eligibility: DEFAULT_ELIGIBILITY_POLICY });
  }
  const problem = (report: DataValidationReport, check: string) =>
    report.problems.find((p) => p.check === check);

  it('passes clean data', async () => {
    const report = await check('clean', []);
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.equal(report.rows, 3 * 2304);
    assert.equal(report.servers, 3);
    assert.equal(report.eligible_servers, 3);
  });

  it('fails on a missing timestamp column and a text metric, and still counts the rows', async () => {
    const report = await check('schema', [
      ['ALTER TABLE m DROP COLUMN timestamp', []],
      ['ALTER TABLE m ALTER COLUMN cpu_pct TYPE VARCHAR', []],
    ]);
    assert.equal(report.ok, false);
    assert.match(problem(report, 'schema')!.message, /missing column 'timestamp'/);
    assert.match(problem(report, 'schema')!.message, /column 'cpu_pct' has type VARCHAR, expected a number/);
    assert.equal(report.rows, 3 * 2304, 'a missing column does not zero the counts');
    assert.equal(report.servers, 3);
  });

  it('an absent metric column is a note, not an error', async () => {
    const report = await check('no-latency', [['ALTER TABLE m DROP COLUMN latency_ms', []]]);
    assert.equal(report.ok, true, JSON.stringify(report.problems));
    assert.equal(problem(report, 'missing_metric_columns')!.severity, 'note');
    assert.deepEqual(report.columns.missing, ['latency_ms']);
  });

  it('reports NULL, NaN, infinite and out-of-range values as warnings with counts and examples', async () => {
    const report = await check('values', [
      [
        "UPDATE m SET cpu_pct = 'nan'::FLOAT WHERE server_name = 'web-01' AND timestamp < TIMESTAMP '2026-11-12 00:15:00'",
        [],
      ],
      [
        "UPDATE m SET mem_pct = 'inf'::FLOAT WHERE server_name = 'web-02' AND timestamp = TIMESTAMP '2026-11-12 00:00:00'",
        [],
      ],
      [
        "UPDATE m SET error_rate = 1.5 WHERE server_name = 'db-01' AND timestamp < TIMESTAMP '2026-11-12 00:10:00'",
        [],
      ],
      [
        "UPDATE m SET latency_ms = -1 WHERE server_name = 'db-01' AND timestamp = TIMESTAMP '2026-11-13 00:00:00'",
        [],
      ],
      [
        "UPDATE m SET net_in_mbps = NULL WHERE server_name = 'web-01' AND timestamp = TIMESTAMP '2026-11-13 00:00:00'",
        [],
      ],
    ]);
    assert.equal(report.ok, true, 'dirty values are warnings');
    assert.equal(problem(report, 'missing_cpu_pct')!.count, 3);
    assert.match(problem(report, 'missing_cpu_pct')!.message, /3 NaN/);
    assert.deepEqual(problem(report, 'missing_cpu_pct')!.worst[0], { server: 'web-01', rows: 3 });
    assert.equal(problem(report, 'missing_mem_pct')!.count, 1);
    assert.equal(problem(report, 'range_error_rate')!.count, 2);
    assert.equal(problem(report, 'range_error_rate')!.action, 'clipped');
    assert.match(
      problem(report, 'range_error_rate')!.message,
      /error_rate above 1 fraction in 2 rows .*clipped to 1/,
    );
    assert.equal(problem(report, 'range_latency_ms')!.count, 1);
    assert.match(problem(report, 'range_latency_ms')!.message, /below 0 ms .*min -1 .*clipped to 0/);
    assert.equal(problem(report, 'missing_net_in_mbps')!.count, 1);
    assert.equal(problem(report, 'range_cpu_pct'), undefined, 'NaN is not also counted as out of range');
  });

  it('reports duplicates, future timestamps and gaps', async () => {
    const report = await check('rows', [
      [
        `INSERT INTO m SELECT * FROM m WHERE server_name = 'web-01' AND timestamp < TIMESTAMP '2026-11-12 00:20:00'`,
        [],
      ],
      insertRow('web-02', '2026-11-21 00:00:00'),
      [
        `DELETE FROM m WHERE server_name = 'db-01' AND timestamp BETWEEN TIMESTAMP '2026-11-14 00:00:00' AND TIMESTAMP '2026-11-14 03:00:00'`,
        [],
      ],
    ]);
    assert.equal(report.ok, true);
    assert.equal(problem(report, 'duplicate_identical')!.count, 4);
    assert.match(
      problem(report, 'duplicate_identical')!.examples[0]!,
      /"web-01": 4 extra rows on 4 timestamps/,
    );
    assert.equal(problem(report, 'future_timestamp')!.count, 1);
    assert.equal(problem(report, 'future_timestamp')!.severity, 'warning');
    const gaps = problem(report, 'gaps')!;
    assert.equal(gaps.severity, 'warning');
    assert.ok(gaps.count >= 1);
    assert.ok(
      gaps.examples.some((e) => e.includes('"db-01"') && e.includes('(3.2 h)')),
      gaps.examples.join('|'),
    );
  });

  const badNames: Array<[string, string, RegExp]> = [
    ['path separator', 'web/01', /path separator/],
    ['quote', "web'01", /"'"/],
    ['control character', 'web\u000701', /control character/],
    ['HTML', '<img src=x>', /"<"/],
    ['Markdown', '[x](http://e)', /"\["/],
    ['huge name', 'w'.repeat(500), /500 characters long/],
  ];
  for (const [label, name, reason] of badNames)
    it(`reports a server name with a ${label} and keeps it out of the fleet`, async () => {
      const report = await check(`name-${label.replace(/\W/g, '')}`, [insertRow(name)]);
      const p = problem(report, 'invalid_server')!;
      assert.equal(report.ok, false);
      assert.equal(p.count, 1);
      assert.match(p.examples[0]!, reason);
      assert.ok(p.examples[0]!.length < 300, 'examples are bounded');
      const summary = await summarizeServers(
        openMetricsSource(join(dir, `name-${label.replace(/\W/g, '')}.parquet`)),
      );
      assert.deepEqual(
        summary.servers.map((s) => s.name),
        ['db-01', 'web-01', 'web-02'],
      );
      assert.equal(summary.rejected[0]!.value, name);
    });

  it('fails on NULL server names and unsafe profiles, warns about a profile change', async () => {
    const report = await check('profiles', [
      insertRow(null),
      [
        `UPDATE m SET profile = 'api' WHERE server_name = 'web-02' AND timestamp < TIMESTAMP '2026-11-12 01:00:00'`,
        [],
      ],
      [`UPDATE m SET profile = 'Web Tier' WHERE server_name = 'db-01'`, []],
    ]);
    assert.equal(report.ok, false);
    assert.equal(problem(report, 'null_server_name')!.count, 1);
    assert.equal(problem(report, 'profile_changed')!.severity, 'warning');
    assert.match(
      problem(report, 'profile_changed')!.examples[0]!,
      /^web-02: api until 2026-11-12 00:55:00, then web/,
    );
    assert.match(
      problem(report, 'invalid_server')!.examples.join('|'),
      /"db-01": profile "Web Tier" must match/,
    );
  });

  it('reports rows with an invalid profile of a server that also has valid rows', async () => {
    const report = await check('some-bad-profiles', [
      [
        `UPDATE m SET profile = 'Web Tier' WHERE server_name = 'web-01' AND timestamp < TIMESTAMP '2026-11-12 01:00:00'`,
        [],
      ],
    ]);
    assert.equal(problem(report, 'invalid_server'), undefined);
    assert.equal(problem(report, 'invalid_profile')!.count, 12);
    assert.match(problem(report, 'invalid_profile')!.examples[0]!, /^web-01: 12 rows, "Web Tier": profile/);
    assert.equal(report.ok, false);
  });

  it('warns about servers not yet eligible for training', async () => {
    const report = await check('young', [
      [`DELETE FROM m WHERE server_name = 'db-01' AND timestamp < TIMESTAMP '2026-11-17 00:00:00'`, []],
    ]);
    const p = problem(report, 'not_eligible')!;
    assert.equal(p.severity, 'warning');
    assert.match(p.examples[0]!, /db-01: 2\.9 days of history \(needs 7\)/);
    assert.equal(report.ok, true);
  });

  it('a missing file is an InputError naming it', async () => {
    assert.throws(
      () => openMetricsSource(join(dir, 'nope.parquet')),
      (e: unknown) => e instanceof InputError && /nope\.parquet/.test(e.message),
    );
  });

  it('a file that is not parquet is an InputError naming the source', async () => {
    const path = join(dir, 'not.parquet');
    await (await import('node:fs/promises')).writeFile(path, 'hello');
    await assert.rejects(
      summarizeServers(openMetricsSource(path)),
      (e: unknown) => e instanceof InputError && /not\.parquet: cannot read metrics/.test(e.message),
    );
  });
});
