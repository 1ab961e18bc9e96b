import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run as liveCheckAction } from '../../src/actions/live-check.js';
import { parseEvents } from '../../src/core/events-log.js';
import { LIVE_REGRESSION_REQUESTER, isAutomaticRollback } from '../../src/gitops/deploy-commit.js';
import { runAction } from '../helpers/action-runner.js';
import { fleetcastInProcess as fleetcast } from '../helpers/cli-capture.js';
import type { FakeService } from '../helpers/fake-service.js';
import { localForgeInputs, git, type GitFixture } from '../helpers/git-fixture.js';
import { M, P, twoModels, type TwoModels } from '../helpers/two-models.js';

/**
 * Automatic rollback on live regression, end to end: real git against a bare remote, the deploy
 * action recording the previous model's live record, and a local service answering /status.
 */
describe('fleetcast live-check', () => {
  let setting: TwoModels;
  let fixture: GitFixture;
  let service: FakeService;
  before(async () => {
    setting = await twoModels('fleetcast-live-check-');
    ({ fixture, service } = setting);
    for (const id of [P, M]) {
      service.set({
        modelId: P,
        live: [{ model: P, p50: 0.2, p90: 0.1, naiveP50: 0.25, naiveP90: 0.12, points: 2000, hours: 24 }],
      });
      const result = await setting.deploy(id, { service_url: service.url });
      assert.equal(result.outputs.deployed, 'true', result.stdout);
    }
  });
  after(() => setting.cleanup());

  async function check(extra: string[] = []) {
    const clone = await fixture.clone();
    // a config with the repository's events log and a stricter point minimum
    await writeFile(
      join(clone, 'retrain.json'),
      JSON.stringify({ events_log: 'logs/events.jsonl', live_regression: { min_scored_points: 200 } }),
    );
    const out = await fleetcast([
      'live-check',
      '--service-url',
      service.url,
      '--repo-dir',
      clone,
      '--config',
      join(clone, 'retrain.json'),
      '--json',
      ...extra,
    ]);
    assert.equal(out.code, 0, out.stderr);
    return { clone, json: JSON.parse(out.stdout) as Record<string, unknown> };
  }
  const remoteModel = async () =>
    (
      JSON.parse((await fixture.store.readFile('main', 'models-registry/current.json'))!) as {
        model_id: string;
      }
    ).model_id;

  test('too little data: kept, saying what is missing; nothing pushed', async () => {
    service.set({ modelId: M, live: [{ model: M, p50: 0.9, p90: 0.5, points: 150, hours: 8 }] });
    const { json } = await check();
    assert.equal(json.action, 'keep');
    assert.match(json.reason as string, /not enough live data yet .*150 scored points .*needs ≥ 200 points/);
    assert.equal(await remoteModel(), M);
  });

  test('within bounds: kept with the numbers', async () => {
    service.set({
      modelId: M,
      live: [{ model: M, p50: 0.22, p90: 0.11, naiveP50: 0.25, naiveP90: 0.12, points: 900, hours: 10 }],
    });
    const { json, clone } = await check();
    assert.equal(json.action, 'keep');
    assert.equal(json.previous_model_id, P);
    assert.match(
      json.reason as string,
      new RegExp(`within bounds .*1\\.10× the previous model ${P}'s 0\\.200`),
    );
    const events = parseEvents(await readFile(join(clone, 'logs', 'events.jsonl'), 'utf8'), 'events');
    assert.deepEqual(
      events.map((e) => [e.event, e.data.action]),
      [['live_check', 'keep']],
    );
    assert.equal(await remoteModel(), M);
  });

  test('the action, run as the runner runs it: dry run outputs and summary, the token masked', async () => {
    service.set({ modelId: M, live: [{ model: M, p50: 0.3, p90: 0.1, points: 900, hours: 10 }] });
    const result = await runAction(liveCheckAction, {
      action: 'live-check',
      workspace: await fixture.clone(),
      inputs: {
        service_url: service.url,
        service_token: 'live-secret',
        dry_run: 'true',
        ...localForgeInputs(fixture),
      },
    });
    assert.equal(result.exitCode, 0, result.stdout);
    assert.deepEqual(
      [result.outputs.model_id, result.outputs.action, result.outputs.reverted],
      [M, 'revert', 'false'],
    );
    assert.match(result.outputs.reason!, /1\.50× the previous model/);
    assert.match(result.summary, new RegExp(`Live check of ${M}: revert`));
    assert.equal(service.authorizations.at(-1), 'Bearer live-secret');
    assert.ok(result.stdout.includes('::add-mask::live-secret'));
    assert.equal(await remoteModel(), M);
  });

  test('a dry run decides to revert and pushes nothing', async () => {
    service.set({ modelId: M, live: [{ model: M, p50: 0.3, p90: 0.1, points: 900, hours: 10 }] });
    const { json } = await check(['--dry-run']);
    assert.deepEqual([json.action, json.revert_commit, json.dry_run], ['revert', null, true]);
    assert.equal(await remoteModel(), M);
  });

  test('a regression vs the previous model reverts the deploy commit, with why in the commit and the log', async () => {
    service.set({ modelId: M, live: [{ model: M, p50: 0.3, p90: 0.1, points: 900, hours: 10 }] });
    const { json, clone } = await check();
    assert.equal(json.action, 'revert');
    assert.match(json.revert_commit as string, /^[0-9a-f]{40}$/);
    assert.equal(await remoteModel(), P);
    const message = (await fixture.store.readCommit((await fixture.store.branchSha('main'))!)).message;
    assert.match(message, new RegExp(`^Revert "deploy: ${M}`));
    assert.match(message, /Reason: live regression of .*P50 live q-risk 0\.300 is 1\.50× the previous model/);
    assert.match(message, new RegExp(`Requested-by: ${LIVE_REGRESSION_REQUESTER.replace(/[()]/g, '\\$&')}`));
    assert.match(message, new RegExp(`Fleetcast-Live-Record: ${M} p50=0\\.3000 .*points=900`));
    assert.ok(isAutomaticRollback(message), "the reconcile loop does not take it for a person's hold");
    const events = parseEvents(await readFile(join(clone, 'logs', 'events.jsonl'), 'utf8'), 'events');
    assert.equal(events.at(-1)!.data.action, 'revert');
    assert.equal(events.at(-1)!.data.revert_commit, json.revert_commit);
    // history now shows M's live record from the revert
    const history = await fleetcast([
      'history',
      '--registry',
      join(await fixture.clone(), 'models-registry'),
      '--json',
    ]);
    const entries = (
      JSON.parse(history.stdout) as { entries: Array<{ model_id: string; live: { p50: number } | null }> }
    ).entries;
    assert.deepEqual(
      entries.map((e) => [e.model_id, e.live?.p50 ?? null]),
      [
        [P, null],
        [M, 0.3],
        [P, 0.2],
      ],
    );
  });

  test('the model a revert put back is never reverted by live-check (only deploy commits are)', async () => {
    service.set({
      modelId: P,
      live: [{ model: P, p50: 0.9, p90: 0.9, naiveP50: 0.2, naiveP90: 0.1, points: 900, hours: 10 }],
    });
    const { json } = await check();
    assert.equal(json.action, 'keep');
    assert.match(json.reason as string, /live regression .*not reverted: .*not by a deploy commit/);
    assert.equal(await remoteModel(), P);
    const clone = await fixture.clone();
    assert.equal((await git(clone, 'log', '--format=%s', '-1')).trim().startsWith('Revert'), true);
  });
});
