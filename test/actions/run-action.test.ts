import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import type { RunContext } from '../../src/actions/common/context.js';
import { workspaceMetrics, workspacePath } from '../../src/actions/common/inputs.js';
import { setOutputs } from '../../src/actions/common/outputs.js';
import { defineAction, runAction } from '../../src/actions/common/run-action.js';
import { GateError } from '../../src/core/errors.js';
import { runAction as runAsRunner } from '../helpers/action-runner.js';

/** runAction, the one opening and ending of every action's run(), on a small made-up action. */
const example = defineAction({
  inputs: ['path', 'count', 'token', 'slack_webhook'],
  secrets: ['token', 'slack_webhook'],
  settings: (workspace) =>
    z.object({
      path: workspacePath(workspace, 'path'),
      count: z.coerce.number().int().default(1),
      token: z.string().optional(),
      slack_webhook: z.url().optional(),
    }),
  failureTitle: 'Example failed',
});

let workspace: string;
let slack: Server;
let webhook: string;
const posts: string[] = [];
before(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'fleetcast-run-action-'));
  slack = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      posts.push((JSON.parse(body) as { text: string }).text);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', resolve));
  webhook = `http://127.0.0.1:${(slack.address() as AddressInfo).port}/hook`;
});
after(async () => {
  await new Promise<void>((resolve) => slack.close(() => resolve()));
  await rm(workspace, { recursive: true, force: true });
});

describe('runAction', () => {
  test('typed settings, each value logged at debug level, secrets masked', async () => {
    let seen: unknown;
    const result = await runAsRunner(
      () =>
        runAction(example, async (settings) => {
          seen = settings;
          setOutputs({ count: settings.count, ok: true });
        }),
      { workspace, inputs: { path: 'data/x.json', count: '3', token: 'sekrit-token' } },
    );
    assert.equal(result.exitCode, 0, result.stdout);
    assert.deepEqual(seen, {
      path: join(workspace, 'data/x.json'),
      count: 3,
      token: 'sekrit-token',
      slack_webhook: undefined,
    });
    assert.deepEqual(result.outputs, { count: '3', ok: 'true' });
    assert.match(result.stdout, /::add-mask::sekrit-token/);
    assert.match(result.stdout, /::debug::count = 3/);
    assert.match(result.stdout, /::debug::token = \*\*\*/);
    assert.match(result.stdout, /::debug::slack_webhook = undefined/, 'an unset secret is not shown as set');
    assert.ok(!result.stdout.replace(/::add-mask::.*\n/g, '').includes('sekrit-token'));
  });

  test('bad inputs fail the step once, naming every bad input, before the body runs', async () => {
    let ran = false;
    const result = await runAsRunner(
      () =>
        runAction(example, async () => {
          ran = true;
        }),
      { workspace, inputs: { path: '../outside', count: 'many' } },
    );
    assert.equal(result.exitCode, 1);
    assert.equal(ran, false);
    assert.equal(result.errors.length, 1);
    assert.match(result.errors[0]!, /input path: .* outside the workspace/);
    assert.match(result.errors[0]!, /input count/);
  });

  test('anything thrown, even a non-Error, becomes one setFailed and one Slack failure notice', async () => {
    posts.length = 0;
    const result = await runAsRunner(
      () =>
        runAction(example, () => {
          throw 'plain string\nsecond line';
        }),
      {
        workspace,
        inputs: { path: '.', slack_webhook: webhook },
        env: { GITHUB_REPOSITORY: 'acme/fleet' },
      },
    );
    assert.equal(result.exitCode, 1);
    assert.deepEqual(result.errors, ['plain string\nsecond line']);
    assert.equal(posts.length, 1);
    assert.match(
      posts[0]!,
      /Example failed\*\nplain string\n<https:\/\/github\.test\/acme\/fleet\/actions\/runs\/4242\|/,
    );
  });

  test('a body that already notified is not announced a second time when it then fails', async () => {
    posts.length = 0;
    const result = await runAsRunner(
      () =>
        runAction(example, async (_settings, { notify }) => {
          await notify({ kind: 'rollback', title: 'reverted', lines: [] });
          throw new GateError('verification failed');
        }),
      { workspace, inputs: { path: '.', slack_webhook: webhook } },
    );
    assert.equal(result.exitCode, 1);
    assert.deepEqual(result.errors, ['verification failed']);
    assert.equal(posts.length, 1);
    assert.match(posts[0]!, /reverted/);
  });
});

describe('the run context (@actions/github)', () => {
  const contextOf = async (options: {
    env?: Record<string, string>;
    event?: unknown;
    eventName?: string;
  }): Promise<RunContext> => {
    let context: RunContext | undefined;
    const result = await runAsRunner(
      () =>
        runAction(example, async (_settings, run) => {
          context = run.context;
        }),
      { workspace, inputs: { path: '.' }, ...options },
    );
    assert.equal(result.exitCode, 0, result.stdout);
    return context!;
  };

  test('is read from the environment of each run, not when the module loaded', async () => {
    const first = await contextOf({
      env: { GITHUB_REPOSITORY: 'acme/fleet', GITHUB_ACTOR: 'dana', GITHUB_ACTOR_ID: '7' },
      event: { inputs: { reason: 'first' } },
      eventName: 'workflow_dispatch',
    });
    assert.equal(first.repository, 'acme/fleet');
    assert.equal(first.runUrl, 'https://github.test/acme/fleet/actions/runs/4242');
    assert.equal(first.github.eventName, 'workflow_dispatch');
    assert.deepEqual(first.github.payload, { inputs: { reason: 'first' } });
    assert.equal(first.github.runId, 4242);
    assert.equal(first.actor, 'dana');
    assert.deepEqual(first.actorAuthor, { name: 'dana', email: '7+dana@users.noreply.github.com' });

    const second = await contextOf({
      env: {
        GITHUB_ACTOR: 'renovate[bot]',
        GITHUB_ACTOR_ID: '29139614',
        GITHUB_API_URL: 'https://ghe.test/api/v3',
      },
      event: { repository: { name: 'other', owner: { login: 'octo' } } },
      eventName: 'schedule',
    });
    assert.equal(second.repository, 'octo/other', 'from the event payload without GITHUB_REPOSITORY');
    assert.equal(second.github.eventName, 'schedule');
    assert.equal(second.github.apiUrl, 'https://ghe.test/api/v3');
    assert.equal(second.actor, 'renovate[bot]');
    assert.equal(second.actorAuthor?.email, '29139614+renovate[bot]@users.noreply.github.com');
  });

  test('outside a workflow run: no repository, no run link, no actor author', async () => {
    const context = await contextOf({ env: { GITHUB_ACTOR: 'not a login', GITHUB_ACTOR_ID: '7' } });
    assert.equal(context.repository, undefined);
    assert.equal(context.runUrl, undefined);
    assert.equal(context.actorAuthor, undefined);
  });
});

describe('metrics input', () => {
  const schema = workspaceMetrics('/srv/repo');
  test('a local source must be inside the workspace; #table is kept', () => {
    assert.equal(schema.parse('data/m.duckdb#metrics'), '/srv/repo/data/m.duckdb#metrics');
    assert.equal(schema.safeParse('../elsewhere.parquet').success, false);
  });
  test('a remote source passes through; a Prometheus mapping file must be in the workspace', () => {
    assert.equal(schema.parse('s3://bucket/fleet/*.parquet'), 's3://bucket/fleet/*.parquet');
    assert.equal(
      schema.parse('prometheus+https://prom.example:9090#mapping=config/prometheus.yaml'),
      'prometheus+https://prom.example:9090#mapping=/srv/repo/config/prometheus.yaml',
    );
    assert.equal(schema.parse('prometheus+http://prom:9090'), 'prometheus+http://prom:9090');
    const outside = schema.safeParse('prometheus+http://prom:9090#mapping=/etc/passwd');
    assert.equal(outside.success, false);
  });
});
