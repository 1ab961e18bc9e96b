import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run as deploy } from '../../src/actions/deploy.js';
import { run as rollback } from '../../src/actions/rollback.js';
import { run as verify } from '../../src/actions/verify.js';
import { renderManifest } from '../../src/fleet/manifest.js';
import { LocalForge, LOCAL_BOT } from '../../src/forge/local-forge.js';
import { runAction } from '../helpers/action-runner.js';
import { FakeGitHub } from '../helpers/fake-github.js';
import { manifestOf } from '../helpers/drift-report-fixture.js';
import { createGitFixture, git, type GitFixture } from '../helpers/git-fixture.js';
import { makeTinyModels } from '../helpers/tiny-model.js';

const SERVERS = ['web-01', 'web-02', 'web-03'];
const P = 'tft-20261001T000000Z-aaaaaa';
const M = 'tft-20261101T000000Z-bbbbbb';
const N = 'tft-20261120T000000Z-cccccc';
const OLDER = 'tft-20261015T000000Z-dddddd';
const FAILED = 'tft-20261125T000000Z-eeeeee';
const NAN = 'tft-20261126T000000Z-ffffff';

/** Real (tiny) ONNX models with their validation.json, made once and copied into each workspace. */
let models: string;
before(async () => {
  models = await mkdtemp(join(tmpdir(), 'fleetcast-deploy-models-'));
  const servers = SERVERS.map((name) => ({ name, profile: 'web' }));
  await makeTinyModels(models, [
    ...[P, M, N, OLDER].map((modelId) => ({ modelId, servers, validation: { passed: true } })),
    { modelId: FAILED, servers, validation: { passed: false } },
    { modelId: NAN, servers, nan: true, validation: { passed: true } },
  ]);
});
after(() => rm(models, { recursive: true, force: true }));

async function remotePointer(
  fixture: GitFixture,
): Promise<{ model_id: string; previous_model_id: string | null }> {
  return JSON.parse((await fixture.store.readFile('main', 'models-registry/current.json'))!);
}

/** The action lands its commits through the local forge over the fixture's bare remote. */
function forgeInputs(fixture: GitFixture): Record<string, string> {
  return { forge: 'local', local_repository: fixture.remote, local_pulls_dir: join(fixture.root, 'forge') };
}

/** The run link the action runner's environment makes (GITHUB_SERVER_URL, no repository: none). */
const RUN_URL = undefined;

/** What verify reported through the local forge (its reports.json). */
async function reportsOf(fixture: GitFixture) {
  const forge = await LocalForge.create({
    repository: fixture.remote,
    pullsDir: join(fixture.root, 'forge'),
  });
  return forge.reports.read();
}

async function deployModel(fixture: GitFixture, id: string) {
  const workspace = await fixture.clone();
  await cp(join(models, id), join(workspace, '.fleetcast', 'candidate', id), { recursive: true });
  return runAction(deploy, {
    action: 'deploy',
    workspace,
    inputs: {
      model_dir: `.fleetcast/candidate/${id}`,
      reason: `test deploy of ${id}`,
      ...forgeInputs(fixture),
    },
  });
}

describe('deploy, rollback by revert, and the rollback-respect rule', () => {
  let fixture: GitFixture;
  before(async () => {
    fixture = await createGitFixture({ 'fleet/manifest.json': renderManifest(manifestOf(SERVERS)) });
  });
  after(() => fixture.cleanup());

  test('first deploy, then one commit with the model dir and the bumped pointer', async () => {
    const first = await deployModel(fixture, P);
    assert.equal(first.exitCode, 0, first.stdout);
    assert.equal(first.outputs.deployed, 'true');
    const result = await deployModel(fixture, M);
    assert.equal(result.exitCode, 0, result.stdout);
    assert.equal(result.outputs.previous_model_id, P);
    const head = (await fixture.store.branchSha('main'))!;
    assert.equal(result.outputs.commit_sha, head);
    const commit = await fixture.store.readCommit(head);
    assert.match(
      commit.message.split('\n')[0]!,
      new RegExp(`^deploy: ${M} \\(3 servers, coverage 100\\.0%, q-risk 0\\.1500\\)$`),
    );
    assert.match(
      commit.message,
      new RegExp(
        `\\nFleetcast-Model: ${M}\\nFleetcast-Previous-Model: ${P}\\nFleetcast-Live-Record: ${P} none \\(no service URL given\\)$`,
      ),
    );
    const work = await fixture.clone();
    const files = (await git(work, 'show', '--name-only', '--format=', head)).trim().split('\n').sort();
    assert.deepEqual(files, [
      `models-registry/current.json`,
      ...[
        'SHA256SUMS',
        'encoders.json',
        'model.onnx',
        'normalization.json',
        'server_mapping.json',
        'training_info.json',
        'validation.json',
      ].map((f) => `models-registry/models/${M}/${f}`),
    ]);
    assert.deepEqual(await remotePointer(fixture).then((p) => [p.model_id, p.previous_model_id]), [M, P]);
    assert.match(result.summary, /Deployed/);
  });

  test("a person's git revert of the deploy commit restores the previous pointer", async () => {
    const before = (await fixture.store.readFile(`main~1`, 'models-registry/current.json'))!;
    const work = await fixture.clone();
    await git(work, 'revert', '--no-edit', 'HEAD');
    await git(work, 'push', 'origin', 'HEAD:main');
    assert.equal(await fixture.store.readFile('main', 'models-registry/current.json'), before);
    assert.equal((await remotePointer(fixture)).model_id, P);
  });

  test('automation does not redeploy the reverted model, or an older one; a newer one deploys', async () => {
    const again = await deployModel(fixture, M);
    assert.equal(again.exitCode, 0);
    assert.equal(again.outputs.deployed, 'false');
    assert.match(again.outputs.skipped_reason!, new RegExp(`${M} was rolled back .* by Dana Operator`));
    assert.ok(again.warnings.some((w) => w.includes('rolled back')));
    const older = await deployModel(fixture, OLDER);
    assert.equal(older.outputs.deployed, 'false');
    assert.match(older.outputs.skipped_reason!, /is not newer than/);
    assert.equal((await remotePointer(fixture)).model_id, P);
    const newer = await deployModel(fixture, N);
    assert.equal(newer.outputs.deployed, 'true', newer.stdout);
    assert.equal((await remotePointer(fixture)).model_id, N);
  });

  test('a model that failed validation is never deployed', async () => {
    const failed = await deployModel(fixture, FAILED);
    assert.equal(failed.exitCode, 1);
    assert.match(failed.errors.join('\n'), /did not pass validation/);
  });

  test('a model that misses a server of the current manifest is never deployed', async () => {
    // the manifest on main gained web-04 after the model was trained
    const work = await fixture.clone();
    await writeFile(join(work, 'fleet', 'manifest.json'), renderManifest(manifestOf([...SERVERS, 'web-04'])));
    await git(work, 'commit', '-qam', 'fleet: add web-04');
    await git(work, 'push', '-q', 'origin', 'HEAD:main');
    const before = await fixture.store.branchSha('main');
    const stale = await deployModel(fixture, N);
    assert.equal(stale.exitCode, 1, stale.stdout);
    assert.match(
      stale.errors.join('\n'),
      new RegExp(`${N} does not cover the fleet manifest .*1 of 4 servers missing \\(web-04\\)`),
    );
    assert.equal(await fixture.store.branchSha('main'), before, 'nothing pushed');
    await writeFile(join(work, 'fleet', 'manifest.json'), renderManifest(manifestOf(SERVERS)));
    await git(work, 'commit', '-qam', 'fleet: web-04 is gone again');
    await git(work, 'push', '-q', 'origin', 'HEAD:main');
  });

  test('a model the service could not serve (NaN forecasts) is never deployed', async () => {
    const before = await fixture.store.branchSha('main');
    const nan = await deployModel(fixture, NAN);
    assert.equal(nan.exitCode, 1, nan.stdout);
    assert.match(nan.errors.join('\n'), new RegExp(`${NAN}.*non-finite`));
    assert.equal(await fixture.store.branchSha('main'), before, 'nothing pushed');
  });

  test('the rollback workflow reverts the latest deploy commit and records who and why', async () => {
    const workspace = await fixture.clone();
    const result = await runAction(rollback, {
      action: 'rollback',
      workspace,
      inputs: { reason: 'latency regression', ...forgeInputs(fixture) },
    });
    assert.equal(result.exitCode, 0, result.stdout);
    assert.equal(result.outputs.method, 'revert');
    assert.equal(result.outputs.rolled_back, N);
    assert.equal((await remotePointer(fixture)).model_id, P);
    const commit = await fixture.store.readCommit('main');
    assert.match(commit.message, /^Revert "deploy: tft-20261120T000000Z-cccccc/);
    assert.match(commit.message, /Reason: latency regression\nRequested-by: dana/);
    assert.match(
      commit.message,
      new RegExp(`Fleetcast-Rolled-Back: ${N}\nFleetcast-Live-Record: ${N} none \\(no service URL given\\)$`),
    );
    // Landed by the forge's bot (GitHub signs only commits without a custom author); the person is named.
    assert.equal(commit.author.name, LOCAL_BOT.name);
    assert.equal(result.outputs.commit_sha, commit.sha);
    const redeploy = await deployModel(fixture, N);
    assert.equal(redeploy.outputs.deployed, 'false');
  });

  test('rollback to a named model is a pointer commit; a bad model id is refused', async () => {
    const workspace = await fixture.clone();
    const result = await runAction(rollback, {
      action: 'rollback',
      workspace,
      inputs: { model_id: M, reason: 'M was fine after all', ...forgeInputs(fixture) },
    });
    assert.equal(result.exitCode, 1, 'M was reverted, so its directory is gone');
    assert.match(result.errors.join('\n'), /tft-20261101T000000Z-bbbbbb/);
    const bad = await runAction(rollback, {
      action: 'rollback',
      workspace: await fixture.clone(),
      inputs: { model_id: '../etc', reason: 'x', ...forgeInputs(fixture) },
    });
    assert.equal(bad.exitCode, 1);
    assert.match(bad.errors.join('\n'), /input model_id/);
  });
});

describe('verify', () => {
  let fixture: GitFixture;
  let server: Server;
  let url: string;
  const service = { modelId: P, known: new Set(SERVERS) };
  before(async () => {
    fixture = await createGitFixture({ 'fleet/manifest.json': renderManifest(manifestOf(SERVERS)) });
    server = createServer((req, res) => {
      const known = SERVERS.filter((s) => service.known.has(s));
      const body =
        req.url === '/health'
          ? { status: 'ok', model_id: service.modelId }
          : req.url === '/status'
            ? {
                coverage: {
                  coverage_pct: (known.length / SERVERS.length) * 100,
                  unknown: SERVERS.filter((s) => !service.known.has(s)),
                  without_data: [],
                },
              }
            : {
                model_id: service.modelId,
                servers: SERVERS.map((s) => ({ server: s, known: service.known.has(s), in_manifest: true })),
              };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    assert.equal((await deployModel(fixture, P)).outputs.deployed, 'true');
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await fixture.cleanup();
  });

  test('passes once the service serves the new model for every manifest server', async () => {
    const deployed = await deployModel(fixture, M);
    service.modelId = M;
    const result = await runAction(verify, {
      action: 'verify',
      workspace: await fixture.clone(),
      inputs: {
        service_url: url,
        model_id: M,
        deploy_commit: deployed.outputs.commit_sha,
        timeout_seconds: '5',
        interval_seconds: '0.05',
        ...forgeInputs(fixture),
      },
    });
    assert.equal(result.exitCode, 0, result.stdout);
    assert.equal(result.outputs.verified, 'true');
    assert.equal((await remotePointer(fixture)).model_id, M);
    // where people look: the deploy commit's status and the deployment, linked to the run
    const reports = await reportsOf(fixture);
    const sha = deployed.outputs.commit_sha!;
    assert.deepEqual(
      reports.statuses.filter((s) => s.sha === sha).map((s) => [s.context, s.state, s.target_url]),
      [
        ['fleetcast/verify', 'pending', RUN_URL],
        ['fleetcast/verify', 'success', RUN_URL],
      ],
    );
    const deployment = reports.deployments.find((d) => d.sha === sha)!;
    assert.equal(deployment.environment, 'fleet-forecast');
    assert.deepEqual(
      deployment.statuses.map((s) => [s.state, s.environment_url]),
      [
        ['in_progress', url],
        ['success', url],
      ],
    );
  });

  test('checks every replica: one still on the previous model fails the verify, named in the summary', async () => {
    const stale = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.url === '/health' ? { status: 'ok', model_id: P } : {}));
    });
    await new Promise<void>((resolve) => stale.listen(0, '127.0.0.1', resolve));
    const staleUrl = `http://127.0.0.1:${(stale.address() as AddressInfo).port}`;
    try {
      const result = await runAction(verify, {
        action: 'verify',
        workspace: await fixture.clone(),
        inputs: {
          service_url: `${url}, ${staleUrl}`,
          model_id: M,
          revert_on_failure: 'false',
          timeout_seconds: '0.3',
          interval_seconds: '0.05',
          ...forgeInputs(fixture),
        },
      });
      assert.equal(result.exitCode, 1);
      assert.equal(result.outputs.replicas, '2');
      assert.equal(result.outputs.replicas_verified, '1');
      assert.match(result.errors.join('\n'), new RegExp(`${staleUrl}: /health reports model "${P}"`));
      assert.match(result.summary, new RegExp(`<td>${url}</td><td>verified</td>`));
      assert.equal((await remotePointer(fixture)).model_id, M, 'revert_on_failure off: nothing reverted');
    } finally {
      await new Promise<void>((resolve) => stale.close(() => resolve()));
    }
  });

  test('fails, reverts the deploy commit and says why when a manifest server stays unknown', async () => {
    const deployed = await deployModel(fixture, N);
    service.modelId = N;
    service.known.delete('web-03');
    const result = await runAction(verify, {
      action: 'verify',
      workspace: await fixture.clone(),
      inputs: {
        service_url: url,
        model_id: N,
        deploy_commit: deployed.outputs.commit_sha,
        timeout_seconds: '0.3',
        interval_seconds: '0.05',
        ...forgeInputs(fixture),
      },
    });
    assert.equal(result.exitCode, 1);
    assert.equal(result.outputs.reverted, 'true');
    assert.match(result.errors.join('\n'), /web-03/);
    const reports = await reportsOf(fixture);
    const failed = reports.statuses.filter((s) => s.sha === deployed.outputs.commit_sha).at(-1)!;
    assert.equal(failed.state, 'failure');
    assert.match(failed.description, /coverage is .* not 100 %; reverted the deploy commit/);
    assert.deepEqual(
      reports.deployments.find((d) => d.sha === deployed.outputs.commit_sha)!.statuses.map((s) => s.state),
      ['in_progress', 'failure'],
    );
    assert.equal((await remotePointer(fixture)).model_id, M, 'pointer back on the previous model');
    const commit = await fixture.store.readCommit('main');
    assert.match(
      commit.message,
      new RegExp(
        `Fleetcast-Rolled-Back: ${N}\nFleetcast-Live-Record: ${N} none \\(/status has no live_accuracy section`,
      ),
    );
    assert.match(result.summary, /Verification of .* failed/);
    const manifest = await readFile(join(await fixture.clone(), 'fleet', 'manifest.json'), 'utf8');
    assert.match(manifest, /web-03/);
  });
});

describe('deploy through the GitHub API (the fake, checked against @octokit/openapi)', () => {
  let fixture: GitFixture;
  let github: FakeGitHub;
  before(async () => {
    fixture = await createGitFixture({ 'fleet/manifest.json': renderManifest(manifestOf(SERVERS)) });
    github = await FakeGitHub.start(fixture.remote);
  });
  after(async () => {
    await github.stop();
    await fixture.cleanup();
  });

  test('the deploy commit is a signed fast-forward of main, made by the API, model bytes intact', async () => {
    const before = (await fixture.store.branchSha('main'))!;
    const workspace = await fixture.clone();
    await cp(join(models, P), join(workspace, '.fleetcast', 'candidate', P), { recursive: true });
    const result = await runAction(deploy, {
      action: 'deploy',
      workspace,
      inputs: {
        model_dir: `.fleetcast/candidate/${P}`,
        token: github.token,
        repository: github.repository,
        api_url: github.url,
      },
      env: { FLEETCAST_GITHUB_RETRY_BASE_MS: '5' },
    });
    assert.equal(result.exitCode, 0, result.stdout);
    const head = (await fixture.store.branchSha('main'))!;
    assert.equal(result.outputs.commit_sha, head);
    assert.deepEqual((await fixture.store.readCommit(head)).parents, [before]);
    assert.ok(github.signed.has(head), 'made without a custom author: GitHub signs it');
    assert.ok(github.requests.some((r) => r.operationId === 'git/create-blob'));
    const check = await fixture.clone();
    const landed = await readFile(join(check, 'models-registry', 'models', P, 'model.onnx'));
    assert.deepEqual(landed, await readFile(join(models, P, 'model.onnx')));
    assert.deepEqual(github.violations, []);
  });
});
