import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { InputError } from '../../src/core/errors.js';
import { validateMetrics } from '../../src/fleet/check-data.js';
import { DEFAULT_ELIGIBILITY_POLICY } from '../../src/fleet/eligibility.js';
import { sqlString, withDuckDb } from '../../src/metrics/duckdb.js';
import { openMetricsSource } from '../../src/metrics/source.js';
import { summarizeServers } from '../../src/metrics/summary.js';

/**
 * DuckDB reads the metrics, and a DuckDB database file can hold views whose SQL reads any file
 * (read_text, read_csv, read_parquet of another path) or installs extensions. Every connection
 * that reads metrics is limited to the declared source's paths (docs/metrics.md, "Sandbox").
 */

const NOW = new Date('2026-11-20T00:00:00Z');
const SECRET = 'TOPSECRET-do-not-print-7f3a';
const ROW = `1.0::FLOAT AS cpu_pct, 2.0::FLOAT AS mem_pct, 3.0::FLOAT AS disk_io_mbps,
  4.0::FLOAT AS net_in_mbps, 5.0::FLOAT AS net_out_mbps, 6.0::FLOAT AS latency_ms, 0.01::FLOAT AS error_rate`;
const FLEET_SQL = `SELECT TIMESTAMP '2026-11-12 00:00:00' + to_minutes(5 * k) AS timestamp, s AS server_name,
  'web' AS profile, ${ROW} FROM range(2304) r(k), (VALUES ('web-01'), ('web-02')) v(s)`;

async function capture(args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  const grab =
    (original: typeof process.stdout.write) =>
    (chunk: string | Uint8Array, ...rest: never[]): boolean =>
      typeof chunk === 'string' ? out.push(chunk) > 0 : original(chunk, ...rest);
  process.stdout.write = grab(writeOut) as typeof process.stdout.write;
  process.stderr.write = grab(writeErr) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'fleetcast', ...args]);
    return { code, out: out.join('') };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    process.exitCode = undefined;
  }
}

describe('DuckDB sandbox for metrics sources', () => {
  let dir: string;
  let secret: string;
  let parquetDir: string;
  let parquet: string;
  let outside: string;
  let db: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-sandbox-'));
    secret = join(dir, 'secret.txt');
    await writeFile(secret, `${SECRET}\n`);
    parquetDir = join(dir, 'metrics');
    await mkdir(join(parquetDir, 'day2'), { recursive: true });
    parquet = join(parquetDir, 'day1.parquet');
    outside = join(dir, 'elsewhere', 'other.parquet');
    await mkdir(join(dir, 'elsewhere'));
    db = join(dir, 'store', 'metrics.duckdb');
    await mkdir(join(dir, 'store'));
    // Fixtures are written by the test's own connection, which declares no source.
    await withDuckDb(async (conn) => {
      await conn.run(`COPY (${FLEET_SQL}) TO ${sqlString(parquet)} (FORMAT parquet)`);
      await conn.run(
        `COPY (${FLEET_SQL.replaceAll("'web-0", "'api-0").replace("'web' AS", "'api' AS")})
         TO ${sqlString(join(parquetDir, 'day2', 'more.parquet'))} (FORMAT parquet)`,
      );
      await conn.run(
        `COPY (${FLEET_SQL.replaceAll("'web-0", "'db-0")}) TO ${sqlString(outside)} (FORMAT parquet)`,
      );
      await conn.run(`ATTACH ${sqlString(db)} AS store`);
      await conn.run('USE store');
      await conn.run(`CREATE TABLE samples AS ${FLEET_SQL}`);
      await conn.run('CREATE VIEW metrics AS SELECT * FROM samples');
      // The attack of the issue: a view that puts a local file's content into server_name.
      await conn.run(
        `CREATE VIEW leak AS SELECT TIMESTAMP '2026-11-19 00:00:00' AS timestamp,
           content AS server_name, 'web' AS profile, ${ROW} FROM read_text(${sqlString(secret)})`,
      );
      // A view over a parquet file that is not the declared source.
      await conn.run(`CREATE VIEW other AS SELECT * FROM read_parquet(${sqlString(outside)})`);
      await conn.run('USE memory');
      await conn.run('DETACH store');
    });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const validate = (spec: string) =>
    validateMetrics(openMetricsSource(spec), { now: NOW, eligibility: DEFAULT_ELIGIBILITY_POLICY });

  it('refuses a DuckDB view that reads a local file, without printing it', async () => {
    await assert.rejects(validate(`${db}#leak`), (error: unknown) => {
      assert.ok(error instanceof InputError, String(error));
      assert.match(error.message, /#?leak.*reads ".*secret\.txt", outside the declared metrics source/);
      assert.doesNotMatch(error.message, new RegExp(SECRET));
      return true;
    });
    await assert.rejects(summarizeServers(openMetricsSource(`${db}#leak`)), InputError);
  });

  it('fleetcast check-data on the secret-reading view exits 2 and prints no secret', async () => {
    const { code, out } = await capture([
      'check-data',
      '--metrics',
      `${db}#leak`,
      '--now',
      NOW.toISOString(),
    ]);
    assert.equal(code, 2, out);
    assert.doesNotMatch(out, new RegExp(SECRET));
    assert.match(out, /outside the declared metrics source/);
  });

  it('refuses a DuckDB view that reads a parquet file outside the declared paths', async () => {
    await assert.rejects(
      validate(`${db}#other`),
      /reads ".*other\.parquet", outside the declared metrics source/,
    );
  });

  it('still reads the declared parquet file, glob, directory and DuckDB table or view', async () => {
    for (const [spec, servers] of [
      [parquet, 2],
      [join(parquetDir, '*.parquet'), 2],
      [join(parquetDir, '**', '*.parquet'), 4],
      [parquetDir, 4],
      [db, 2],
      [`${db}#samples`, 2],
    ] as const) {
      const report = await validate(spec);
      assert.equal(report.servers, servers, `${spec}: ${JSON.stringify(report.problems)}`);
      assert.ok(report.ok, `${spec}: ${JSON.stringify(report.problems)}`);
      assert.equal((await summarizeServers(openMetricsSource(spec))).servers.length, servers);
    }
  });

  it('locks the configuration: no file access, no extension installs, nothing can be turned back on', async () => {
    const settings = await withDuckDb(
      async (conn) => {
        const reader = await conn.runAndReadAll(
          `SELECT current_setting('enable_external_access'), current_setting('autoinstall_known_extensions'),
             current_setting('autoload_known_extensions'), current_setting('lock_configuration'),
             current_setting('TimeZone')`,
        );
        for (const sql of [
          'SET enable_external_access = true',
          'SET lock_configuration = false',
          'RESET lock_configuration',
          "SET allowed_directories = ['/']",
          'SET autoinstall_known_extensions = true',
        ])
          await assert.rejects(conn.run(sql), /locked|Cannot change|Cannot enable/, sql);
        await assert.rejects(conn.run(`SELECT * FROM read_text(${sqlString(secret)})`), /Permission/);
        await assert.rejects(conn.run('INSTALL spatial'), /Permission|disabled/);
        return reader.getRows()[0];
      },
      { access: { files: [parquet] } },
    );
    assert.deepEqual(settings, [false, false, false, true, 'UTC']);
  });

  it('lets a writer declare its output directory, and nothing else', async () => {
    const out = join(dir, 'out');
    await mkdir(out);
    await withDuckDb(
      async (conn) => {
        await conn.run(`COPY (SELECT 1 AS a) TO ${sqlString(join(out, 'a.parquet'))} (FORMAT parquet)`);
        await assert.rejects(
          conn.run(`COPY (SELECT 1 AS a) TO ${sqlString(join(dir, 'b.parquet'))} (FORMAT parquet)`),
          /Permission/,
        );
      },
      { access: { directories: [out] } },
    );
    assert.deepEqual(await readdir(out), ['a.parquet']);
  });
});
