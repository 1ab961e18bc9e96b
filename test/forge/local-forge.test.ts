import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BranchMovedError, ForgeError } from '../../src/forge/errors.js';
import { LocalForge } from '../../src/forge/local-forge.js';
import { reconcileDriftPr } from '../../src/gitops/drift-pr.js';
import type { DriftPrBody } from '../../src/gitops/drift-pr-body.js';
import { createGitFixture, HUMAN, type GitFixture } from '../helpers/git-fixture.js';

const BOT = { name: 'fleetcast-bot', email: 'bot@fleetcast.test' };

function prBody(names: string[]): DriftPrBody {
  return {
    priority: 'high',
    driftPct: 40,
    fleetSize: names.length,
    unknownRatePct: null,
    modelId: null,
    modelAgeDays: null,
    modelAge: 'n/a',
    stale: false,
    thresholds: {},
    reasons: ['drift'],
    manifestPath: 'fleet/manifest.json',
    manifestSha256: '0'.repeat(64),
    newServers: { names, total: names.length },
    sunsetServers: { names: [], total: 0 },
    pendingServers: { names: [], total: 0 },
  };
}

describe('LocalForge', () => {
  let fixture: GitFixture;
  let pulls: string;
  let forge: LocalForge;
  before(async () => {
    fixture = await createGitFixture({ 'fleet/manifest.json': '{"servers":[]}\n' });
    pulls = await mkdtemp(join(tmpdir(), 'fleetcast-pulls-'));
    forge = await LocalForge.create({ repository: fixture.remote, pullsDir: pulls });
  });
  after(async () => {
    await fixture.cleanup();
    await rm(pulls, { recursive: true, force: true });
  });

  test('refuses a pull request directory inside the repository', async () => {
    await assert.rejects(
      LocalForge.create({ repository: fixture.remote, pullsDir: join(fixture.remote, 'pulls') }),
      ForgeError,
    );
  });

  test('branch writes are compare-and-swap', async () => {
    const main = (await forge.getBranchSha('main'))!;
    const sha = await forge.commitFiles({
      branch: 'topic',
      parentSha: main,
      files: { 'a.txt': 'a\n' },
      message: 'add a',
      author: BOT,
      expectedHeadSha: null,
    });
    assert.equal(await forge.readFile('topic', 'a.txt'), 'a\n');
    assert.equal(
      await forge.readFile('topic', 'fleet/manifest.json'),
      '{"servers":[]}\n',
      'parent tree kept',
    );
    await assert.rejects(
      forge.commitFiles({
        branch: 'topic',
        parentSha: main,
        files: { 'a.txt': 'b\n' },
        message: 'x',
        author: BOT,
        expectedHeadSha: null,
      }),
      BranchMovedError,
    );
    const next = await forge.commitFiles({
      branch: 'topic',
      parentSha: sha,
      files: { 'a.txt': null },
      message: 'drop a',
      author: BOT,
      expectedHeadSha: sha,
    });
    assert.equal(await forge.readFile(next, 'a.txt'), undefined);
    assert.deepEqual(
      (await forge.commitsBetween(main, 'topic')).map((c) => c.message),
      ['add a', 'drop a'],
    );
    await forge.deleteBranch('topic');
    assert.equal(await forge.getBranchSha('topic'), undefined);
  });

  test('pull requests: create, find, update, label, comment, close, merge', async () => {
    const main = (await forge.getBranchSha('main'))!;
    await forge.commitFiles({
      branch: 'feature',
      parentSha: main,
      files: { 'b.txt': 'b\n' },
      message: 'b',
      author: HUMAN,
      expectedHeadSha: null,
    });
    const pr = await forge.createPullRequest({
      head: 'feature',
      base: 'main',
      title: 't',
      body: 'b',
      labels: ['x'],
    });
    await assert.rejects(
      forge.createPullRequest({ head: 'feature', base: 'main', title: 't', body: 'b', labels: [] }),
      /already exists/,
    );
    assert.equal((await forge.findOpenPullRequest('feature', 'main'))?.number, pr.number);
    await forge.updatePullRequest(pr.number, { title: 't2' });
    await forge.setLabels(pr.number, ['y']);
    await forge.comment(pr.number, 'hello');
    const found = (await forge.findOpenPullRequest('feature', 'main'))!;
    assert.equal(found.title, 't2');
    assert.deepEqual(found.labels, ['y']);
    assert.deepEqual(await forge.listComments(pr.number), ['hello']);
    const merged = await forge.mergePullRequest(pr.number, 'Merge feature');
    assert.equal(await forge.getBranchSha('main'), merged);
    assert.equal(await forge.readFile('main', 'b.txt'), 'b\n');
    assert.equal(await forge.findOpenPullRequest('feature', 'main'), undefined);
    assert.ok((await readdir(pulls)).includes(`${pr.number}.json`));
  });

  test('the drift reconciler works the same on the local forge, and the demo can merge its PR', async () => {
    const settings = { base: 'main', manifestPath: 'fleet/manifest.json', bot: BOT, dryRun: false };
    const desired = {
      retrain: true as const,
      body: prBody(['web-01']),
      manifestText: '{"servers":["web-01"]}\n',
    };
    const first = await reconcileDriftPr(forge, desired, settings);
    const second = await reconcileDriftPr(forge, desired, settings);
    assert.deepEqual([first.operation, second.operation], ['created', 'unchanged']);
    await fixture.commitAs(HUMAN, 'fleetcast/drift/main', { 'fleet/README.md': 'hi\n' }, 'human note');
    const third = await reconcileDriftPr(
      forge,
      { ...desired, manifestText: '{"servers":["web-01","web-02"]}\n', body: prBody(['web-01', 'web-02']) },
      settings,
    );
    assert.equal(third.operation, 'updated');
    assert.equal(third.pushed, false);
    assert.equal(third.blockedBy.length, 1);
    assert.equal(await fixture.store.readFile('fleetcast/drift/main', 'fleet/README.md'), 'hi\n');
    const merged = await forge.mergePullRequest(first.pullRequest!.number, 'Merge drift PR');
    assert.equal(await fixture.store.readFile(merged, 'fleet/manifest.json'), '{"servers":["web-01"]}\n');
    const closed = await reconcileDriftPr(forge, { retrain: false, reason: 'no drift' }, settings);
    assert.equal(closed.operation, 'unchanged', 'nothing open any more');
  });
});
