import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleGit } from 'simple-git';
import { runDemo, type DemoResult } from '../../src/demo/run-demo.js';

// The design's end-to-end retraining test: the whole demo loop with the smoke profile, checked from
// the outside (pull request record, the remote's history, the events log), not only its summary.
describe('end-to-end loop (fleetcast demo, smoke profile)', () => {
  let result: DemoResult;
  const shown: string[] = [];

  before(async () => {
    result = await runDemo(
      {
        servers: 12,
        add: 4,
        sunset: 3,
        profile: 'smoke',
        seed: 3,
        port: 0,
        keepServing: false,
        keepWorkDir: true,
      },
      { progress: () => undefined, show: (text) => shown.push(text) },
    );
  });
  after(async () => {
    await result?.service?.close();
    await result?.workspace.remove();
  });

  it('coverage goes from under 100 % to 100 % after the retrain', () => {
    const { facts } = result;
    assert.ok(facts.coverageBefore !== null && facts.coverageBefore < 100, `before: ${facts.coverageBefore}`);
    assert.equal(facts.coverageAfter, 100);
    assert.ok((facts.unknownBefore ?? 0) > 0, 'new manifest servers were unknown to the first model');
    assert.equal(facts.unknownAfter, 0);
    assert.notEqual(facts.initialModel, facts.retrainedModel);
    assert.equal(facts.fleetNow, facts.initialFleet + facts.added - facts.sunset);
  });

  it('opened one drift pull request that explains why, and merged it', async () => {
    const pr = JSON.parse(await readFile(join(result.workspace.pullsDir, '1.json'), 'utf8')) as {
      title: string;
      body: string;
      state: string;
      merged: boolean;
      head: string;
    };
    assert.equal(pr.head, 'fleetcast/drift/main');
    assert.equal(pr.state, 'closed');
    assert.equal(pr.merged, true);
    assert.match(pr.title, /drift/i);
    assert.match(pr.body, /Fleet drift is 25\\?\.00%/);
    assert.match(pr.body, /### New servers \(2\)/);
    assert.match(pr.body, /### Sunset servers \(1\)/);
    assert.match(pr.body, /### Pending servers \(2\)/);
    assert.ok(
      shown.some((text) => text.includes(pr.body.split('\n').find((l) => l.startsWith('## '))!)),
      'the body was printed',
    );
  });

  it('the remote’s pointer history is deploy, deploy, revert, revert of the revert', async () => {
    const git = simpleGit(result.workspace.origin);
    const log = await git.raw(['log', '--format=%s', 'main', '--', 'models-registry/current.json']);
    const subjects = log.trim().split('\n').reverse();
    assert.equal(subjects.length, 4, subjects.join('\n'));
    assert.match(subjects[0]!, new RegExp(`^deploy: ${result.facts.initialModel} `));
    assert.match(
      subjects[1]!,
      new RegExp(`^deploy: ${result.facts.retrainedModel} \\(\\d+ servers, coverage 100\\.0%`),
    );
    assert.match(subjects[2]!, /^Revert "deploy: /);
    assert.match(subjects[3]!, /^Revert the rollback/);
    const pointer = JSON.parse(await git.show([`main:models-registry/current.json`])) as Record<
      string,
      string
    >;
    assert.equal(pointer.model_id, result.facts.retrainedModel);
    assert.equal(pointer.previous_model_id, result.facts.initialModel);
  });

  it('the service followed the rollback and the roll forward', () => {
    const { swapSeconds } = result.facts;
    for (const seconds of [swapSeconds.deploy, swapSeconds.rollback, swapSeconds.rollForward])
      assert.ok(seconds > 0);
  });

  it('logged every check and trigger in the events log', async () => {
    const lines = (await readFile(result.workspace.eventsLog, 'utf8')).trim().split('\n');
    const events = lines.map((l) => (JSON.parse(l) as { event: string }).event);
    assert.ok(events.length >= 2, events.join(','));
    assert.ok(
      events.some((e) => /check/.test(e)),
      events.join(','),
    );
    assert.ok(
      events.some((e) => /trigger/.test(e)),
      events.join(','),
    );
  });

  it('left the checkout’s GitOps state untouched', async () => {
    const status = await simpleGit(process.cwd()).raw([
      'status',
      '--porcelain',
      '--',
      'fleet',
      'models-registry',
    ]);
    assert.equal(status, '');
  });
});
