import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as deploy } from '../../src/actions/deploy.js';
import { renderManifest } from '../../src/fleet/manifest.js';
import { runAction, type ActionRun } from './action-runner.js';
import { manifestOf } from './drift-report-fixture.js';
import { startFakeService, type FakeService } from './fake-service.js';
import { createGitFixture, localForgeInputs, type GitFixture } from './git-fixture.js';
import { makeTinyModels } from './tiny-model.js';

export const SERVERS = ['web-01', 'web-02'];
/** The older and the newer of the two validated models. */
export const P = 'tft-20261001T000000Z-aaaaaa';
export const M = 'tft-20261101T000000Z-bbbbbb';

export interface TwoModels {
  fixture: GitFixture;
  service: FakeService;
  /** Runs the deploy action in a fresh clone for model `id`, with these inputs besides the forge's. */
  deploy(id: string, inputs?: Record<string, string>): Promise<ActionRun>;
  cleanup(): Promise<void>;
}

/**
 * Two validated tiny models (P, then M) for SERVERS, a bare remote whose fleet lists those servers,
 * and a fake inference service: the setting of the tests that deploy, replace and roll back models.
 */
export async function twoModels(prefix: string): Promise<TwoModels> {
  const models = await mkdtemp(join(tmpdir(), prefix));
  const servers = SERVERS.map((name) => ({ name, profile: 'web' }));
  await makeTinyModels(
    models,
    [P, M].map((modelId) => ({ modelId, servers, validation: { passed: true } })),
  );
  const fixture = await createGitFixture({ 'fleet/manifest.json': renderManifest(manifestOf(SERVERS)) });
  const service = await startFakeService();
  return {
    fixture,
    service,
    async deploy(id, inputs = {}) {
      const workspace = await fixture.clone();
      await cp(join(models, id), join(workspace, '.fleetcast', 'candidate', id), { recursive: true });
      return runAction(deploy, {
        action: 'deploy',
        workspace,
        inputs: { model_dir: `.fleetcast/candidate/${id}`, ...localForgeInputs(fixture), ...inputs },
      });
    },
    async cleanup() {
      await service.close();
      await fixture.cleanup();
      await rm(models, { recursive: true, force: true });
    },
  };
}
