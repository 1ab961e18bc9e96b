import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { DEFAULT_RETRAIN_CONFIG } from '../../src/config/retrain-config.js';
import { updateManifest } from '../../src/drift/manifest-update.js';
import { readManifest, renderManifest, writeManifest, type Manifest } from '../../src/fleet/manifest.js';
import { sqlString, withDuckDb } from '../../src/metrics/duckdb.js';

/**
 * `manifest update` against bad or conflicting rows (docs/fleet.md, "Profiles and bad rows"):
 * a listed server is removed only by the sunset rule, never because some of its rows are bad;
 * its profile changes only when the new one has been its only profile for minimum_history_days.
 */

const NOW = new Date('2026-11-20T00:00:00Z');
const DAY = 86_400;
const config = { config: DEFAULT_RETRAIN_CONFIG, source: 'defaults' };

/** Rows of one server: `profile` every 5 minutes from `fromDays` to `toDays` before NOW. */
interface Segment {
  server: string;
  profile: string;
  fromDays: number;
  toDays: number;
}

/** Writes the segments in order (the first segment's rows come first in the file). */
async function writeMetrics(path: string, segments: readonly Segment[]): Promise<void> {
  const end = NOW.getTime() / 1000;
  const selects = segments.map(
    (
      s,
      i,
    ) => `SELECT ${i} AS seg, k, to_timestamp(${end} - k * 300) AS timestamp, ${sqlString(s.server)} AS server_name,
      ${sqlString(s.profile)} AS profile, 40.0::FLOAT AS cpu_pct, 50.0::FLOAT AS mem_pct, 5.0::FLOAT AS disk_io_mbps,
      10.0::FLOAT AS net_in_mbps, 8.0::FLOAT AS net_out_mbps, 20.0::FLOAT AS latency_ms, 0.01::FLOAT AS error_rate
      FROM range(${Math.round((s.toDays * DAY) / 300) + 1}, ${Math.round((s.fromDays * DAY) / 300) + 1}) r(k)`,
  );
  await withDuckDb((conn) =>
    conn.run(
      `COPY (SELECT * EXCLUDE (seg, k) FROM (${selects.join(' UNION ALL ')}) ORDER BY seg, k DESC)
       TO ${sqlString(path)} (FORMAT parquet)`,
    ),
  );
}

const listed = (servers: Array<[string, string]>): Manifest => ({
  format_version: 1,
  servers: servers.map(([name, profile]) => ({ name, profile, first_seen: '2026-10-01' })),
});

async function run(args: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const writeErr = process.stderr.write.bind(process.stderr);
  const writeOut = process.stdout.write.bind(process.stdout);
  const grab =
    (original: typeof process.stdout.write) =>
    (chunk: string | Uint8Array, ...rest: never[]): boolean =>
      typeof chunk === 'string' ? err.push(chunk) > 0 : original(chunk, ...rest);
  process.stderr.write = grab(writeErr) as typeof process.stderr.write;
  process.stdout.write = grab(writeOut) as typeof process.stdout.write;
  try {
    return { code: await main(['node', 'fleetcast', ...args]), err: err.join('') };
  } finally {
    process.stderr.write = writeErr;
    process.stdout.write = writeOut;
    process.exitCode = undefined;
  }
}

describe('manifest update with bad or conflicting rows', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-manifest-rows-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function update(label: string, manifest: Manifest, segments: Segment[]) {
    const metrics = join(dir, `${label}.parquet`);
    const path = join(dir, `${label}.json`);
    await writeMetrics(metrics, segments);
    await writeManifest(path, manifest);
    const result = await updateManifest({ metrics, manifest: path, now: NOW, config, events: null });
    return { result, metrics, path };
  }

  it('12 rows with an invalid profile do not remove the server; they are reported by name', async () => {
    const { result, path } = await update('invalid-rows', listed([['web-0001', 'web']]), [
      { server: 'web-0001', profile: 'Not A Profile!', fromDays: 10, toDays: 10 - 12 / 288 },
      { server: 'web-0001', profile: 'web', fromDays: 10 - 12 / 288, toDays: 0 },
    ]);
    assert.deepEqual(result.removed, []);
    assert.equal(result.changed, false);
    assert.deepEqual(result.held, []);
    assert.deepEqual(await readManifest(path), listed([['web-0001', 'web']]));
    assert.ok(
      result.warnings.some((w) => /web-0001: 12 rows with an invalid profile/.test(w)),
      JSON.stringify(result.warnings),
    );
  });

  it('a listed server whose rows all have an invalid profile stays, and the update fails naming it', async () => {
    const manifest = listed([
      ['api-0001', 'api'],
      ['web-0001', 'web'],
    ]);
    const { result, metrics, path } = await update('all-invalid', manifest, [
      { server: 'web-0001', profile: 'WEB', fromDays: 10, toDays: 0 },
      { server: 'api-0001', profile: 'api', fromDays: 10, toDays: 0 },
    ]);
    assert.deepEqual(result.removed, []);
    assert.deepEqual(await readManifest(path), manifest);
    assert.deepEqual(
      result.held.map((h) => h.server),
      ['web-0001'],
    );
    const cli = await run([
      'manifest',
      'update',
      '--metrics',
      metrics,
      '--manifest',
      path,
      '--now',
      NOW.toISOString(),
      '--no-events',
    ]);
    assert.equal(cli.code, 3, cli.err);
    assert.match(cli.err, /web-0001/);
    assert.equal(await readFile(path, 'utf8'), renderManifest(manifest));
  });

  it("a server whose first rows carry another profile keeps its profile (its newest rows' profile)", async () => {
    const { result } = await update('first-rows', listed([['web-0002', 'web']]), [
      { server: 'web-0002', profile: 'api', fromDays: 10, toDays: 9 },
      { server: 'web-0002', profile: 'web', fromDays: 9, toDays: 0 },
    ]);
    assert.deepEqual(result.profile_changed, []);
    assert.equal(result.changed, false);
    assert.deepEqual(result.held, []);
    assert.equal(result.manifest.servers[0]!.profile, 'web');
  });

  it('a recent profile change is held and reported until it has lasted minimum_history_days', async () => {
    const manifest = listed([['web-0003', 'web']]);
    const { result, metrics, path } = await update('recent-change', manifest, [
      { server: 'web-0003', profile: 'web', fromDays: 10, toDays: 2 },
      { server: 'web-0003', profile: 'api', fromDays: 2, toDays: 0 },
    ]);
    assert.deepEqual(result.profile_changed, []);
    assert.equal(result.manifest.servers[0]!.profile, 'web');
    assert.deepEqual(
      result.held.map((h) => h.server),
      ['web-0003'],
    );
    assert.match(
      result.held[0]!.problem,
      /profile kept at web: its rows carry api since 2026-11-17, after web; the profile settles on 2026-11-24/,
    );
    const cli = await run([
      'manifest',
      'update',
      '--metrics',
      metrics,
      '--manifest',
      path,
      '--now',
      NOW.toISOString(),
      '--no-events',
    ]);
    assert.equal(cli.code, 3, cli.err);
    assert.match(cli.err, /web-0003/);
  });

  it('a profile change that has lasted minimum_history_days is applied', async () => {
    const { result } = await update('settled-change', listed([['web-0004', 'web']]), [
      { server: 'web-0004', profile: 'web', fromDays: 20, toDays: 8 },
      { server: 'web-0004', profile: 'api', fromDays: 8, toDays: 0 },
    ]);
    assert.deepEqual(result.profile_changed, ['web-0004']);
    assert.equal(result.manifest.servers[0]!.profile, 'api');
    assert.deepEqual(result.held, []);
  });

  it('a new server whose recent rows disagree on the profile is not added until they agree', async () => {
    const { result } = await update('new-mixed', listed([]), [
      { server: 'api-0009', profile: 'web', fromDays: 10, toDays: 3 },
      { server: 'api-0009', profile: 'api', fromDays: 3, toDays: 0 },
    ]);
    assert.deepEqual(result.added, []);
    assert.deepEqual(
      result.held.map((h) => h.server),
      ['api-0009'],
    );
  });
});
