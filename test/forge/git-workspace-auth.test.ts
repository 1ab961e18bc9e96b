import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gitOut as git } from '../helpers/git-fixture.js';
import { GitWorkspace } from '../../src/forge/git-workspace.js';
import { AUTH, TOKEN, startGitHttpRemote, type GitHttpRemote } from '../helpers/git-http-server.js';

/**
 * The actions' workspace against a real smart-HTTP remote that demands a token (git http-backend
 * behind a local server): with `persist-credentials: false` the checkout keeps no token, and
 * GitWorkspace fetches and pushes with the action's token in each command's environment only.
 */

const BOT = { name: 'fleetcast[bot]', email: 'bot@example.invalid' };

describe('GitWorkspace: a token for fetch and push, never in .git/config', () => {
  let root: string;
  let projects: string;
  let http: GitHttpRemote;
  let url: string;
  let seen: Array<string | undefined>;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fleetcast-ws-auth-'));
    http = await startGitHttpRemote(root, ['gitops.git']);
    ({ projects, seen } = http);
    url = `http://${http.base}/gitops.git`;
  });
  after(async () => {
    await http.close();
    await rm(root, { recursive: true, force: true });
  });

  /** What actions/checkout leaves: a clone of `url`; with `persisted`, that header in .git/config. */
  async function checkout(name: string, persisted?: string): Promise<string> {
    const dir = join(root, name);
    const header = `http.${url.replace(/gitops\.git$/, '')}.extraheader`;
    await git(root, '-c', `${header}=Authorization: ${AUTH}`, 'clone', '--quiet', url, dir);
    if (persisted !== undefined) await git(dir, 'config', header, `Authorization: ${persisted}`);
    return dir;
  }

  /** Someone else moves main on the remote. */
  async function pushElsewhere(text: string): Promise<string> {
    const other = http.work;
    await git(other, 'pull', '--quiet', 'origin', 'main');
    await writeFile(join(other, 'README.md'), text);
    await git(other, 'commit', '-qam', text.trim());
    await git(other, 'push', '--quiet', 'origin', 'HEAD:main');
    return git(other, 'rev-parse', 'HEAD');
  }

  it('fetches and pushes with the token as one header; .git/config never holds it', async () => {
    const dir = await checkout('checkout');
    const ws = await GitWorkspace.create(dir, { token: TOKEN });
    const moved = await pushElsewhere('two\n');
    seen.length = 0;
    assert.equal(await ws.syncTo('main'), moved);
    assert.ok(
      seen.length > 0 && seen.every((h) => h === AUTH),
      `every request carried one header: ${seen.join(' | ')}`,
    );

    await writeFile(join(dir, 'model.txt'), 'deployed\n');
    const local = await ws.commit(['model.txt'], 'deploy', BOT);
    seen.length = 0;
    await ws.push('main', BOT);
    assert.ok(seen.length > 0 && seen.every((h) => h === AUTH));
    assert.equal(await git(join(projects, 'gitops.git'), 'rev-parse', 'main'), local);
    assert.doesNotMatch(await readFile(join(dir, '.git', 'config'), 'utf8'), new RegExp(TOKEN));
  });

  it('replaces a header the checkout kept (an expired token) instead of sending two', async () => {
    const stale = `Basic ${Buffer.from('x-access-token:ghs_expired').toString('base64')}`;
    const dir = await checkout('kept', stale);
    const moved = await pushElsewhere('three\n');
    const ws = await GitWorkspace.create(dir, { token: TOKEN });
    seen.length = 0;
    assert.equal(await ws.syncTo('main'), moved);
    assert.ok(
      seen.every((h) => h === AUTH),
      `one header, the action's: ${seen.join(' | ')}`,
    );
  });

  it('without a token the remote refuses, and git fails instead of prompting', async () => {
    const dir = await checkout('anonymous');
    await pushElsewhere('four\n');
    const ws = await GitWorkspace.create(dir);
    await assert.rejects(ws.syncTo('main'));
    const wrong = await GitWorkspace.create(dir, { token: 'ghs_wrong' });
    await assert.rejects(wrong.syncTo('main'));
  });
});
