import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { renderManifest } from '../../src/fleet/manifest.js';
import { parseOutputFile } from '../helpers/action-runner.js';
import { driftReport, manifestOf } from '../helpers/drift-report-fixture.js';
import { createGitFixture, type GitFixture } from '../helpers/git-fixture.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The committed bundle, started exactly as the runner starts `runs.main` (a local forge, so no network). */
let fixture: GitFixture;
let dir: string;
before(async () => {
  fixture = await createGitFixture({ 'fleet/manifest.json': renderManifest(manifestOf(['web-01'])) });
  dir = await mkdtemp(join(tmpdir(), 'fleetcast-bundle-'));
});
after(async () => {
  await fixture.cleanup();
  await rm(dir, { recursive: true, force: true });
});

test('actions/drift/dist/index.js runs as the runner runs it', async () => {
  const workspace = await fixture.clone();
  await mkdir(join(workspace, '.fleetcast'), { recursive: true });
  await writeFile(
    join(workspace, '.fleetcast', 'report.json'),
    JSON.stringify(driftReport({ servers: ['web-01', 'web-02'], newServers: ['web-02'] })),
  );
  const output = join(dir, 'output');
  const summary = join(dir, 'summary');
  await writeFile(output, '');
  await writeFile(summary, '');
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_OUTPUT: output,
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_EVENT_PATH: join(dir, 'event.json'),
    INPUT_REPORT: '.fleetcast/report.json',
    INPUT_FORGE: 'local',
    INPUT_LOCAL_REPOSITORY: fixture.remote,
    INPUT_LOCAL_PULLS_DIR: join(dir, 'pulls'),
    INPUT_BASE_BRANCH: 'main',
    INPUT_MANIFEST_PATH: 'fleet/manifest.json',
    INPUT_DRY_RUN: 'false',
    INPUT_FORCE: 'false',
    INPUT_BOT_NAME: 'github-actions[bot]',
    INPUT_BOT_EMAIL: '41898282+github-actions[bot]@users.noreply.github.com',
  };
  await writeFile(env.GITHUB_EVENT_PATH, '{}');
  const child = spawn(process.execPath, [join(root, 'actions', 'drift', 'dist', 'index.js')], {
    cwd: workspace,
    env,
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stdout);
  const outputs = parseOutputFile(await readFile(output, 'utf8'));
  assert.equal(outputs.operation, 'created');
  assert.equal(outputs.pr_number, '1');
  assert.match(await readFile(summary, 'utf8'), /Fleet drift check/);
  assert.match((await fixture.store.readFile('fleetcast/drift/main', 'fleet/manifest.json')) ?? '', /web-02/);
});
