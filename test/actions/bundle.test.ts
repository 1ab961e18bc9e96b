import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { renderManifest } from '../../src/fleet/manifest.js';
import { parseOutputFile } from '../helpers/action-runner.js';
import { driftReport, manifestOf } from '../helpers/drift-report-fixture.js';
import { createGitFixture, type GitFixture } from '../helpers/git-fixture.js';
import { makeTinyModel } from '../helpers/tiny-model.js';

/**
 * The committed bundles, started as the runner starts them, where a workflow in another
 * repository has them (`uses: OWNER/fleetcast/actions/<name>@v1`: no `npm ci` of Fleetcast):
 *
 * - a node24 action's dist/index.js copied alone into an empty directory, no node_modules above it;
 * - a composite action's folder with only the packages its package-lock.json pins, linked from the
 *   repository's node_modules as an offline stand-in for `npm ci`, and run with
 *   --preserve-symlinks so that nothing resolves through the repository's node_modules.
 *
 * Each run uses a local forge or local git remote, so no network.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const SERVERS = ['web-01', 'web-02'];
const MODEL = 'tft-20261101T000000Z-abcdef';

interface Meta {
  runs: { using: string };
  inputs: Record<string, { default?: string }>;
}
const metaOf = async (name: string): Promise<Meta> =>
  parse(await readFile(join(root, 'actions', name, 'action.yml'), 'utf8')) as Meta;

let fixture: GitFixture;
let dir: string;
before(async () => {
  fixture = await createGitFixture({ 'fleet/manifest.json': renderManifest(manifestOf(SERVERS)) });
  dir = await mkdtemp(join(tmpdir(), 'fleetcast-bundle-'));
});
after(async () => {
  await fixture.cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** A node24 action: the bundle alone in an empty directory. */
async function standalone(name: string): Promise<string> {
  assert.equal((await metaOf(name)).runs.using, 'node24');
  const target = await mkdtemp(join(dir, `standalone-${name}-`));
  await copyFile(join(root, 'actions', name, 'dist', 'index.js'), join(target, 'index.js'));
  return join(target, 'index.js');
}

/** A composite action: its folder, install-native.mjs beside it, and the pinned packages linked in. */
async function composite(name: string): Promise<string> {
  assert.equal((await metaOf(name)).runs.using, 'composite');
  const target = join(await mkdtemp(join(dir, `composite-${name}-`)), 'actions');
  const action = join(target, name);
  await mkdir(join(action, 'dist'), { recursive: true });
  for (const file of ['dist/index.js', 'package.json', 'package-lock.json'])
    await copyFile(join(root, 'actions', name, file), join(action, file));
  await copyFile(join(root, 'actions', 'install-native.mjs'), join(target, 'install-native.mjs'));
  const lock = JSON.parse(await readFile(join(action, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, unknown>;
  };
  for (const path of Object.keys(lock.packages)) {
    // nested entries live inside their (linked) parent; other platforms' binaries are not installed
    if (path === '' || path.lastIndexOf('node_modules/') !== 0 || !existsSync(join(root, path))) continue;
    await mkdir(dirname(join(action, path)), { recursive: true });
    await symlink(join(root, path), join(action, path), 'dir');
  }
  return action;
}

interface Run {
  code: number | null;
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
}

/** Runs `node [flags] script` with the runner's environment and `inputs` (action.yml defaults first). */
async function runBundle(
  name: string,
  script: string,
  workspace: string,
  inputs: Record<string, string>,
  flags: string[] = [],
): Promise<Run> {
  const output = join(dir, `${name}-output`);
  const summary = join(dir, `${name}-summary`);
  await writeFile(output, '');
  await writeFile(summary, '');
  await writeFile(join(dir, 'event.json'), '{}');
  const defaults = Object.entries((await metaOf(name)).inputs)
    .filter(([, input]) => input.default !== undefined && !String(input.default).includes('${{'))
    .map(([key, input]): [string, string] => [key, String(input.default)]);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_OUTPUT: output,
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_EVENT_PATH: join(dir, 'event.json'),
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    GITHUB_ACTOR: 'dana',
    GITHUB_ACTOR_ID: '7',
  };
  for (const [key, value] of [...defaults, ...Object.entries(inputs)])
    env[`INPUT_${key.toUpperCase()}`] = value;
  const child = spawn(process.execPath, [...flags, script], { cwd: workspace, env });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    code,
    stdout,
    outputs: parseOutputFile(await readFile(output, 'utf8')),
    summary: await readFile(summary, 'utf8'),
  };
}

/** Deploy and rollback land their commits through a forge: here the local one over the fixture's remote. */
function localForge(): Record<string, string> {
  return { forge: 'local', local_repository: fixture.remote, local_pulls_dir: join(fixture.root, 'forge') };
}

describe('actions/deploy (composite), actions/rollback and actions/verify (node24) run where a workflow elsewhere runs them', () => {
  test('actions/deploy with its pinned onnxruntime-node, then actions/rollback copied alone into an empty directory', async () => {
    const workspace = await fixture.clone();
    await makeTinyModel(join(workspace, '.fleetcast', 'candidate'), {
      modelId: MODEL,
      servers: SERVERS.map((name) => ({ name, profile: 'web' })),
      validation: { passed: true },
    });
    const action = await composite('deploy');
    const deployed = await runBundle(
      'deploy',
      join(action, 'dist', 'index.js'),
      workspace,
      { model_dir: `.fleetcast/candidate/${MODEL}`, ...localForge() },
      ['--preserve-symlinks'],
    );
    assert.equal(deployed.code, 0, deployed.stdout);
    assert.equal(deployed.outputs.deployed, 'true');
    assert.equal(deployed.outputs.commit_sha, await fixture.store.branchSha('main'));

    const rolledBack = await runBundle('rollback', await standalone('rollback'), await fixture.clone(), {
      reason: 'bundle test',
      ...localForge(),
    });
    assert.equal(rolledBack.code, 0, rolledBack.stdout);
    assert.equal(rolledBack.outputs.method, 'revert');
    assert.equal(rolledBack.outputs.rolled_back, MODEL);
    assert.match(rolledBack.summary, /Rollback/);
  });

  test('actions/verify, copied alone, reads its inputs', async () => {
    const result = await runBundle('verify', await standalone('verify'), await fixture.clone(), {});
    assert.equal(result.code, 1, result.stdout);
    assert.doesNotMatch(result.stdout, /ERR_MODULE_NOT_FOUND|Cannot find/);
    assert.match(result.stdout, /::error::invalid action inputs:.*input service_url/);
  });
});

describe('composite actions run with only their pinned native modules', () => {
  test('actions/drift: install-native finds the packages; the bundle opens a pull request', async () => {
    const action = await composite('drift');
    // as the composite's first step, from the action's folder
    const install = await runBundle('drift', join(action, '..', 'install-native.mjs'), action, {});
    assert.equal(install.code, 0, install.stdout);
    assert.match(install.stdout, /native modules already installed: @duckdb\/node-api/);

    const workspace = await fixture.clone();
    await mkdir(join(workspace, '.fleetcast'), { recursive: true });
    await writeFile(
      join(workspace, '.fleetcast', 'report.json'),
      JSON.stringify(driftReport({ servers: [...SERVERS, 'web-03'], newServers: ['web-03'] })),
    );
    const result = await runBundle(
      'drift',
      join(action, 'dist', 'index.js'),
      workspace,
      {
        report: '.fleetcast/report.json',
        base_branch: 'main',
        forge: 'local',
        local_repository: fixture.remote,
        local_pulls_dir: join(dir, 'pulls'),
      },
      ['--preserve-symlinks'],
    );
    assert.equal(result.code, 0, result.stdout);
    assert.equal(result.outputs.operation, 'created');
    assert.equal(result.outputs.pr_number, '1');
    assert.match(result.summary, /Fleet drift check/);
    assert.match(
      (await fixture.store.readFile('fleetcast/drift/main', 'fleet/manifest.json')) ?? '',
      /web-03/,
    );
  });

  for (const [name, missing] of [['train', 'metrics']] as const) {
    test(`actions/${name}: the bundle loads its native modules and reads its inputs`, async () => {
      const action = await composite(name);
      const result = await runBundle(name, join(action, 'dist', 'index.js'), dir, {}, [
        '--preserve-symlinks',
      ]);
      assert.equal(result.code, 1, result.stdout);
      assert.doesNotMatch(result.stdout, /ERR_MODULE_NOT_FOUND|Cannot find/);
      assert.match(result.stdout, new RegExp(`::error::invalid action inputs:.*input ${missing}`));
    });
  }
});
