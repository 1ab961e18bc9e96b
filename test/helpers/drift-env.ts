/** Shared setup of the drift action tests: a bare remote, a fake GitHub, a workspace clone. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../src/actions/drift.js';
import { renderManifest } from '../../src/fleet/manifest.js';
import { runAction } from './action-runner.js';
import { driftReport, manifestOf } from './drift-report-fixture.js';
import { FakeGitHub } from './fake-github.js';
import { createGitFixture, type GitFixture } from './git-fixture.js';

export const OLD = Array.from({ length: 20 }, (_, i) => `web-${String(i + 1).padStart(2, '0')}`);
export const NEW = ['web-21', 'web-22', 'web-23', 'db_primary-1'];
export const BRANCH = 'fleetcast/drift/main';

export interface DriftEnv {
  fixture: GitFixture;
  github: FakeGitHub;
  workspace: string;
}

export async function setUp(): Promise<DriftEnv> {
  const fixture = await createGitFixture({
    'fleet/manifest.json': renderManifest(manifestOf(OLD)),
    'README.md': '# fleet\n',
  });
  const github = await FakeGitHub.start(fixture.remote);
  const workspace = await fixture.clone();
  return { fixture, github, workspace };
}

export async function tearDown(env: DriftEnv): Promise<void> {
  await env.github.stop();
  await env.fixture.cleanup();
}

export async function drift(
  env: DriftEnv,
  report: Record<string, unknown>,
  inputs: Record<string, string> = {},
) {
  await mkdir(join(env.workspace, '.fleetcast'), { recursive: true });
  await writeFile(join(env.workspace, '.fleetcast', 'report.json'), JSON.stringify(report));
  return runAction(run, {
    action: 'drift',
    workspace: env.workspace,
    inputs: {
      report: '.fleetcast/report.json',
      token: env.github.token,
      repository: env.github.repository,
      api_url: env.github.url,
      base_branch: 'main',
      ...inputs,
    },
    env: { FLEETCAST_GITHUB_RETRY_BASE_MS: '5' },
  });
}

export const drifting = () => driftReport({ servers: [...OLD, ...NEW], newServers: NEW });
