import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rename, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GitFollower, GitRegistryClone, redactRemote } from '../../src/service/follow/git-follow.js';
import { PointerWatcher } from '../../src/service/follow/pointer-watch.js';
import { removeDir, tempDir } from './fixtures.js';

describe('git follow', () => {
  it('redacts credentials in remotes and validates branch names', async () => {
    assert.equal(redactRemote('https://user:secret@example.com/r.git'), 'https://***@example.com/r.git');
    assert.equal(redactRemote('/srv/git/r.git'), '/srv/git/r.git');
    // Refused before git runs (src/core/branch-name.ts owns the rule).
    for (const branch of ['main;rm -rf', 'a..b', 'release/.hidden', 'a.lock/b'])
      await assert.rejects(
        GitRegistryClone.create('/nonexistent/remote.git', branch, '/nonexistent/clone'),
        /--branch: invalid branch name/,
      );
  });
});

function git(cwd: string, ...args: string[]): void {
  const r = spawnSync(
    'git',
    ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', '-c', 'init.defaultBranch=main', ...args],
    { cwd, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

describe('git follow against a remote that accepts and never answers', () => {
  it('a fetch gives up after its timeout, and the follower reports the error', async () => {
    const root = await tempDir();
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket); // accept, read, never answer
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const hanging = `http://user:secret@127.0.0.1:${port}/ops/fleet.git`;
    try {
      git(root, 'init', '--bare', 'remote.git');
      git(root, 'clone', 'remote.git', 'work');
      await writeFile(join(root, 'work', 'README'), 'x');
      git(join(root, 'work'), 'add', '-A');
      git(join(root, 'work'), 'commit', '-m', 'first');
      git(join(root, 'work'), 'push', 'origin', 'HEAD:main');
      const dir = join(root, 'clone');
      const clone = await GitRegistryClone.create(join(root, 'remote.git'), 'main', dir, { timeoutMs: 500 });
      assert.ok((await clone.head()).length === 40);

      const started = Date.now();
      await assert.rejects(
        GitRegistryClone.create(hanging, 'main', join(root, 'clone-of-hanging'), { timeoutMs: 500 }),
        /timed out after 0\.5 s/,
      );
      assert.ok(Date.now() - started < 5000, `gave up after ${Date.now() - started} ms`);

      git(dir, 'remote', 'set-url', 'origin', join(root, 'remote.git')); // the remote answers again
      const errors: string[] = [];
      const follower = new GitFollower(
        clone,
        60_000,
        () => undefined,
        (e) => errors.push(String(e)),
      );
      await follower.tick();
      assert.equal(follower.status().lastError, null);
      assert.ok(follower.status().lastSyncAt !== null);
      git(dir, 'remote', 'set-url', 'origin', hanging);
      const before = Date.now();
      await follower.tick();
      assert.ok(Date.now() - before < 5000);
      const status = follower.status();
      assert.match(String(status.lastError?.message), /git fetch timed out after 0\.5 s/);
      assert.doesNotMatch(String(status.lastError?.message), /secret/);
      assert.equal(errors.length, 1);
      await follower.stop();
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
      await removeDir(root);
    }
  });
});

describe('PointerWatcher', () => {
  it('reads a burst of replacements once it has settled, from fs events alone', async () => {
    const dir = await tempDir();
    const path = join(dir, 'current.json');
    await writeFile(path, '{"v":1}');
    const seen: string[] = [];
    const watcher = new PointerWatcher(path, () => seen.push('change'), { pollMs: 60_000, debounceMs: 200 });
    await watcher.start();
    try {
      for (const v of [2, 3, 4]) {
        await writeFile(join(dir, '.tmp'), `{"v":${v}}`);
        await rename(join(dir, '.tmp'), path);
      }
      for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 400));
      assert.deepEqual(seen, ['change']);
    } finally {
      await watcher.stop();
      await removeDir(dir);
    }
  });

  it('notices a file replaced by rename, by events or by polling', async () => {
    const dir = await tempDir();
    const path = join(dir, 'current.json');
    await writeFile(path, '{"v":1}');
    let changes = 0;
    const watcher = new PointerWatcher(path, () => changes++, { pollMs: 100, debounceMs: 10 });
    await watcher.start();
    try {
      await writeFile(join(dir, '.tmp'), '{"v":2}');
      await rename(join(dir, '.tmp'), path);
      for (let i = 0; i < 50 && changes === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(changes, 1);
      await writeFile(path, '{"v":2}'); // same content: no change
      await new Promise((r) => setTimeout(r, 250));
      assert.equal(changes, 1);
    } finally {
      await watcher.stop();
      await removeDir(dir);
    }
  });
});
