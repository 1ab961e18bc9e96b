import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sqlString, withDuckDb } from '../../src/metrics/duckdb.js';
import { fleetcastInProcess as fleetcast } from '../helpers/cli-capture.js';

/**
 * Fault suite, group "metrics": `fleetcast check-data` on a dirty or hostile metrics source.
 * Unusable data never says OK; dirty but usable data (DATA_CONTRACT.md, "Dirty data") says OK
 * with the warning. Every row is a file; the outcome is the exit code (0: warnings only, 3: data
 * errors, 2: unreadable) and the message that names the check, the field and the server
 * (docs/reliability.md).
 */
const NOW = '2026-11-20T00:00:00Z';
const METRICS = [
  'cpu_pct',
  'mem_pct',
  'disk_io_mbps',
  'net_in_mbps',
  'net_out_mbps',
  'latency_ms',
  'error_rate',
];
const ROW = METRICS.map((m, i) => `${m === 'error_rate' ? 0.01 : i + 1}::DOUBLE AS ${m}`).join(', ');
const BASE = `SELECT TIMESTAMP '2026-11-12 00:00:00' + to_minutes(5 * k) AS timestamp, 'web-01' AS server_name,
  'web' AS profile, ${ROW} FROM range(2304) r(k)`;
/** The clean fleet plus one extra row with `repl` replacing columns. */
const plus = (repl: string): string =>
  `${BASE} UNION ALL SELECT * REPLACE (${repl}) FROM (${BASE}) WHERE timestamp = TIMESTAMP '2026-11-19 00:00:00'`;

interface Row {
  name: string;
  /** SQL of the file's rows, or raw bytes. */
  sql?: string;
  bytes?: (clean: Buffer) => Buffer | string;
  code: number;
  outcome: RegExp;
}

const RANGES: Array<[string, number]> = [
  ['cpu_pct', 100],
  ['mem_pct', 100],
  ['disk_io_mbps', 100_000],
  ['net_in_mbps', 400_000],
  ['net_out_mbps', 400_000],
  ['latency_ms', 600_000],
  ['error_rate', 1],
];

const badNames: Array<[string, string, RegExp]> = [
  ['a slash', `'web/01'`, /path separator/],
  ['a backslash', `'web\\01'`, /invalid_server/],
  ['dot-dot traversal', `'../../etc/passwd'`, /invalid_server/],
  ['a single quote', `'web''01'`, /invalid_server/],
  ['a double quote', `'web"01'`, /invalid_server/],
  ['a space', `'web 01'`, /invalid_server/],
  ['a newline', `'web' || chr(10) || 'x'`, /control character/],
  ['a NUL byte', `'web' || chr(0) || 'x'`, /invalid_server/],
  ['an escape sequence', `chr(27) || '[31mred'`, /invalid_server/],
  ['HTML', `'<script>alert(1)</script>'`, /invalid_server/],
  ['Markdown', `'[x](http://evil)'`, /invalid_server/],
  ['a 1 MB name', `repeat('a', 1048576)`, /1048576 characters long \(at most 128\)/],
  ['129 characters', `repeat('b', 129)`, /at most 128/],
  ['a .lock suffix', `'web-01.lock'`, /invalid_server/],
  ['an empty name', `''`, /invalid_server/],
  ['a leading dash (option injection)', `'--upload-pack=evil'`, /invalid_server/],
  ['a leading dot', `'.hidden'`, /invalid_server/],
  ['unicode look-alike', `'wеb-01'`, /invalid_server/],
];

const rows: Row[] = [
  {
    name: 'a missing column (mem_pct)',
    sql: `SELECT * EXCLUDE (mem_pct) FROM (${BASE})`,
    code: 0,
    outcome: /NOTE missing_metric_columns: .*mem_pct/,
  },
  {
    name: 'a missing timestamp column',
    sql: `SELECT * EXCLUDE (timestamp) FROM (${BASE})`,
    code: 3,
    outcome: /missing column 'timestamp'/,
  },
  {
    name: 'a missing server_name column',
    sql: `SELECT * EXCLUDE (server_name) FROM (${BASE})`,
    code: 3,
    outcome: /missing column 'server_name'/,
  },
  {
    name: 'a text metric column',
    sql: `SELECT * REPLACE (cpu_pct::VARCHAR AS cpu_pct) FROM (${BASE})`,
    code: 3,
    outcome: /column 'cpu_pct' has type VARCHAR, expected a number/,
  },
  {
    name: 'a numeric server_name',
    sql: `SELECT * REPLACE (42 AS server_name) FROM (${BASE})`,
    code: 3,
    outcome: /server_name/,
  },
  {
    name: 'a text timestamp',
    sql: `SELECT * REPLACE (timestamp::VARCHAR AS timestamp) FROM (${BASE})`,
    code: 3,
    outcome: /timestamp/,
  },
  ...METRICS.map((m) => ({
    name: `NaN in ${m}`,
    sql: plus(`'nan'::DOUBLE AS ${m}, 'web-09' AS server_name`),
    code: 0,
    outcome: new RegExp(`WARNING missing_${m}: .*1 NaN.*\\n.*"web-09"`),
  })),
  {
    name: '+Inf latency',
    sql: plus(`'inf'::DOUBLE AS latency_ms, 'web-09' AS server_name`),
    code: 0,
    outcome: /WARNING missing_latency_ms: .*1 ±Inf/,
  },
  {
    name: '-Inf cpu',
    sql: plus(`'-inf'::DOUBLE AS cpu_pct, 'web-09' AS server_name`),
    code: 0,
    outcome: /WARNING missing_cpu_pct: .*1 ±Inf/,
  },
  ...METRICS.map((m) => ({
    name: `negative ${m}`,
    sql: plus(`-1::DOUBLE AS ${m}, 'web-09' AS server_name`),
    code: 0,
    outcome: new RegExp(`WARNING range_${m}: ${m} below 0 .*"web-09".*clipped to 0`),
  })),
  ...RANGES.map(([m, max]) => ({
    name: `huge ${m} (above ${max})`,
    sql: plus(`${max * 10 + 1}::DOUBLE AS ${m}, 'web-09' AS server_name`),
    code: 0,
    outcome: new RegExp(`WARNING range_${m}: ${m} above ${max} .*"web-09".*clipped to ${max}`),
  })),
  {
    name: '1e308 cpu',
    sql: plus(`1e308::DOUBLE AS cpu_pct, 'web-09' AS server_name`),
    code: 0,
    outcome: /WARNING range_cpu_pct: cpu_pct above 100 % in 1 rows .*max 1e\+308/,
  },
  {
    name: 'NULL mem_pct',
    sql: plus(`NULL::DOUBLE AS mem_pct, 'web-09' AS server_name`),
    code: 0,
    outcome: /WARNING missing_mem_pct: mem_pct missing in 1 of 2305 rows \(1 NULL\)/,
  },
  { name: 'NULL server_name', sql: plus(`NULL::VARCHAR AS server_name`), code: 3, outcome: /server_name/ },
  {
    name: 'NULL timestamp',
    sql: plus(`NULL::TIMESTAMP AS timestamp, 'web-09' AS server_name`),
    code: 3,
    outcome: /timestamp/,
  },
  {
    name: 'a duplicate row',
    sql: `${BASE} UNION ALL (${BASE} LIMIT 1)`,
    code: 0,
    outcome: /WARNING duplicate_identical: 1 extra rows.*one is kept\n.*"web-01"/,
  },
  {
    name: 'every row twice',
    sql: `${BASE} UNION ALL ${BASE}`,
    code: 0,
    outcome: /WARNING duplicate_identical: 2,?304 extra rows/,
  },
  {
    name: 'a timestamp in the future',
    sql: plus(`TIMESTAMP '2027-01-01 00:00:00' AS timestamp, 'web-09' AS server_name`),
    code: 0,
    // checked as of NOW (a replay): the later row is left out of every check, and the report says so
    outcome: /WARNING after_now: 1 sample is later than --now/,
  },
  {
    name: 'an invalid profile',
    sql: plus(`'Web Server' AS profile, 'web-09' AS server_name`),
    code: 3,
    outcome: /"web-09": profile "Web Server" must match/,
  },
  {
    name: 'two profiles for one server',
    sql: `${BASE} UNION ALL SELECT * REPLACE ('api' AS profile, timestamp + INTERVAL 1 MINUTE AS timestamp) FROM (${BASE}) LIMIT 2305`,
    code: 0,
    outcome: /WARNING profile_changed: 1 servers changed profile/,
  },
  ...badNames.map(([name, sql, outcome]) => ({
    name: `server name with ${name}`,
    sql: plus(`${sql} AS server_name`),
    code: 3,
    outcome,
  })),
  {
    name: 'a truncated parquet file',
    bytes: (clean) => clean.subarray(0, Math.floor(clean.length / 2)),
    code: 2,
    outcome: /cannot read metrics/,
  },
  { name: 'a zero-byte file', bytes: () => '', code: 2, outcome: /cannot read metrics/ },
  {
    name: 'a CSV named .parquet',
    bytes: () => 'timestamp,server_name\n2026-11-12,web-01\n',
    code: 2,
    outcome: /cannot read metrics/,
  },
  {
    name: 'parquet magic with garbage inside',
    bytes: () => Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(64, 7), Buffer.from('PAR1')]),
    code: 2,
    outcome: /cannot read metrics/,
  },
];

describe('faults: metrics', () => {
  let dir: string;
  let clean: string;
  let sandboxDb: string;
  const files = new Map<string, string>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-faults-metrics-'));
    clean = join(dir, 'clean.parquet');
    await writeFile(join(dir, 'secret.txt'), 'TOPSECRET-faults-41\n');
    sandboxDb = join(dir, 'store.duckdb');
    await withDuckDb(async (conn) => {
      await conn.run(`COPY (${BASE}) TO ${sqlString(clean)} (FORMAT parquet)`);
      for (const [i, row] of rows.entries()) {
        if (row.sql === undefined) continue;
        const file = join(dir, `case-${i}.parquet`);
        await conn.run(`COPY (${row.sql}) TO ${sqlString(file)} (FORMAT parquet)`);
        files.set(row.name, file);
      }
      await conn.run(`ATTACH ${sqlString(sandboxDb)} AS store`);
      await conn.run('USE store');
      await conn.run(`CREATE TABLE samples AS ${BASE}`);
      await conn.run(`CREATE VIEW leak AS SELECT TIMESTAMP '2026-11-19 00:00:00' AS timestamp, content AS server_name,
        'web' AS profile, ${ROW} FROM read_text(${sqlString(join(dir, 'secret.txt'))})`);
      await conn.run(`CREATE VIEW other AS SELECT * FROM read_parquet(${sqlString(clean)})`);
      await conn.run(`CREATE VIEW csv AS SELECT * FROM read_csv(${sqlString(join(dir, 'secret.txt'))})`);
      await conn.run('USE memory');
      await conn.run('DETACH store');
    });
    const bytes = await readFile(clean);
    for (const [i, row] of rows.entries()) {
      if (row.bytes === undefined) continue;
      const file = join(dir, `case-${i}.parquet`);
      await writeFile(file, row.bytes(bytes));
      files.set(row.name, file);
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const check = (spec: string) => fleetcast(['check-data', '--metrics', spec, '--now', NOW]);

  it('metrics | control: the clean file passes (exit 0)', async () => {
    const run = await check(clean);
    assert.equal(run.code, 0, run.stdout + run.stderr);
  });

  for (const row of rows)
    it(`metrics | ${row.name} → exit ${row.code}, the problem named, ${row.code === 0 ? 'a warning' : 'never OK'}`, async () => {
      const file = files.get(row.name)!;
      const run = await check(file);
      const text = run.stdout + run.stderr;
      assert.equal(run.code, row.code, text.slice(0, 2000));
      // Dirty but usable data passes with the warning (DATA_CONTRACT.md, "Dirty data").
      if (row.code === 0) assert.match(text, /^OK \(\d+ warnings\)/m);
      else assert.doesNotMatch(text, /^OK/m);
      assert.match(text, row.outcome);
      assert.ok(text.length < 20_000, 'a hostile value is shortened, not echoed whole');
    });

  for (const [view, outcome] of [
    ['leak', /refused: the source reads ".*secret\.txt", outside the declared metrics source/],
    ['other', /refused: the source reads ".*clean\.parquet", outside the declared metrics source/],
    ['csv', /outside the declared metrics source/],
  ] as const)
    it(`metrics | a DuckDB view "${view}" reading a file outside the source → exit 2, refused, nothing leaked`, async () => {
      const run = await check(`${sandboxDb}#${view}`);
      const text = run.stdout + run.stderr;
      assert.equal(run.code, 2, text);
      assert.match(text, outcome);
      assert.doesNotMatch(text, /TOPSECRET/);
    });

  it('metrics | a missing file → exit 2 naming the path', async () => {
    const run = await check(join(dir, 'nope.parquet'));
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--metrics: file not found: .*nope\.parquet/);
  });

  it('metrics | an empty file (0 rows) → exit 3 "empty", never OK (fixed in src/fleet/check-data.ts)', async () => {
    const file = join(dir, 'empty.parquet');
    await withDuckDb((conn) => conn.run(`COPY (${BASE} LIMIT 0) TO ${sqlString(file)} (FORMAT parquet)`));
    const run = await check(file);
    assert.equal(run.code, 3, run.stdout);
    assert.match(run.stdout, /ERROR empty: the source has no rows/);
    assert.doesNotMatch(run.stdout, /^OK/m);
  });
});
