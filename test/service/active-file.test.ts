import assert from 'node:assert/strict';
import { readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import {
  ActiveFollower,
  readActive,
  writeActive,
  type ActiveFile,
} from '../../src/service/blue-green/active-file.js';
import { removeDir, tempDir } from './fixtures.js';

const entry = (port: number, model: string): ActiveFile => ({
  format_version: 1,
  url: `http://127.0.0.1:${port}`,
  model_id: model,
  pid: 4242,
  switched_at: '2026-12-01T00:00:00.000Z',
  previous: null,
});
const M1 = 'tft-20261001T000000Z-a1a1a1';
const M2 = 'tft-20261101T000000Z-b2b2b2';

describe('active.json, the local blue-green switch', () => {
  let dir: string;
  before(async () => (dir = await tempDir('fleetcast-active-')));
  after(() => removeDir(dir));

  it('is written atomically with mode 0600, and read back; a missing file is no instance yet', async () => {
    const path = join(dir, 'run', 'active.json');
    assert.equal(await readActive(path), null);
    await writeActive(path, entry(8001, M1));
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readActive(path), entry(8001, M1));
    assert.deepEqual(await readdir(join(dir, 'run')), ['active.json'], 'no temp file left');
  });

  it('refuses URLs with credentials, paths or other schemes, naming the file and field', async () => {
    const path = join(dir, 'bad.json');
    for (const [url, message] of [
      ['http://user:secret@127.0.0.1:8001', /url: must not hold credentials/],
      ['http://127.0.0.1:8001/predict', /url: must be a base URL/],
      ['file:///etc/passwd', /url: expected http or https/],
    ] as const) {
      await assert.rejects(writeActive(path, { ...entry(1, M1), url }), /must not|must be|expected/);
      await writeFile(path, JSON.stringify({ ...entry(1, M1), url }));
      await assert.rejects(readActive(path), (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(error.message, new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
        assert.match(error.message, message);
        return true;
      });
    }
  });

  it('ActiveFollower follows a switch by rename and keeps the last good target over a broken file', async () => {
    const path = join(dir, 'follow.json');
    const follower = new ActiveFollower(path);
    await assert.rejects(follower.current(), /no such file/);
    await writeActive(path, entry(8001, M1));
    assert.equal((await follower.current()).model_id, M1);
    await writeActive(path, entry(8002, M2));
    assert.equal((await follower.current()).url, 'http://127.0.0.1:8002');
    // a hand edit that breaks the file must not send clients nowhere
    await writeFile(join(dir, 'broken.tmp'), '{"format_version": 1, "url": ');
    await rename(join(dir, 'broken.tmp'), path);
    assert.equal((await follower.current()).model_id, M2);
    await writeActive(path, entry(8003, M1));
    assert.equal((await follower.current()).url, 'http://127.0.0.1:8003');
  });
});
