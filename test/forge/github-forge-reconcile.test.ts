import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ForgeError } from '../../src/forge/errors.js';
import { GitHubForge } from '../../src/forge/github-forge.js';
import { FakeGitHub } from '../helpers/fake-github.js';
import { createGitFixture, HUMAN, type GitFixture } from '../helpers/git-fixture.js';

/** The forge methods of the reconcile loop, against the local GitHub checked by @octokit/openapi. */
describe('GitHubForge: issues, workflow dispatch and runs, file history', () => {
  let fixture: GitFixture;
  let github: FakeGitHub;
  let forge: GitHubForge;
  before(async () => {
    fixture = await createGitFixture({
      'fleet/manifest.json': '{}\n',
      'models-registry/current.json': '{}\n',
    });
    github = await FakeGitHub.start(fixture.remote);
    forge = GitHubForge.create({
      token: github.token,
      repository: github.repository,
      baseUrl: github.url,
      retryBaseMs: 5,
    });
  });
  after(async () => {
    await github.stop();
    await fixture.cleanup();
  });

  test('issues: found by label and exact title, pull requests never match, closed then reopened', async () => {
    const title = 'Fleetcast: deployed model vs fleet manifest (main)';
    assert.equal(await forge.findIssue('fleetcast:reconcile', title), undefined);
    // A pull request with the same label and title is not the issue.
    const main = (await forge.getBranchSha('main'))!;
    await forge.commitFiles({
      branch: 'topic',
      parentSha: main,
      files: { 'x.txt': 'x\n' },
      message: 'x',
      author: HUMAN,
      expectedHeadSha: null,
    });
    const pr = await forge.createPullRequest({ head: 'topic', base: 'main', title, body: '', labels: [] });
    await forge.setLabels(pr.number, ['fleetcast:reconcile']);
    assert.equal(await forge.findIssue('fleetcast:reconcile', title), undefined);

    const created = await forge.createIssue({ title, body: 'hello', labels: ['fleetcast:reconcile'] });
    assert.equal(created.state, 'open');
    assert.deepEqual(created.labels, ['fleetcast:reconcile']);
    assert.equal((await forge.findIssue('fleetcast:reconcile', title))?.number, created.number);
    assert.equal(await forge.findIssue('fleetcast:reconcile', 'another title'), undefined);
    await forge.closeIssue(created.number);
    const closed = await forge.findIssue('fleetcast:reconcile', title);
    assert.equal(closed?.state, 'closed', 'a closed issue is still found (to reopen, not duplicate)');
    const reopened = await forge.updateIssue(created.number, { body: 'again', state: 'open' });
    assert.equal(reopened.state, 'open');
    assert.equal(reopened.body, 'again');
    assert.equal(github.issues.length, 1);
    assert.deepEqual(github.violations, []);
  });

  test('dispatch: retrain.yml with the inputs it declares; runs and failed jobs read back', async () => {
    await forge.dispatchWorkflow('retrain.yml', 'main', { reason: 'reconcile', reconcile_attempt: 'abc-1' });
    const runs = await forge.listWorkflowRuns('retrain.yml', 20);
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.title, 'Retrain (reconcile abc-1)');
    assert.equal(runs[0]!.status, 'queued');
    assert.equal(runs[0]!.conclusion, null);
    github.runs[0]!.status = 'completed';
    github.runs[0]!.conclusion = 'failure';
    github.runs[0]!.jobs = [
      { name: 'train', status: 'completed', conclusion: 'failure' },
      { name: 'deploy', status: 'completed', conclusion: 'skipped' },
    ];
    assert.deepEqual(await forge.failedJobs(runs[0]!.id), [{ name: 'train', conclusion: 'failure' }]);
    // An input the workflow does not declare is refused as GitHub refuses it.
    const error = await forge
      .dispatchWorkflow('retrain.yml', 'main', { no_such_input: 'x' })
      .catch((e: unknown) => e);
    assert.ok(error instanceof ForgeError);
    assert.equal(error.status, 422);
    // GitHub answers 422 here (as its docs say in words), but the OpenAPI description lists only
    // 200 and 204 for this operation: the one known gap, taken out of the check.
    const gap = 'actions/create-workflow-dispatch: response status 422 is not documented';
    assert.deepEqual(github.violations, [gap]);
    github.violations.length = 0;
  });

  test('file history: commits that changed a path, newest first, with messages and dates', async () => {
    const sha = await fixture.commitAs(
      HUMAN,
      'main',
      { 'models-registry/current.json': '{"a":1}\n' },
      'deploy: x\n\nFleetcast-Model: x',
    );
    const history = await forge.fileHistory('main', 'models-registry/current.json', 10);
    assert.equal(history[0]!.sha, sha);
    assert.match(history[0]!.message, /Fleetcast-Model: x/);
    assert.equal(history[0]!.author.name, HUMAN.name);
    assert.ok(history[0]!.date !== '');
    assert.equal(history.length, 2);
    assert.deepEqual(await forge.fileHistory('no-such-branch', 'fleet/manifest.json', 10), []);
    assert.deepEqual(github.violations, []);
  });
});
