import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeManifest } from '../../src/fleet/manifest.js';
import { ActiveFollower, readActive, type ActiveFile } from '../../src/service/blue-green/active-file.js';
import { processAlive } from '../../src/service/blue-green/instance.js';
import { makeTinyModels } from '../helpers/tiny-model.js';
import { cli, sleep, waitFor } from '../helpers/serve-process.js';
import { fleetOf, removeDir, tempDir, writeMetricsParquet } from './fixtures.js';

// `fleetcast blue-green` with real service processes: the first instance, a switch under load from
// clients that follow active.json (zero failed requests), and the refusals that leave the old
// instance serving.

const M1 = 'tft-20261001T000000Z-b1b1b1';
const M2 = 'tft-20261101T000000Z-b2b2b2';
const SHORT = 'tft-20261102T000000Z-b3b3b3';
const WIDE = 'tft-20261103T000000Z-b4b4b4';
const TOKEN = 'blue-green-admin-token-0123456789';
const fleet = fleetOf(8);
const ghost = { name: 'web-9999', profile: 'web' };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `fleetcast blue-green …` as a child process that does not block this test's clients. */
function blueGreen(
  args: string[],
  env: Record<string, string> = { FLEETCAST_ADMIN_TOKEN: TOKEN },
): Promise<Run> {
  const child = spawn(process.execPath, [cli, 'blue-green', ...args], {
    env: { ...process.env, FLEETCAST_LOG_LEVEL: 'warn', FLEETCAST_ADMIN_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('fleetcast blue-green (real service processes)', () => {
  let root: string;
  let registry: string;
  let metrics: string;
  let manifest: string;
  let wideManifest: string;
  let activeFile: string;
  const started = new Set<number>();

  const args = (modelId: string, extra: string[] = []): string[] => [
    '--model-id',
    modelId,
    '--registry',
    registry,
    '--metrics',
    metrics,
    '--manifest',
    manifest,
    '--active-file',
    activeFile,
    '--shutdown-grace',
    '1s',
    '--ready-timeout',
    '90s',
    '--drain-timeout',
    '60s',
    ...extra,
  ];
  const active = async (): Promise<ActiveFile> => {
    const a = await readActive(activeFile);
    assert.ok(a, 'active.json exists');
    if (a.pid !== null) started.add(a.pid);
    return a;
  };

  before(async () => {
    root = await tempDir('fleetcast-bg-');
    registry = join(root, 'registry');
    await makeTinyModels(join(registry, 'models'), [
      { modelId: M1, servers: fleet },
      { modelId: M2, servers: fleet, seed: 2 },
      { modelId: SHORT, servers: fleet.slice(1) },
      { modelId: WIDE, servers: [...fleet, ghost], seed: 4 },
    ]);
    metrics = join(root, 'metrics.parquet');
    await writeMetricsParquet(metrics, fleet, 48);
    manifest = join(root, 'manifest.json');
    wideManifest = join(root, 'manifest-wide.json');
    const entry = (s: { name: string; profile: string }) => ({ ...s, first_seen: '2026-10-01' });
    await writeManifest(manifest, { format_version: 1, servers: fleet.map(entry) });
    await writeManifest(wideManifest, { format_version: 1, servers: [...fleet, ghost].map(entry) });
    activeFile = join(root, 'run', 'active.json');
  });
  after(async () => {
    for (const pid of started) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    await removeDir(root);
  });

  it('refuses without FLEETCAST_ADMIN_TOKEN, starting nothing (exit 2)', async () => {
    const run = await blueGreen(args(M1), {});
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /FLEETCAST_ADMIN_TOKEN is required/);
    assert.equal(await readActive(activeFile), null);
  });

  it('starts the first instance and writes active.json (0600, no credentials)', async () => {
    const run = await blueGreen(args(M1, ['--json']));
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as {
      result: string;
      previous: unknown;
      warm_up: { expected: number; answered: number };
    };
    assert.equal(report.result, 'switched');
    assert.equal(report.previous, null);
    assert.deepEqual([report.warm_up.expected, report.warm_up.answered], [fleet.length, fleet.length]);
    const a = await active();
    assert.equal(a.model_id, M1);
    assert.equal((await stat(activeFile)).mode & 0o777, 0o600);
    assert.doesNotMatch(await readFile(activeFile, 'utf8'), new RegExp(TOKEN));
    assert.equal((await fetch(`${a.url}/readyz`)).status, 200);
  });

  it('switches to a new model under load: clients following active.json see zero failed requests', async () => {
    const blue = await active();
    const follower = new ActiveFollower(activeFile);
    let stop = false;
    let requests = 0;
    const failures: string[] = [];
    const seen = new Map<string, number>();
    const client = async (c: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const { url } = await follower.current();
        const server = fleet[(c + i) % fleet.length]!.name;
        try {
          const res =
            i % 2 === 0
              ? await fetch(`${url}/predict/${server}`)
              : await fetch(`${url}/predict`, {
                  method: 'POST',
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify({ servers: fleet.map((s) => s.name) }),
                });
          const body = (await res.json()) as { model_id?: string; message?: string };
          requests++;
          if (res.status !== 200) failures.push(`${url}: ${res.status} ${body.message}`);
          else seen.set(body.model_id!, (seen.get(body.model_id!) ?? 0) + 1);
        } catch (error) {
          failures.push(`${url}: ${String(error)}`);
        }
      }
    };
    const clients = Array.from({ length: 4 }, (_, c) => client(c));
    let run: Run;
    try {
      await sleep(300);
      run = await blueGreen(args(M2, ['--json']));
      await sleep(500); // requests keep flowing to the new instance after the old one is gone
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as {
      model_id: string;
      previous: { model_id: string; drained: boolean; exited_after_ms: number };
    };
    assert.equal(report.previous.model_id, M1);
    assert.equal(report.previous.drained, true);
    const green = await active();
    assert.deepEqual([green.model_id, green.previous?.model_id, green.previous?.url], [M2, M1, blue.url]);
    assert.notEqual(green.url, blue.url);
    assert.equal(processAlive(blue.pid!), false, 'the old instance exited');
    assert.deepEqual(failures, []);
    assert.ok(requests > 20, `only ${requests} requests`);
    assert.ok(
      (seen.get(M1) ?? 0) > 0 && (seen.get(M2) ?? 0) > 0,
      `both models served: ${JSON.stringify([...seen])}`,
    );
  });

  it('refuses a model whose instance is not ready (it misses the manifest): exit 3, the old one keeps serving', async () => {
    const before = await readFile(activeFile, 'utf8');
    const run = await blueGreen(args(SHORT));
    assert.equal(run.code, 3, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `refusing to switch to ${SHORT}: the new instance exited before listening \\(exit code 3\\)[\\s\\S]*lacks 1 manifest server`,
      ),
    );
    assert.match(run.stderr, new RegExp(`${M2} at http://\\S+ keeps serving`));
    assert.equal(await readFile(activeFile, 'utf8'), before, 'active.json is untouched');
    assert.equal((await fetch(`${(await active()).url}/readyz`)).status, 200);
  });

  it('refuses a ready instance whose warm-up leaves a manifest server unanswered, and stops it', async () => {
    const before = await readFile(activeFile, 'utf8');
    const run = await blueGreen([...args(WIDE), '--manifest', wideManifest]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(
      run.stderr,
      /warm-up forecast of the whole fleet does not cover it: 1 of 9 server\(s\) got no forecast: web-9999 \(no recent metrics/,
    );
    assert.equal(await readFile(activeFile, 'utf8'), before, 'active.json is untouched');
    const log = await readFile(join(root, 'run', `fleetcast-${WIDE}.log`), 'utf8');
    const url = /listening on (http\S+)/.exec(log)?.[1];
    assert.ok(url, 'the refused instance had started');
    await waitFor(
      async () =>
        await fetch(`${url}/livez`).then(
          () => undefined,
          () => true,
        ),
      'the refused instance to stop',
    );
    assert.equal((await fetch(`${(await active()).url}/readyz`)).status, 200);
  });
});
