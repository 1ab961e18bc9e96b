import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ForgeError } from '../../src/forge/errors.js';
import { GitHubForge } from '../../src/forge/github-forge.js';
import { FakeGitHub } from '../helpers/fake-github.js';
import { createGitFixture, type GitFixture } from '../helpers/git-fixture.js';
import { checkRequest, findOperation } from '../helpers/openapi-check.js';

describe('GitHubForge against the fake GitHub', () => {
  let fixture: GitFixture;
  let github: FakeGitHub;
  let forge: GitHubForge;
  before(async () => {
    fixture = await createGitFixture({ 'fleet/manifest.json': '{}\n', 'big.txt': 'x'.repeat(10) });
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

  test('reads refs and files; absent ones are undefined, not errors', async () => {
    assert.equal(await forge.getBranchSha('main'), await fixture.store.branchSha('main'));
    assert.equal(await forge.getBranchSha('no/such/branch'), undefined);
    assert.equal(await forge.readFile('main', 'fleet/manifest.json'), '{}\n');
    assert.equal(await forge.readFile('main', 'missing.json'), undefined);
    assert.deepEqual(github.violations, []);
  });

  test('errors become ForgeError with the HTTP status and the cause', async () => {
    github.failNext('GET', /\/pulls$/, { status: 422, body: { message: 'Validation Failed' } });
    const error = await forge.findOpenPullRequest('x', 'main').catch((e: unknown) => e);
    assert.ok(error instanceof ForgeError);
    assert.equal(error.status, 422);
    assert.match(error.message, /find pull request x -> main: GitHub answered 422/);
    assert.ok(error.cause instanceof Error);
  });

  test('retries exhaust into a ForgeError carrying the last status', async () => {
    github.failNext(
      'GET',
      /\/git\/ref\//,
      { status: 500 },
      { status: 500 },
      { status: 500 },
      { status: 500 },
    );
    const error = await forge.getBranchSha('main').catch((e: unknown) => e);
    assert.ok(error instanceof ForgeError);
    assert.equal(error.status, 500);
    assert.equal(github.requests.filter((r) => r.status === 500).length, 4, 'first try + 3 retries');
  });

  test('constructor validates its settings', () => {
    assert.throws(() => GitHubForge.create({ token: 't', repository: 'not a repo' }), /owner\/name/);
    assert.throws(() => GitHubForge.create({ token: '', repository: 'a/b' }), /token is required/);
  });
});

describe('the OpenAPI check itself', () => {
  test('rejects undocumented operations, missing required fields and unknown fields', () => {
    assert.equal(findOperation('POST', '/repos/a/b/pullz'), undefined);
    const create = findOperation('POST', '/repos/a/b/pulls')!;
    assert.equal(create.operation.operationId, 'pulls/create');
    assert.deepEqual(
      checkRequest(create, new URLSearchParams(), { head: 'x', base: 'main', title: 't' }),
      [],
    );
    assert.match(
      checkRequest(create, new URLSearchParams(), { head: 'x', title: 't' }).join(),
      /base: required/,
    );
    assert.match(
      checkRequest(create, new URLSearchParams(), { head: 'x', base: 'm', titel: 't' }).join(),
      /titel: not a documented field/,
    );
    const list = findOperation('GET', '/repos/a/b/pulls')!;
    assert.match(
      checkRequest(list, new URLSearchParams('state=merged'), undefined).join(),
      /state=merged not in/,
    );
    assert.match(
      checkRequest(list, new URLSearchParams('q=x'), undefined).join(),
      /undocumented query parameter q/,
    );
  });
});
