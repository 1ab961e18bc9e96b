import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fleetcastInProcess } from '../helpers/cli-capture.js';

const BIN = fileURLToPath(new URL('../../bin/fleetcast.js', import.meta.url));
const END = '2026-11-20T00:00:00Z';

/** Runs the CLI as a real process (slow: used once, for the bin and its exit code). */
function spawnFleetcast(
  args: string[],
  cwd: string,
): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, FLEETCAST_LOG_LEVEL: 'warn' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The CLI in this process (test/helpers/cli-capture.ts); `_cwd` documents where paths are relative to. */
const fleetcast = (args: string[], _cwd: string) => fleetcastInProcess(args);

describe('fleetcast generate / fleet / drift / manifest update / check-data', () => {
  let dir: string;
  let metrics: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-cli-'));
    metrics = join(dir, 'm.parquet');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('generate writes parquet and a plan', async () => {
    const r = await fleetcast(
      [
        'generate',
        '--servers',
        '12',
        '--days',
        '35',
        '--out',
        metrics,
        '--end',
        END,
        '--add',
        '2',
        '--sunset',
        '3',
        '--seed',
        '4',
        '--json',
      ],
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { rows: number; servers: number; plan_path: string };
    assert.equal(out.servers, 14);
    assert.ok(out.rows > 100_000);
    assert.equal(out.plan_path, `${metrics}.plan.json`);
  });

  it('fleet prints statuses as JSON and as a table', async () => {
    const json = await fleetcast(['fleet', '--metrics', metrics, '--now', END, '--json'], dir);
    assert.equal(json.code, 0, json.stderr + json.stdout);
    const report = JSON.parse(json.stdout) as { counts: Record<string, number> };
    assert.deepEqual(
      [
        report.counts.total,
        report.counts.offline,
        report.counts.sunset_candidate,
        report.counts.sunset_confirmed,
      ],
      [14, 1, 1, 1],
    );
    const table = await fleetcast(['fleet', '--metrics', metrics, '--now', END], dir);
    assert.match(table.stdout, /^SERVER\s+PROFILE\s+STATUS/);
    assert.match(
      table.stdout,
      /14 servers at 2026-11-20T00:00:00.000Z: 11 active, 1 offline, 1 sunset candidate, 1 sunset confirmed/,
    );
  });

  it('drift --json has the contract fields and logs events where told', async () => {
    const list = join(dir, 'model.txt');
    const names = Array.from({ length: 12 }, (_, i) => i).map((i) => {
      const cycle = [
        'web',
        'api',
        'database',
        'web',
        'cache',
        'api',
        'batch',
        'web',
        'api',
        'database',
        'web',
        'cache',
      ];
      return `${cycle[i]}-${String(i + 1).padStart(4, '0')}`;
    });
    await writeFile(list, `${names.join('\n')}\n`);
    const events = join(dir, 'logs', 'events.json');
    const r = await fleetcast(
      ['drift', '--metrics', metrics, '--model-servers', list, '--now', END, '--json', '--events', events],
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const key of [
      'drift_pct',
      'new_servers',
      'sunset_servers',
      'pending_servers',
      'priority',
      'model_age_days',
      'decision',
      'reasons',
      'manifest',
      'fleet',
      'thresholds',
      'unknown_rate',
    ])
      assert.ok(key in report, key);
    assert.equal(report.drift_pct, 16.67); // 1 eligible new + 1 sunset confirmed, of 12
    assert.equal(report.priority, 'low');
    assert.match(await readFile(events, 'utf8'), /"event":"drift_check"/);
    const text = await fleetcast(
      ['drift', '--metrics', metrics, '--model-servers', list, '--now', END, '--no-events'],
      dir,
    );
    assert.match(text.stdout, /Decision: RETRAIN \(priority low\)/);
  });

  it('manifest update writes once, then is unchanged and byte-identical', async () => {
    const manifest = join(dir, 'fleet', 'manifest.json');
    const args = [
      'manifest',
      'update',
      '--metrics',
      metrics,
      '--manifest',
      manifest,
      '--now',
      END,
      '--no-events',
    ];
    const first = await fleetcast(args, dir);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /updated \(12 servers; \+12 -0\)/);
    const bytes = await readFile(manifest, 'utf8');
    const second = await fleetcast([...args, '--json'], dir);
    assert.equal((JSON.parse(second.stdout) as { changed: boolean }).changed, false);
    assert.equal(await readFile(manifest, 'utf8'), bytes);
    assert.equal((await fleetcast([...args, '--check'], dir)).code, 0);
    await writeFile(manifest, '{"format_version":1,"servers":[]}\n');
    assert.equal((await fleetcast([...args, '--check'], dir)).code, 3);
  });

  it('check-data exits 0 on generated data', async () => {
    const r = await fleetcast(['check-data', '--metrics', metrics, '--now', END], dir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /OK/);
  });

  it('bad input exits 2 with a message naming it', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['fleet', '--metrics', join(dir, 'missing.parquet')], /missing\.parquet/],
      [['fleet', '--metrics', metrics, '--now', 'yesterday'], /--now/],
      [['generate', '--servers', 'x', '--days', '1', '--out', join(dir, 'x.parquet')], /--servers/],
      [['drift', '--metrics', metrics], /exactly one of --model-servers/],
      [['fleet', '--metrics', metrics, '--config', join(dir, 'bad.json')], /bad\.json/],
      [
        ['drift', '--metrics', metrics, '--config', join(dir, 'old.json')],
        /old\.json: 'sunset_days_threshold' was renamed to 'sunset_confirmed_days'/,
      ],
    ];
    await writeFile(join(dir, 'bad.json'), '{"medium_drift_pct": "high"}');
    await writeFile(join(dir, 'old.json'), '{"sunset_days_threshold": 30}');
    for (const [args, message] of cases) {
      const r = await fleetcast(args, dir);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  it('the bin runs, and --help documents exit codes', () => {
    const r = spawnFleetcast(['drift', '--help'], dir);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Exit codes:/);
  });
});
