import assert from 'node:assert/strict';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultCloneDir } from '../../src/service/run.js';

describe('the default clone directory of serve --git', () => {
  it('is stable across restarts and token rotation, inside a directory only this user can use', async () => {
    const a = await defaultCloneDir('https://x-access-token:one@example.com/ops/fleet.git', 'main');
    const b = await defaultCloneDir('https://x-access-token:two@example.com/ops/fleet.git', 'main');
    const other = await defaultCloneDir('https://example.com/ops/fleet.git', 'release');
    assert.equal(a, b);
    assert.notEqual(a, other);
    assert.equal(dirname(a), dirname(other));
    assert.equal((await stat(dirname(a))).mode & 0o777, 0o700);
  });

  it('someone who pre-creates that directory cannot stop the service: a fresh private one is used', async () => {
    const uid = process.getuid?.() ?? 'user';
    const parent = join(tmpdir(), `fleetcast-serve-${uid}`);
    await mkdir(parent, { recursive: true });
    await chmod(parent, 0o777); // as if made by someone else for everyone
    try {
      const dir = await defaultCloneDir('https://example.com/ops/fleet.git', 'main');
      assert.ok(!dir.startsWith(`${parent}/`), dir);
      assert.equal((await stat(dirname(dir))).mode & 0o777, 0o700);
    } finally {
      await chmod(parent, 0o700);
    }
  });
});
