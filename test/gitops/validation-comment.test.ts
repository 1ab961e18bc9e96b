import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GitHubForge } from '../../src/forge/github-forge.js';
import { LocalForge } from '../../src/forge/local-forge.js';
import type { Forge } from '../../src/forge/types.js';
import {
  postValidationComment,
  renderValidationComment,
  VALIDATION_COMMENT_MARKER,
} from '../../src/gitops/validation-comment.js';
import type { ValidationFigures } from '../../src/gitops/validation-summary.js';
import { FakeGitHub } from '../helpers/fake-github.js';
import { createGitFixture, HUMAN, type GitFixture } from '../helpers/git-fixture.js';

const figures = (modelId: string, passed: boolean): ValidationFigures => ({
  model_id: modelId,
  passed,
  manifest_servers: 3,
  coverage: { percent: 100 },
  accuracy: {
    scores: [
      { model: 'model', group: 'all', target: 'cpu', quantile: 0.5, q_risk: 0.08 },
      { model: 'model', group: 'all', target: 'cpu', quantile: 0.9, q_risk: 0.04 },
    ],
  },
  gates: [
    { name: 'coverage', passed: true },
    { name: 'q_risk', passed },
  ],
});

test('the comment: marker, verdict, coverage, q-risk, gates, run link', () => {
  const text = renderValidationComment(
    figures('tft-1', false),
    'https://github.test/acme/fleet/actions/runs/5',
  );
  assert.ok(text.startsWith(`${VALIDATION_COMMENT_MARKER}\n### Retrain validation: ❌ failed`));
  assert.match(text, /\| coverage of the manifest \| 100\.0 % of 3 servers \|/);
  assert.match(text, /\| q-risk \(mean, all targets and quantiles\) \| 0\.0600 \|/);
  assert.match(text, /\| P50 q-risk `cpu` \| 0\.0800 \|/);
  assert.match(text, /\| gate `q_risk` \| failed \|/);
  assert.match(text, /not deployed/);
  assert.match(text, /\[Workflow run\]\(https:\/\/github\.test\/acme\/fleet\/actions\/runs\/5\)/);
});

/** A merged drift PR, then the comment posted, left alone, and edited in place: one comment. */
async function onePostedComment(forge: Forge, fixture: GitFixture, comments: () => Promise<string[]>) {
  assert.equal(await postValidationComment(forge, 'main', figures('tft-1', true), undefined), undefined);
  const main = (await fixture.store.branchSha('main'))!;
  await forge.commitFiles({
    branch: 'fleetcast/drift/main',
    parentSha: main,
    files: { 'fleet/manifest.json': '{"servers":[]}\n' },
    message: 'fleet: manifest',
    author: HUMAN,
    expectedHeadSha: null,
  });
  const pr = await forge.createPullRequest({
    head: 'fleetcast/drift/main',
    base: 'main',
    title: 'drift',
    body: 'b',
    labels: [],
  });
  await forge.comment(pr.number, 'a person says hi');
  await forge.mergePullRequest(pr.number, 'Merge drift');
  assert.deepEqual(await postValidationComment(forge, 'main', figures('tft-1', false), 'u'), {
    pr: pr.number,
    operation: 'created',
  });
  assert.equal(
    (await postValidationComment(forge, 'main', figures('tft-1', false), 'u'))?.operation,
    'unchanged',
  );
  assert.equal(
    (await postValidationComment(forge, 'main', figures('tft-2', true), 'u'))?.operation,
    'updated',
  );
  const all = await comments();
  assert.equal(all.length, 2, 'the person’s comment and one validation comment');
  assert.equal(all[0], 'a person says hi');
  assert.match(all[1]!, /✅ passed — `tft-2`/);
}

describe('the validation comment on the merged drift PR', () => {
  let fixture: GitFixture;
  before(async () => {
    fixture = await createGitFixture({ 'fleet/manifest.json': '{}\n' });
  });
  after(() => fixture.cleanup());

  test('GitHub (the fake, checked against @octokit/openapi)', async () => {
    const github = await FakeGitHub.start(fixture.remote);
    try {
      const forge = GitHubForge.create({
        token: github.token,
        repository: github.repository,
        baseUrl: github.url,
        retryBaseMs: 5,
      });
      await onePostedComment(forge, fixture, async () => github.pulls[0]!.comments.map((c) => c.body));
      assert.ok(github.requests.some((r) => r.operationId === 'issues/update-comment'));
      assert.deepEqual(github.violations, []);
    } finally {
      await github.stop();
    }
  });

  test('local forge', async () => {
    const local = await createGitFixture({ 'fleet/manifest.json': '{}\n' });
    try {
      const forge = await LocalForge.create({
        repository: local.remote,
        pullsDir: join(local.root, 'pulls'),
      });
      await onePostedComment(forge, local, async () => forge.listComments(1));
    } finally {
      await local.cleanup();
    }
  });
});
