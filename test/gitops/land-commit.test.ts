import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ForgeError } from '../../src/forge/errors.js';
import { GitHubForge } from '../../src/forge/github-forge.js';
import { GitWorkspace } from '../../src/forge/git-workspace.js';
import { LocalForge, LOCAL_BOT } from '../../src/forge/local-forge.js';
import type { Forge } from '../../src/forge/types.js';
import { landCommit } from '../../src/gitops/land-commit.js';
import { FakeGitHub } from '../helpers/fake-github.js';
import { createGitFixture, git, HUMAN, type GitFixture } from '../helpers/git-fixture.js';

const POINTER = 'models-registry/current.json';
const MODEL = 'models-registry/models/m1/model.onnx';
/** Bytes that are not UTF-8: a text round trip would mangle them. */
const ONNX = Buffer.from([0x08, 0x07, 0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x0a]);

/** A clone with one local (unsigned, unpushed) deploy-like commit: a binary model and the pointer. */
async function localDeployCommit(fixture: GitFixture, model = 'm1'): Promise<GitWorkspace> {
  const dir = await fixture.clone();
  await mkdir(join(dir, 'models-registry', 'models', model), { recursive: true });
  await writeFile(join(dir, 'models-registry', 'models', model, 'model.onnx'), ONNX);
  await writeFile(join(dir, POINTER), `{"model_id":"${model}"}\n`);
  const ws = await GitWorkspace.create(dir);
  await ws.commit(['models-registry'], `deploy: ${model}\n\nFleetcast-Model: ${model}`, HUMAN);
  return ws;
}

/** ONNX with two of its non-UTF-8 bytes swapped: as text (U+FFFD each) the two read the same. */
const ONNX_SWAPPED = Buffer.from([0x08, 0x07, 0xfe, 0xff, 0x00, 0x80, 0xc3, 0x28, 0x0a]);

/**
 * The branch changed a binary file the local commit changes too, in bytes that text cannot tell
 * apart: still a conflict (files are compared by blob id).
 */
async function assertBinaryConflict(fixture: GitFixture, forge: Forge): Promise<void> {
  const path = 'models-registry/models/shared/model.onnx';
  await fixture.commitAs(HUMAN, 'main', { [path]: ONNX }, 'a model');
  const dir = await fixture.clone();
  await mkdir(join(dir, 'models-registry', 'models', 'shared'), { recursive: true });
  await writeFile(join(dir, path), Buffer.from('retrained'));
  const ws = await GitWorkspace.create(dir);
  await ws.commit([path], 'retrain into the same directory', HUMAN);
  const theirs = await fixture.commitAs(HUMAN, 'main', { [path]: ONNX_SWAPPED }, 'someone else');
  assert.equal(
    await fixture.store.readFile(`${theirs}~1`, path),
    await fixture.store.readFile(theirs, path),
    'the same text',
  );
  const error = await landCommit(forge, ws, 'main').catch((e: unknown) => e);
  assert.ok(error instanceof ForgeError, String(error));
  assert.equal(error.status, 409);
  assert.match(error.message, /model\.onnx changed .*not overwriting it/);
  assert.equal(await fixture.store.branchSha('main'), theirs);
}

async function blobBytes(fixture: GitFixture, ref: string, path: string): Promise<Buffer> {
  const dir = await fixture.clone();
  await git(dir, 'checkout', '-q', ref);
  const { readFile } = await import('node:fs/promises');
  return readFile(join(dir, path));
}

describe('landCommit through GitHub (the fake, checked against @octokit/openapi)', () => {
  let fixture: GitFixture;
  let github: FakeGitHub;
  let forge: Forge;
  before(async () => {
    fixture = await createGitFixture({ [POINTER]: '{}\n', 'README.md': 'fleet\n' });
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

  test('main moves by a fast-forward to a commit GitHub signed, with the bytes intact', async () => {
    const before = (await fixture.store.branchSha('main'))!;
    const ws = await localDeployCommit(fixture);
    const local = await ws.head();
    const landed = await landCommit(forge, ws, 'main');
    assert.notEqual(landed, local, 'the API made its own commit');
    assert.equal(await fixture.store.branchSha('main'), landed);
    const commit = await fixture.store.readCommit(landed);
    assert.deepEqual(commit.parents, [before], 'a fast-forward of the head it found');
    assert.match(commit.message, /^deploy: m1\n\nFleetcast-Model: m1$/);
    assert.ok(github.signed.has(landed), 'no custom author or committer: GitHub signs it');
    assert.deepEqual(await blobBytes(fixture, landed, MODEL), ONNX);
    assert.equal(await ws.head(), landed, 'the workspace follows the branch');
    const refUpdates = github.requests.filter((r) => r.operationId === 'git/update-ref');
    assert.ok(refUpdates.length > 0);
    assert.deepEqual(github.violations, []);
  });

  test('a push meanwhile to other files: re-read the head, replay, still a fast-forward', async () => {
    const ws = await localDeployCommit(fixture, 'm2');
    let theirs = '';
    github.beforeRefUpdate = async () => {
      theirs = await fixture.commitAs(HUMAN, 'main', { 'README.md': 'fleet, edited\n' }, 'docs');
    };
    const landed = await landCommit(forge, ws, 'main');
    const commit = await fixture.store.readCommit(landed);
    assert.deepEqual(commit.parents, [theirs], 'replayed on the commit pushed meanwhile');
    assert.equal(await fixture.store.readFile('main', 'README.md'), 'fleet, edited\n');
    assert.equal(await fixture.store.readFile('main', POINTER), '{"model_id":"m2"}\n');
    assert.ok(
      github.requests.some((r) => r.operationId === 'git/update-ref' && r.status === 422),
      'GitHub refused the non-fast-forward once',
    );
    assert.deepEqual(github.violations, []);
  });

  test('a push meanwhile to the same file is a conflict: nothing overwritten', async () => {
    const ws = await localDeployCommit(fixture, 'm3');
    const rollback = await fixture.commitAs(HUMAN, 'main', { [POINTER]: '{"model_id":"m1"}\n' }, 'rollback');
    const error = await landCommit(forge, ws, 'main').catch((e: unknown) => e);
    assert.ok(error instanceof ForgeError);
    assert.equal(error.status, 409);
    assert.match(error.message, /models-registry\/current\.json changed .*not overwriting it/);
    assert.equal(await fixture.store.branchSha('main'), rollback);
  });

  test('a binary file changed meanwhile is a conflict even where its text reads the same', () =>
    assertBinaryConflict(fixture, forge));

  test('a branch that keeps moving fails loudly after a bounded number of tries', async () => {
    const ws = await localDeployCommit(fixture, 'm4');
    let pushes = 0;
    const race = async (): Promise<void> => {
      pushes++;
      await fixture.commitAs(HUMAN, 'main', { [`notes/${pushes}.txt`]: 'x\n' }, `note ${pushes}`);
      github.beforeRefUpdate = race;
    };
    github.beforeRefUpdate = race;
    const before = (await fixture.store.branchSha('main'))!;
    const error = await landCommit(forge, ws, 'main', { attempts: 3 }).catch((e: unknown) => e);
    github.beforeRefUpdate = undefined;
    assert.ok(error instanceof ForgeError);
    assert.match(error.message, /main moved during each of 3 attempts/);
    assert.equal(pushes, 3);
    const log = await fixture.store.commitsBetween(before, 'main');
    assert.ok(
      log.every((c) => c.message.startsWith('note ')),
      'only the racing pushes landed',
    );
  });
});

describe('landCommit through the local forge (same interface, git plumbing on the bare remote)', () => {
  let fixture: GitFixture;
  let forge: LocalForge;
  before(async () => {
    fixture = await createGitFixture({ [POINTER]: '{}\n', 'README.md': 'fleet\n' });
    forge = await LocalForge.create({ repository: fixture.remote, pullsDir: join(fixture.root, 'forge') });
  });
  after(() => fixture.cleanup());

  test("lands as the forge's bot, a fast-forward, bytes intact; a conflicting push is refused", async () => {
    const before = (await fixture.store.branchSha('main'))!;
    const ws = await localDeployCommit(fixture);
    const landed = await landCommit(forge, ws, 'main');
    const commit = await fixture.store.readCommit(landed);
    assert.deepEqual(commit.parents, [before]);
    assert.deepEqual(commit.author, LOCAL_BOT);
    assert.deepEqual(await blobBytes(fixture, landed, MODEL), ONNX);

    const next = await localDeployCommit(fixture, 'm2');
    await fixture.commitAs(HUMAN, 'main', { [POINTER]: '{"model_id":"m0"}\n' }, 'rollback');
    const error = await landCommit(forge, next, 'main').catch((e: unknown) => e);
    assert.ok(error instanceof ForgeError);
    assert.match(error.message, /current\.json changed/);
  });

  test('a binary file changed meanwhile is a conflict even where its text reads the same', () =>
    assertBinaryConflict(fixture, forge));
});
