import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeManifest } from '../../src/fleet/manifest.js';
import { deploy } from '../../src/registry/pointer.js';
import { makeTinyModels } from '../helpers/tiny-model.js';
import { fleetOf, removeDir, tempDir, writeMetricsParquet } from './fixtures.js';

const cli = fileURLToPath(new URL('../../bin/fleetcast.js', import.meta.url));
const M1 = 'tft-20261001T000000Z-e1e1e1';
const M2 = 'tft-20261101T000000Z-e2e2e2';
const fleet = fleetOf(5);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync(
    'git',
    [
      '-c',
      'user.name=Fleetcast Test',
      '-c',
      'user.email=test@example.invalid',
      '-c',
      'init.defaultBranch=main',
      ...args,
    ],
    {
      cwd,
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe('fleetcast serve --git (real CLI process, local bare remote)', () => {
  let root: string;
  let work: string;
  let child: ChildProcess | undefined;
  let url = '';
  let stderr = '';

  before(async () => {
    root = await tempDir();
    const bare = join(root, 'remote.git');
    work = join(root, 'work');
    git(root, 'init', '--bare', bare);
    git(root, 'clone', bare, work);
    await makeTinyModels(join(work, 'models-registry', 'models'), [
      { modelId: M1, servers: fleet },
      { modelId: M2, servers: fleet, seed: 4 },
    ]);
    await deploy(join(work, 'models-registry'), M1, 'first');
    await writeManifest(join(work, 'fleet', 'manifest.json'), {
      format_version: 1,
      servers: fleet.map((s) => ({ ...s, first_seen: '2026-10-01' })),
    });
    git(work, 'add', '-A');
    git(work, 'commit', '-m', 'deploy M1');
    git(work, 'push', 'origin', 'HEAD:main');
    const metrics = join(root, 'metrics.parquet');
    await writeMetricsParquet(metrics, fleet, 48);
    child = spawn(
      process.execPath,
      [
        cli,
        'serve',
        '--git',
        bare,
        '--branch',
        'main',
        '--interval',
        '300ms',
        '--clone',
        join(root, 'clone'),
        '--registry',
        'models-registry',
        '--manifest',
        'fleet/manifest.json',
        '--metrics',
        metrics,
        '--port',
        '0',
        '--poll',
        '200ms',
      ],
      {
        env: { ...process.env, FLEETCAST_LOG_LEVEL: 'warn', FLEETCAST_ADMIN_TOKEN: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    url = await waitFor(
      async () => /listening on (http:\/\/\S+)/.exec(stdout)?.[1],
      `serve to listen (stderr: ${stderr})`,
      60_000,
    );
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await removeDir(root);
  });

  const modelId = async (): Promise<string> =>
    ((await (await fetch(`${url}/health`)).json()) as { model_id: string }).model_id;

  it('serves the pointer of the remote branch, with windows from the parquet metrics', async () => {
    assert.equal(await modelId(), M1);
    const fleetRes = (await (await fetch(`${url}/forecast/fleet`)).json()) as {
      servers: Array<{ server: string; forecast?: unknown }>;
    };
    assert.equal(fleetRes.servers.length, fleet.length);
    assert.ok(fleetRes.servers.every((s) => s.forecast !== undefined));
    assert.equal((await fetch(`${url}/admin/reload-model`, { method: 'POST' })).status, 404);
    const status = (await (await fetch(`${url}/status`)).json()) as {
      drift: { reference: string; drift_pct: number };
      coverage: { coverage_pct: number; expected: number };
    };
    assert.deepEqual(status.drift.reference, 'manifest');
    assert.equal(status.drift.drift_pct, 0);
    assert.deepEqual([status.coverage.expected, status.coverage.coverage_pct], [fleet.length, 100]);
  });

  it('follows a merged pointer bump, then its revert', async () => {
    await deploy(join(work, 'models-registry'), M2, 'retrained');
    git(work, 'commit', '-am', 'deploy M2');
    git(work, 'push', 'origin', 'HEAD:main');
    await waitFor(async () => ((await modelId()) === M2 ? true : undefined), 'the swap to M2');
    git(work, 'revert', '--no-edit', 'HEAD');
    git(work, 'push', 'origin', 'HEAD:main');
    await waitFor(async () => ((await modelId()) === M1 ? true : undefined), 'the revert to M1');
    const health = (await (await fetch(`${url}/health`)).json()) as {
      status: string;
      reason: string | null;
      last_swap: { from: string; to: string };
      git: { branch: string; head: string; last_error: unknown };
    };
    assert.equal(health.status, 'ok', String(health.reason));
    assert.equal(health.git.branch, 'main');
    assert.equal(health.git.head, git(work, 'rev-parse', 'HEAD'));
    assert.equal(health.git.last_error, null);
    assert.deepEqual([health.last_swap.from, health.last_swap.to], [M2, M1]);
  });

  it('exits 0 after SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child!.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  });
});

describe('fleetcast serve with a registry that does not exist', () => {
  it('fails at startup, naming the path, instead of retrying forever', async () => {
    const root = await tempDir();
    try {
      const metrics = join(root, 'metrics.parquet');
      await writeMetricsParquet(metrics, fleet, 2);
      const missing = join(root, 'no-such-registry');
      const child = spawn(
        process.execPath,
        [cli, 'serve', '--registry', missing, '--metrics', metrics, '--port', '0'],
        {
          env: { ...process.env, FLEETCAST_LOG_LEVEL: 'warn' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await Promise.race([
        new Promise<number | null>((resolve) => child.once('exit', resolve)),
        sleep(20_000).then(() => 'still running' as const),
      ]);
      if (code === 'still running') child.kill('SIGKILL');
      assert.equal(code, 2, `exit code (stderr: ${stderr})`);
      assert.match(
        stderr,
        new RegExp(`--registry ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no such directory`),
      );
    } finally {
      await removeDir(root);
    }
  });
});
