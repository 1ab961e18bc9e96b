import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { renderManifest } from '../../src/fleet/manifest.js';
import { parseDriftPrBody } from '../../src/gitops/drift-pr-body.js';
import { driftReport, manifestOf } from '../helpers/drift-report-fixture.js';
import { BRANCH, drift, drifting, NEW, OLD, setUp, tearDown, type DriftEnv } from '../helpers/drift-env.js';
import { HUMAN } from '../helpers/git-fixture.js';

describe('drift action against a fake GitHub and a bare remote', () => {
  let env: DriftEnv;
  before(async () => {
    env = await setUp();
  });
  after(() => tearDown(env));

  test('50 repeated runs open exactly one pull request', async () => {
    const operations: string[] = [];
    for (let i = 0; i < 50; i++) {
      const result = await drift(env, drifting());
      assert.equal(result.exitCode, 0, result.stdout);
      operations.push(result.outputs.operation!);
    }
    assert.equal(operations[0], 'created');
    assert.deepEqual(new Set(operations.slice(1)), new Set(['unchanged']));
    assert.equal(env.github.pulls.length, 1);
    const pr = env.github.pulls[0]!;
    assert.equal(pr.head, BRANCH);
    assert.match(pr.title, /40\.0% \[high priority\]/);
    assert.ok(pr.labels.includes('priority:high'));
    const parsed = parseDriftPrBody(pr.body ?? '');
    assert.deepEqual(parsed?.newServers.names, [...NEW].sort());
    const manifest = await env.fixture.store.readFile(BRANCH, 'fleet/manifest.json');
    assert.equal(manifest, renderManifest(manifestOf([...OLD, ...NEW])));
    // one manifest commit on the branch, no matter how many runs
    const main = (await env.fixture.store.branchSha('main'))!;
    assert.equal((await env.fixture.store.commitsBetween(main, BRANCH)).length, 1);
    assert.deepEqual(env.github.violations, []);
    // pulls.list by head, never the search API
    assert.ok(env.github.requests.every((r) => !r.path.startsWith('/search/')));
  });

  test('a changed drift updates the same pull request in place', async () => {
    const more = [...NEW, 'web-24'];
    const result = await drift(
      env,
      driftReport({ servers: [...OLD, ...more], newServers: more, priority: 'medium', driftPct: 25 }),
    );
    assert.equal(result.outputs.operation, 'updated');
    assert.equal(env.github.openPulls().length, 1);
    const pr = env.github.openPulls()[0]!;
    assert.ok(pr.labels.includes('priority:medium'));
    assert.ok(!pr.labels.includes('priority:high'));
    assert.match(pr.body ?? '', /web\\-24/);
    const manifest = await env.fixture.store.readFile(BRANCH, 'fleet/manifest.json');
    assert.match(manifest ?? '', /web-24/);
    assert.deepEqual(env.github.violations, []);
  });

  test('a human commit on the branch is never overwritten; the bot comments once', async () => {
    const human = await env.fixture.commitAs(
      HUMAN,
      BRANCH,
      { 'fleet/NOTES.md': 'keep web-24 out\n' },
      'note for reviewers',
    );
    const changed = driftReport({ servers: [...OLD, ...NEW, 'web-25'], newServers: [...NEW, 'web-25'] });
    const first = await drift(env, changed);
    const second = await drift(env, changed);
    assert.equal(first.exitCode, 0);
    assert.equal(await env.fixture.store.branchSha(BRANCH), human, 'branch still ends with the human commit');
    assert.ok(first.warnings.some((w) => /not written by Fleetcast/.test(w)));
    const pr = env.github.openPulls()[0]!;
    const blocked = pr.comments.filter((c) => c.body.includes('fleetcast:blocked'));
    assert.equal(blocked.length, 1, 'one comment, not one per run');
    assert.match(blocked[0]!.body, /Dana Operator/);
    assert.equal(second.outputs.operation, 'unchanged');
    assert.deepEqual(env.github.violations, []);
  });

  test('drift gone: the pull request is closed with a comment', async () => {
    const result = await drift(env, driftReport({ servers: OLD, retrain: false, driftPct: 2 }));
    assert.equal(result.outputs.operation, 'closed');
    assert.equal(env.github.openPulls().length, 0);
    const pr = env.github.pulls[0]!;
    assert.match(pr.comments.at(-1)!.body, /closes this pull request/);
    // the human's commit keeps the branch alive
    assert.ok((await env.fixture.store.branchSha(BRANCH)) !== undefined);
    const again = await drift(env, driftReport({ servers: OLD, retrain: false, driftPct: 2 }));
    assert.equal(again.outputs.operation, 'unchanged');
    assert.deepEqual(env.github.violations, []);
  });
});
