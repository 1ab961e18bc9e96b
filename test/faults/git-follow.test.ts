import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gitOut as git } from '../helpers/git-fixture.js';
import { getErrorMessage } from '../../src/core/errors.js';
import { GitRegistryClone } from '../../src/service/follow/git-follow.js';

/**
 * Fault suite, group "git-follow": the service's GitOps clone against a local bare remote that
 * disappears, a branch that does not exist or is deleted, branch names that try to inject options
 * or commands, and credentials in the remote URL. Every fault is an error naming the problem; the
 * clone already on disk keeps its files and HEAD; nothing runs; no token appears in any message.
 */
const TOKEN = 'ghp_FAKEgitFOLLOWtoken0123456789abcdef';

describe('faults: git-follow', () => {
  let root: string;
  let remote: string;
  let marker: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fleetcast-faults-git-'));
    remote = join(root, 'remote.git');
    marker = join(root, 'pwned');
    const work = join(root, 'work');
    await mkdir(work);
    await git(root, 'init', '--bare', remote);
    await git(work, 'init');
    await writeFile(join(work, 'current.json'), '{"model_id": "a"}\n');
    await git(work, 'add', '.');
    await git(work, 'commit', '-m', 'first');
    await git(work, 'branch', 'doomed');
    await git(work, 'push', remote, 'main', 'doomed');
  });
  after(() => rm(root, { recursive: true, force: true }));

  let n = 0;
  const fresh = (): string => join(root, `clone-${n++}`);

  const injections: Array<[string, string]> = [
    ['an option (--upload-pack)', '--upload-pack=touch pwned'],
    ['a leading dash', '-b'],
    ['a command separator', 'main;touch pwned'],
    ['command substitution', 'main$(touch pwned)'],
    ['backticks', 'main`touch pwned`'],
    ['a space', 'main branch'],
    ['a newline', 'main\ntouch'],
    ['dot-dot', 'main..other'],
    ['a path climbing out', '../../etc'],
    ['a .lock suffix', 'main.lock'],
    ['a reflog expression', 'main@{1}'],
    ['a glob', 'ma*'],
    ['a colon (refspec)', 'main:refs/heads/x'],
    ['an empty name', ''],
  ];
  for (const [name, branch] of injections)
    it(`git-follow | branch name with ${name} → refused before git runs, nothing created`, async () => {
      const dir = fresh();
      await assert.rejects(GitRegistryClone.create(remote, branch, dir), (error: unknown) => {
        assert.match(getErrorMessage(error), /--branch/);
        return true;
      });
      assert.equal(existsSync(dir), false, 'the clone dir was created');
      assert.equal(existsSync(marker) || existsSync('pwned'), false, 'an injected command ran');
    });

  it('git-follow | a branch that does not exist → error naming it, no clone dir left', async () => {
    const dir = fresh();
    await assert.rejects(GitRegistryClone.create(remote, 'no-such-branch', dir), /no-such-branch/);
    assert.equal(existsSync(dir), false);
  });

  it('git-follow | a remote that does not exist → error, no clone dir left', async () => {
    const dir = fresh();
    await assert.rejects(
      GitRegistryClone.create(join(root, 'missing.git'), 'main', dir),
      /git clone .*failed/,
    );
    assert.equal(existsSync(dir), false);
  });

  it('git-follow | a remote URL with a token that cannot be reached → error without the token', async () => {
    const dir = fresh();
    await assert.rejects(
      GitRegistryClone.create(`https://x-access-token:${TOKEN}@127.0.0.1:9/registry.git`, 'main', dir, {
        timeoutMs: 5000,
      }),
      (error: unknown) => {
        const text = `${getErrorMessage(error)} ${String((error as Error).stack)}`;
        assert.ok(!text.includes(TOKEN), text);
        assert.ok(
          !text.includes(Buffer.from(`x-access-token:${TOKEN}`).toString('base64')),
          'base64 token in the error',
        );
        return true;
      },
    );
    assert.equal(existsSync(dir), false);
  });

  it('git-follow | the followed branch deleted on the remote → sync fails, HEAD and files kept', async () => {
    const dir = fresh();
    const clone = await GitRegistryClone.create(remote, 'doomed', dir);
    const head = await clone.head();
    await git(root, '--git-dir', remote, 'branch', '-D', 'doomed');
    await assert.rejects(clone.sync(), /doomed|fetch/);
    assert.equal(await clone.head(), head);
    assert.equal(await readFile(join(dir, 'current.json'), 'utf8'), '{"model_id": "a"}\n');
  });

  it('git-follow | the remote deleted after the clone → sync fails, HEAD and files kept', async () => {
    const gone = join(root, 'gone.git');
    await git(root, 'clone', '--bare', remote, gone);
    const dir = fresh();
    const clone = await GitRegistryClone.create(gone, 'main', dir);
    const head = await clone.head();
    await rm(gone, { recursive: true, force: true });
    await assert.rejects(clone.sync(), /git fetch .*failed/);
    assert.equal(await clone.head(), head);
    assert.equal(await readFile(join(dir, 'current.json'), 'utf8'), '{"model_id": "a"}\n');
  });

  it('git-follow | a directory that is not its clone → refused, its files untouched', async () => {
    const dir = fresh();
    await mkdir(dir);
    await writeFile(join(dir, 'keep.txt'), 'mine\n');
    await assert.rejects(GitRegistryClone.create(remote, 'main', dir), /./);
    assert.equal(await readFile(join(dir, 'keep.txt'), 'utf8'), 'mine\n');
  });
});
