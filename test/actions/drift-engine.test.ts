import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../../src/actions/drift.js';
import { renderManifest } from '../../src/fleet/manifest.js';
import { generateFleet } from '../../src/synthetic/generator.js';
import { deploy } from '../../src/registry/pointer.js';
import { runAction } from '../helpers/action-runner.js';
import { createGitFixture, git, type GitFixture } from '../helpers/git-fixture.js';
import { writeModelFixture } from '../helpers/model-fixture.js';

/**
 * The drift action running the real drift engine (src/drift) on generated metrics, with the
 * deployed model's vocabulary from the registry, against the local forge.
 */
let fixture: GitFixture;
let dir: string;
before(async () => {
  fixture = await createGitFixture({ 'README.md': '# fleet\n' });
  dir = await mkdtemp(join(tmpdir(), 'fleetcast-drift-engine-'));
});
after(async () => {
  await fixture.cleanup();
  await rm(dir, { recursive: true, force: true });
});

test('metrics + registry → drift engine → one pull request with the proposed manifest', async () => {
  const workspace = await fixture.clone();
  const generated = await generateFleet({
    servers: 20,
    days: 10,
    out: join(workspace, 'data', 'metrics.parquet'),
    seed: 7,
    add: 6,
    sunset: 0,
    threads: 1,
  });
  const base = generated.plan.servers.filter((s) => s.kind === 'base').map((s) => s.name);
  const registry = join(workspace, 'models-registry');
  const modelId = 'tft-20261101T000000Z-abc123';
  await writeModelFixture(join(registry, 'models', modelId), modelId, base);
  await deploy(registry, modelId, 'fixture');
  await git(workspace, 'add', 'models-registry');
  await git(workspace, 'commit', '-q', '-m', 'deployed model');
  await git(workspace, 'push', '-q', 'origin', 'HEAD:main');

  const pulls = join(dir, 'pulls');
  const result = await runAction(run, {
    action: 'drift',
    workspace,
    inputs: {
      metrics: 'data/metrics.parquet',
      forge: 'local',
      local_repository: fixture.remote,
      local_pulls_dir: pulls,
    },
    // a scheduled run: the event carries no repository, GitHub runs it on the default branch
    eventName: 'schedule',
    event: { schedule: '17 * * * *' },
    env: { GITHUB_REF: 'refs/heads/main' },
  });
  assert.equal(result.exitCode, 0, result.stdout);
  assert.equal(result.outputs.retrain, 'true', result.summary);
  assert.equal(result.outputs.operation, 'created');
  const records = await readdir(pulls);
  assert.deepEqual(records, ['1.json']);
  const pr = JSON.parse(await readFile(join(pulls, '1.json'), 'utf8')) as {
    title: string;
    body: string;
    labels: string[];
  };
  assert.match(pr.title, /^fleetcast: retrain for fleet drift/);
  const manifest = (await fixture.store.readFile('fleetcast/drift/main', 'fleet/manifest.json'))!;
  const names = (JSON.parse(manifest) as { servers: Array<{ name: string }> }).servers.map((s) => s.name);
  for (const name of base) assert.ok(names.includes(name), `${name} stays in the manifest`);
  assert.ok(names.length > base.length, 'new eligible servers join the manifest');
  assert.equal(manifest, renderManifest({ format_version: 1, servers: JSON.parse(manifest).servers }));
});

test('the drift PR targets the default branch from the event, never a guessed main', async () => {
  const { baseBranchOf } = await import('../../src/actions/drift.js');
  const context = (eventName: string, ref: string, payload: unknown) =>
    ({ github: { eventName, ref, payload } }) as unknown as Parameters<typeof baseBranchOf>[1];
  assert.equal(baseBranchOf('release', context('push', 'refs/heads/main', {})), 'release');
  assert.equal(
    baseBranchOf(
      '',
      context('workflow_dispatch', 'refs/heads/x', { repository: { default_branch: 'trunk' } }),
    ),
    'trunk',
  );
  assert.equal(baseBranchOf('', context('schedule', 'refs/heads/trunk', { schedule: '0 * * * *' })), 'trunk');
  assert.throws(() => baseBranchOf('', context('push', 'refs/tags/v1', {})), /input base_branch: empty/);
});
