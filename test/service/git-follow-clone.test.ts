import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gitOut as git } from '../helpers/git-fixture.js';
import { GitRegistryClone } from '../../src/service/follow/git-follow.js';
import { AUTH, TOKEN, startGitHttpRemote, type GitHttpRemote } from '../helpers/git-http-server.js';

/**
 * The service's GitOps clone (src/service/follow/git-follow.ts) against a real smart-HTTP remote
 * (git http-backend behind a local server that demands Basic auth): the token must never land in
 * .git/config, and a directory that is not this service's clone of that remote is refused.
 */

describe('GitRegistryClone: private clone dir, token kept out of .git/config', () => {
  let root: string;
  let httpRemote: GitHttpRemote;
  let base: string;
  let seen: Array<string | undefined>;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fleetcast-gitclone-'));
    httpRemote = await startGitHttpRemote(root, ['gitops.git', 'other.git']);
    ({ base, seen } = httpRemote);
  });
  after(async () => {
    await httpRemote.close();
    await rm(root, { recursive: true, force: true });
  });

  const remote = (repo = 'gitops.git') => `http://x-access-token:${TOKEN}@${base}/${repo}`;

  it('clones with the token as a header, stores no token, keeps the clone private', async () => {
    const dir = join(root, 'clones', 'fresh');
    seen.length = 0;
    const clone = await GitRegistryClone.create(remote(), 'main', dir);
    assert.ok(seen.length > 0 && seen.every((h) => h === AUTH), 'every request carried the header');
    const config = await readFile(join(dir, '.git', 'config'), 'utf8');
    assert.doesNotMatch(config, new RegExp(TOKEN));
    assert.match(config, new RegExp(`url = http://${base}/gitops.git`));
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, '.git', 'config'))).mode & 0o777, 0o600);

    // a later push arrives through sync(), with the header again
    const work = join(root, 'work');
    await writeFile(join(work, 'README.md'), 'two\n');
    await git(work, 'commit', '-am', 'two');
    await git(work, 'push', 'origin', 'HEAD:main');
    assert.equal(await clone.sync(), true);
    assert.equal(await readFile(join(dir, 'README.md'), 'utf8'), 'two\n');
    assert.doesNotMatch(await readFile(join(dir, '.git', 'config'), 'utf8'), new RegExp(TOKEN));

    // a restart reuses its own clone
    const again = await GitRegistryClone.create(remote(), 'main', dir);
    assert.equal(await again.head(), await clone.head());
  });

  it('clones into an empty private directory of its own; a failed first clone leaves nothing behind', async () => {
    const mine = join(root, 'clones', 'precreated-by-operator');
    await mkdir(mine, { recursive: true, mode: 0o700 });
    await GitRegistryClone.create(remote(), 'main', mine);
    assert.ok(existsSync(join(mine, 'README.md')));
    const failed = join(root, 'clones', 'bad-token');
    await assert.rejects(
      GitRegistryClone.create(`http://x-access-token:wrong@${base}/gitops.git`, 'main', failed),
      /git clone http:\/\/127\.0\.0\.1:\d+\/gitops\.git failed/,
    );
    assert.equal(existsSync(failed), false);
  });

  it('takes the token out of a clone an older version made with it in the URL', async () => {
    const dir = join(root, 'clones', 'legacy');
    await mkdir(join(root, 'clones'), { recursive: true });
    await git(join(root, 'clones'), 'clone', '--branch', 'main', remote(), dir);
    assert.match(await readFile(join(dir, '.git', 'config'), 'utf8'), new RegExp(TOKEN));
    await GitRegistryClone.create(remote(), 'main', dir);
    assert.doesNotMatch(await readFile(join(dir, '.git', 'config'), 'utf8'), new RegExp(TOKEN));
    assert.equal((await stat(join(dir, '.git', 'config'))).mode & 0o777, 0o600);
  });

  it('refuses a pre-created directory that is not its clone of that remote, naming it', async () => {
    const clones = join(root, 'clones');
    await mkdir(clones, { recursive: true });
    const planted = join(clones, 'planted-open-empty');
    await mkdir(planted);
    await chmod(planted, 0o777);
    await assert.rejects(
      GitRegistryClone.create(remote(), 'main', planted),
      /planted-open-empty: exists but is not this service's clone of http:\/\/\*\*\*@.*gitops\.git: .*writable by other users/,
    );
    if (process.getuid?.() === 0) {
      // another user's directory (root can make one): never used
      const theirs = join(clones, 'planted-theirs');
      await mkdir(theirs, { mode: 0o700 });
      await chown(theirs, 4242, 4242);
      await assert.rejects(
        GitRegistryClone.create(remote(), 'main', theirs),
        /planted-theirs: .*another user \(uid 4242\)/,
      );
    }
    const notClone = join(clones, 'planted-files');
    await mkdir(notClone, { mode: 0o700 });
    await writeFile(join(notClone, 'x'), 'x');
    await assert.rejects(
      GitRegistryClone.create(remote(), 'main', notClone),
      /planted-files: .*not a git clone/,
    );

    const foreign = join(clones, 'planted-foreign');
    await git(
      clones,
      'clone',
      '--branch',
      'main',
      `http://x-access-token:${TOKEN}@${base}/other.git`,
      foreign,
    );
    await assert.rejects(
      GitRegistryClone.create(remote(), 'main', foreign),
      /planted-foreign: exists but is not this service's clone of .*: its origin is http:\/\/.*other\.git/,
    );

    const open = join(clones, 'planted-open');
    await GitRegistryClone.create(remote(), 'main', open);
    await chmod(open, 0o777);
    await assert.rejects(
      GitRegistryClone.create(remote(), 'main', open),
      /planted-open: .*writable by other users/,
    );
  });

  it('never adopts the repository a pre-created directory happens to sit in', async () => {
    const parent = join(root, 'parent');
    await git(root, 'init', parent);
    await writeFile(join(parent, 'mine.txt'), 'keep me\n');
    await git(parent, 'add', '-A');
    await git(parent, 'commit', '-m', 'parent');
    await writeFile(join(parent, 'mine.txt'), 'uncommitted work\n');
    const inside = join(parent, 'clone');
    await mkdir(inside, { mode: 0o700 });
    await writeFile(join(inside, 'notes.txt'), 'not a clone\n');
    await assert.rejects(GitRegistryClone.create(remote(), 'main', inside), /clone: exists but is not/);
    // an empty directory there becomes a clone of its own, beside the parent's files
    const empty = join(parent, 'empty');
    await mkdir(empty, { mode: 0o700 });
    const clone = await GitRegistryClone.create(remote(), 'main', empty);
    assert.ok(existsSync(join(empty, '.git', 'config')));
    assert.notEqual(await clone.head(), await git(parent, 'rev-parse', 'HEAD'));
    assert.equal(await readFile(join(parent, 'mine.txt'), 'utf8'), 'uncommitted work\n');
    assert.equal(await git(parent, 'remote'), '');
  });
});
