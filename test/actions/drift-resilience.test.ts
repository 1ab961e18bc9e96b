import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { driftReport } from '../helpers/drift-report-fixture.js';
import { BRANCH, drift, drifting, NEW, OLD, setUp, tearDown, type DriftEnv } from '../helpers/drift-env.js';

describe('drift action resilience and inputs', () => {
  let env: DriftEnv;
  before(async () => {
    env = await setUp();
  });
  after(() => tearDown(env));

  test('dry run writes nothing', async () => {
    const result = await drift(env, drifting(), { dry_run: 'true' });
    assert.equal(result.exitCode, 0);
    assert.equal(result.outputs.operation, 'created');
    assert.equal(result.outputs.dry_run, 'true');
    assert.equal(env.github.pulls.length, 0);
    assert.equal(await env.fixture.store.branchSha(BRANCH), undefined);
    assert.match(result.summary, /dry run/);
  });

  test('GitHub 5xx, secondary rate limits (403 + retry-after) and 429 are retried', async () => {
    env.github.failNext('GET', /\/pulls$/, { status: 502 }, { status: 503 });
    env.github.failNext('POST', /\/pulls$/, {
      status: 403,
      headers: { 'retry-after': '1' },
      body: {
        message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      },
    });
    env.github.failNext('PUT', /\/labels$/, {
      status: 429,
      headers: { 'retry-after': '1' },
      body: { message: 'Too Many Requests' },
    });
    const result = await drift(env, drifting());
    assert.equal(result.exitCode, 0, result.stdout);
    assert.equal(result.outputs.operation, 'created');
    assert.equal(env.github.pulls.length, 1);
    const statuses = env.github.requests.map((r) => `${r.method} ${r.status}`);
    for (const expected of ['GET 502', 'GET 503', 'POST 403', 'PUT 429'])
      assert.ok(statuses.includes(expected), expected);
    assert.deepEqual(env.github.pulls[0]!.labels.sort(), ['fleetcast', 'fleetcast:retrain', 'priority:high']);
  });

  test('force proposes retraining below the thresholds', async () => {
    const result = await drift(
      env,
      driftReport({ servers: [...OLD, 'web-99'], newServers: ['web-99'], retrain: false, driftPct: 5 }),
      {
        force: 'true',
      },
    );
    assert.equal(result.outputs.operation, 'updated');
    assert.match(env.github.openPulls()[0]!.body ?? '', /forced by a manual run/);
  });

  test('a report path outside the workspace is refused, naming the input', async () => {
    const result = await drift(env, drifting(), { report: '../../etc/passwd' });
    assert.equal(result.exitCode, 1);
    assert.match(result.errors.join('\n'), /input report: .* is outside the workspace/);
  });

  test('an invalid server name in the report is refused before it reaches Markdown or git', async () => {
    const report = drifting();
    (report.new_servers as Array<{ name: string }>)[0]!.name = 'web-01|<script>';
    const result = await drift(env, report);
    assert.equal(result.exitCode, 1);
    assert.match(result.errors.join('\n'), /new_servers/);
  });

  test('a bad token fails with the HTTP status and no secret in the log', async () => {
    const result = await drift(env, drifting(), { token: 'wrong-token-value' });
    assert.equal(result.exitCode, 1);
    assert.match(result.errors.join('\n'), /401/);
    assert.ok(!result.stdout.replace(/::add-mask::.*\n/g, '').includes('wrong-token-value'));
  });
});

describe('a drift pull request closed by a person', () => {
  let env: DriftEnv;
  before(async () => {
    env = await setUp();
  });
  after(() => tearDown(env));

  test('is not reopened with the same proposal; a changed proposal opens a new one', async () => {
    assert.equal((await drift(env, drifting())).outputs.operation, 'created');
    env.github.pulls[0]!.state = 'closed'; // closed on GitHub without merging
    const same = await drift(env, drifting());
    assert.equal(same.outputs.operation, 'unchanged');
    assert.match(same.stdout, /closed without merging/);
    assert.equal(env.github.pulls.length, 1);
    const more = [...NEW, 'web-30'];
    const changed = await drift(env, driftReport({ servers: [...OLD, ...more], newServers: more }));
    assert.equal(changed.outputs.operation, 'created');
    assert.equal(env.github.openPulls().length, 1);
    assert.equal(env.github.openPulls()[0]!.number, 2);
    assert.deepEqual(env.github.violations, []);
  });
});
