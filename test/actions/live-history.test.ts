import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run as rollback } from '../../src/actions/rollback.js';
import type { PointerHistory } from '../../src/gitops/deploy-log.js';
import { runAction } from '../helpers/action-runner.js';
import { fleetcastInProcess as fleetcast } from '../helpers/cli-capture.js';
import type { FakeService } from '../helpers/fake-service.js';
import { localForgeInputs, type GitFixture } from '../helpers/git-fixture.js';
import { M, P, twoModels, type TwoModels } from '../helpers/two-models.js';

/**
 * Accuracy history across versions, through the real actions against a bare remote: each commit
 * that replaces a model records the live q-risk the service reported for it, and `fleetcast
 * history` shows it beside the held-out figures.
 */
describe('live accuracy recorded when a model is replaced', () => {
  let setting: TwoModels;
  let fixture: GitFixture;
  let service: FakeService;
  before(async () => {
    setting = await twoModels('fleetcast-live-history-');
    ({ fixture, service } = setting);
  });
  after(() => setting.cleanup());

  const deployModel = (id: string, serviceUrl?: string) =>
    setting.deploy(id, serviceUrl === undefined ? {} : { service_url: serviceUrl, service_token: 'tok' });

  test('deploy and rollback record the outgoing model; history shows held-out and live per version', async () => {
    assert.equal((await deployModel(P)).exitCode, 0);
    service.set({
      modelId: P,
      live: [{ model: P, p50: 0.21, p90: 0.09, naiveP50: 0.3, naiveP90: 0.12, points: 4800, hours: 23 }],
    });
    const second = await deployModel(M, service.url);
    assert.equal(second.exitCode, 0, second.stdout);
    assert.equal(service.authorizations.at(-1), 'Bearer tok');
    const deployMessage = (await fixture.store.readCommit((await fixture.store.branchSha('main'))!)).message;
    assert.match(
      deployMessage,
      new RegExp(
        `Fleetcast-Live-Record: ${P} p50=0\\.2100 p90=0\\.0900 naive_p50=0\\.3000 .*points=4800 .*hours=23\\.0`,
      ),
    );

    // M serves badly; a person rolls back, and the service is unreachable: the commit says so
    service.set({ modelId: M, live: [], status: 503 });
    const workspace = await fixture.clone();
    const back = await runAction(rollback, {
      action: 'rollback',
      workspace,
      inputs: { reason: 'forecasts too low', service_url: service.url, ...localForgeInputs(fixture) },
      env: { GITHUB_ACTOR: 'dana' },
    });
    assert.equal(back.exitCode, 0, back.stdout);

    const clone = await fixture.clone();
    const json = await fleetcast(['history', '--registry', join(clone, 'models-registry'), '--json']);
    assert.equal(json.code, 0, json.stderr);
    const history = JSON.parse(json.stdout) as PointerHistory;
    assert.deepEqual(
      history.entries.map((e) => [e.model_id, e.live?.p50 ?? null, e.live_missing]),
      [
        [P, null, 'still serving: the service reports its live accuracy (/status, fleetcast live-check)'],
        [M, null, 'GET /status answered 503'],
        [P, 0.21, null],
      ],
    );
    const p = history.entries[2]!;
    assert.deepEqual(
      [p.live!.p90, p.live!.naive_p50, p.live!.naive_p90, p.live!.scored_points, p.live!.scored_hours],
      [0.09, 0.3, 0.12, 4800, 23],
    );
    assert.deepEqual(p.held_out?.p50, { cpu_pct: 0.1 });
    assert.ok(p.held_out !== null && 'p90' in p.held_out);
    const text = await fleetcast(['history', '--registry', join(clone, 'models-registry')]);
    assert.match(text.stdout, /LIVE P50\/P90 \(SEASONAL NAIVE\) WHILE SERVING/);
    assert.match(text.stdout, /0\.210\/0\.090 \(naive 0\.300\/0\.120\), 4800 points, 23\.0 h/);
    assert.match(text.stdout, /none: GET \/status answered 503/);
    assert.match(text.stdout, /\(serving\)/);
  });
});
