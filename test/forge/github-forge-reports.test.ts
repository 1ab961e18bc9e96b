import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GitHubForge } from '../../src/forge/github-forge.js';
import { LocalForge } from '../../src/forge/local-forge.js';
import type { Forge } from '../../src/forge/types.js';
import { FakeGitHub } from '../helpers/fake-github.js';
import { createGitFixture, type GitFixture } from '../helpers/git-fixture.js';

/** Commit statuses and deployments behave the same on both forges. */
async function statusesAndDeployments(forge: Forge, sha: string): Promise<number> {
  assert.equal(await forge.commitStatus(sha, 'fleetcast/verify'), undefined);
  await forge.setCommitStatus(sha, {
    context: 'fleetcast/verify',
    state: 'pending',
    description: 'verifying',
  });
  await forge.setCommitStatus(sha, { context: 'other', state: 'failure', description: 'not ours' });
  await forge.setCommitStatus(sha, {
    context: 'fleetcast/verify',
    state: 'success',
    description: 'x'.repeat(300),
    targetUrl: 'https://github.test/acme/fleet/actions/runs/1',
  });
  const latest = await forge.commitStatus(sha, 'fleetcast/verify');
  assert.equal(latest?.state, 'success', 'the latest status of the context wins');
  assert.equal(latest?.targetUrl, 'https://github.test/acme/fleet/actions/runs/1');
  const id = await forge.createDeployment({ sha, environment: 'fleet-forecast', description: 'm1' });
  await forge.setDeploymentStatus(id, {
    state: 'in_progress',
    description: 'verifying m1',
    environmentUrl: 'http://svc.test:8080',
  });
  await forge.setDeploymentStatus(id, {
    state: 'failure',
    description: 'reverted',
    environmentUrl: 'http://svc.test:8080',
  });
  return id;
}

describe('commit statuses and deployments', () => {
  let fixture: GitFixture;
  let github: FakeGitHub;
  before(async () => {
    fixture = await createGitFixture({ 'README.md': 'x\n' });
    github = await FakeGitHub.start(fixture.remote);
  });
  after(async () => {
    await github.stop();
    await fixture.cleanup();
  });

  test('GitHub: statuses per context, a description cut to 140 characters, deployment statuses', async () => {
    const forge = GitHubForge.create({
      token: github.token,
      repository: github.repository,
      baseUrl: github.url,
      retryBaseMs: 5,
    });
    const sha = (await fixture.store.branchSha('main'))!;
    const id = await statusesAndDeployments(forge, sha);
    assert.equal(github.statuses.at(-1)!.description!.length, 140);
    const deployment = github.deployments.find((d) => d.id === id)!;
    assert.equal(deployment.environment, 'fleet-forecast');
    assert.deepEqual(
      deployment.statuses.map((s) => [s.state, s.environment_url]),
      [
        ['in_progress', 'http://svc.test:8080'],
        ['failure', 'http://svc.test:8080'],
      ],
    );
    assert.deepEqual(github.violations, []);
  });

  test('local forge: the same, recorded in reports.json', async () => {
    const forge = await LocalForge.create({
      repository: fixture.remote,
      pullsDir: join(fixture.root, 'local'),
    });
    const sha = (await fixture.store.branchSha('main'))!;
    const id = await statusesAndDeployments(forge, sha);
    const reports = await forge.reports.read();
    assert.deepEqual(
      reports.statuses.map((s) => [s.context, s.state]),
      [
        ['fleetcast/verify', 'pending'],
        ['other', 'failure'],
        ['fleetcast/verify', 'success'],
      ],
    );
    assert.deepEqual(
      reports.deployments.find((d) => d.id === id)!.statuses.map((s) => s.state),
      ['in_progress', 'failure'],
    );
    await assert.rejects(
      forge.setDeploymentStatus(999, { state: 'success', description: '' }),
      /no such deployment/,
    );
  });
});
