import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { pointerLockPath, pointerPath } from '../../src/registry/layout.js';
import { deploy, readPointer, type PointerChange } from '../../src/registry/pointer.js';
import { writeModelDir } from '../../src/registry/write-model.js';
import { assertOneChain } from '../helpers/pointer-chain.js';
import { sampleModelJson } from './fixtures/model-files.js';

const IDS = Array.from(
  { length: 7 },
  (_, i) => `tft-202611${String(i + 1).padStart(2, '0')}T000000Z-${String(i).repeat(6)}`,
);
const [FIRST, ...OTHERS] = IDS as [string, ...string[]];

/** The pid of a process that has exited (its pid is free, so a lock naming it is stale). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

describe('pointer writes are serialised under a lock beside current.json', () => {
  let root: string;
  let registry: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fleetcast-lock-'));
  });
  after(() => rm(root, { recursive: true, force: true }));
  beforeEach(async () => {
    registry = await mkdtemp(join(root, 'registry-'));
    const onnx = join(registry, 'graph.onnx');
    await writeFile(onnx, Buffer.from([8, 7, 1, 2, 3]));
    for (const id of IDS)
      await writeModelDir(registry, id, {
        json: sampleModelJson(id, { 'web-1': 1 }),
        copies: { 'model.onnx': onnx },
      });
    await deploy(registry, FIRST, 'first');
  });

  it('six concurrent deploys each replace the model that was current just before them', async () => {
    const changes: PointerChange[] = await Promise.all(
      OTHERS.map((id) => deploy(registry, id, `deploy ${id}`)),
    );
    assert.ok(changes.every((c) => c.changed));
    const last = assertOneChain(
      FIRST,
      changes.map((c) => c.pointer),
    );
    assert.equal((await readPointer(registry))!.model_id, last);
    assert.equal(existsSync(pointerLockPath(registry)), false, 'the lock is released');
  });

  it('breaks a lock left by a process that died', async () => {
    await writeFile(
      pointerLockPath(registry),
      JSON.stringify({
        pid: deadPid(),
        hostname: hostname(),
        acquired_at: new Date().toISOString(),
        token: 'x',
      }),
    );
    const change = await deploy(registry, OTHERS[0]!, 'after a crash', { lockTimeoutMs: 5000 });
    assert.equal(change.pointer.previous_model_id, FIRST);
    assert.equal(existsSync(pointerLockPath(registry)), false);
  });

  it('breaks a lock older than the stale age even when its pid is alive (the pid was reused)', async () => {
    await writeFile(
      pointerLockPath(registry),
      JSON.stringify({
        pid: process.pid,
        hostname: hostname(),
        acquired_at: '2026-01-01T00:00:00.000Z',
        token: 'x',
      }),
    );
    const old = new Date(Date.now() - 2 * 3600_000);
    await utimes(pointerLockPath(registry), old, old);
    const change = await deploy(registry, OTHERS[0]!, 'after a reused pid', { lockTimeoutMs: 5000 });
    assert.equal(change.changed, true);
  });

  it('waits for a live holder, then gives up naming it and leaves the pointer alone', async () => {
    const lock = JSON.stringify({
      pid: process.pid,
      hostname: hostname(),
      acquired_at: new Date().toISOString(),
      token: 'x',
    });
    await writeFile(pointerLockPath(registry), lock);
    const before = await readFile(pointerPath(registry), 'utf8');
    await assert.rejects(
      deploy(registry, OTHERS[0]!, 'blocked', { lockTimeoutMs: 300 }),
      new RegExp(`current\\.json\\.lock.*held by pid ${process.pid}`),
    );
    assert.equal(await readFile(pointerPath(registry), 'utf8'), before);
    assert.equal(
      await readFile(pointerLockPath(registry), 'utf8'),
      lock,
      "another holder's lock is not touched",
    );
  });

  it('releases the lock when the check inside it refuses the model', async () => {
    await assert.rejects(
      deploy(registry, OTHERS[0]!, 'refused', {
        check: () => Promise.reject(new Error('not servable')),
      }),
      /not servable/,
    );
    assert.equal(existsSync(pointerLockPath(registry)), false);
    assert.equal((await readPointer(registry))!.model_id, FIRST);
  });

  it('removes temp files of killed writers older than an hour at the next write, and keeps recent ones', async () => {
    const stale = '.current.json.4242.0badcafe.tmp';
    const recent = '.current.json.4243.0fedcafe.tmp';
    await writeFile(join(registry, stale), '{"half": ');
    await writeFile(join(registry, recent), '{"half": ');
    const old = new Date(Date.now() - 2 * 3600_000);
    await utimes(join(registry, stale), old, old);
    const change = await deploy(registry, OTHERS[0]!, 'cleans up');
    assert.deepEqual(change.removedTempFiles, [stale]);
    const left = await readdir(registry);
    assert.ok(!left.includes(stale));
    assert.ok(left.includes(recent));
  });
});
