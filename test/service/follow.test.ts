import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GitRegistryClone, redactRemote } from '../../src/service/follow/git-follow.js';
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
