import assert from 'node:assert/strict';
import { test } from 'node:test';
import { notifySlack, slackPayload } from '../../src/gitops/notify.js';
import { verifyDeployment, verifyProblems, type Observation } from '../../src/gitops/verify.js';
import { replicaUrls } from '../../src/gitops/verify-replicas.js';

const M = 'tft-20261101T000000Z-bbbbbb';
const servers = ['web-01', 'web-02'];
const good: Observation = {
  health: { status: 'ok', model_id: M },
  status: { coverage: { coverage_pct: 100, unknown: [], without_data: [] } },
  fleet: { model_id: M, servers: servers.map((server) => ({ server, known: true })) },
};

test('verifyProblems: all conditions', () => {
  assert.deepEqual(verifyProblems(good, { modelId: M, manifestServers: servers }), []);
  assert.match(
    verifyProblems({ ...good, health: { model_id: 'other' } }, { modelId: M, manifestServers: servers })[0]!,
    /expected tft/,
  );
  const partial: Observation = {
    ...good,
    status: { coverage: { coverage_pct: 50, unknown: ['web-02'], without_data: [] } },
  };
  assert.equal(verifyProblems(partial, { modelId: M, manifestServers: servers }).length, 2);
  const unknown: Observation = {
    ...good,
    fleet: {
      model_id: M,
      servers: [
        { server: 'web-01', known: true },
        { server: 'web-02', known: false },
      ],
    },
  };
  assert.match(
    verifyProblems(unknown, { modelId: M, manifestServers: servers }).join(),
    /unknown-server predictions for manifest servers: web-02/,
  );
  const missing: Observation = {
    ...good,
    fleet: { model_id: M, servers: [{ server: 'web-01', known: true }] },
  };
  assert.match(verifyProblems(missing, { modelId: M, manifestServers: servers }).join(), /absent .*web-02/);
});

test('verifyDeployment polls until verified, then stops', async () => {
  let now = 0;
  let calls = 0;
  const fakeFetch = (async (url: string | URL | Request) => {
    calls++;
    const path = new URL(String(url)).pathname;
    const swapped = now >= 2000;
    const body =
      path === '/health' ? { model_id: swapped ? M : 'old' } : path === '/status' ? good.status : good.fleet;
    return new Response(JSON.stringify(body), { status: 200 });
  }) as typeof fetch;
  const result = await verifyDeployment(
    { serviceUrls: ['http://svc.test/'], modelId: M, manifestServers: servers },
    { timeoutMs: 10_000, intervalMs: 1000 },
    { fetch: fakeFetch, now: () => now, sleep: async (ms) => void (now += ms) },
  );
  assert.equal(result.ok, true);
  assert.equal(result.attempts, 3);
  assert.ok(calls >= 5);
});

test('verifyDeployment gives up at the timeout with the last problems; unreachable service is a problem, not a crash', async () => {
  let now = 0;
  const failing = (async () => {
    throw new TypeError('fetch failed');
  }) as typeof fetch;
  const result = await verifyDeployment(
    { serviceUrls: ['http://svc.test'], modelId: M, manifestServers: servers },
    { timeoutMs: 3000, intervalMs: 1000 },
    { fetch: failing, now: () => now, sleep: async (ms) => void (now += ms) },
  );
  assert.equal(result.ok, false);
  assert.equal(result.attempts, 4, 'at 0, 1, 2 and 3 s; the next would pass the timeout');
  assert.match(result.problems[0]!, /not reachable: fetch failed/);
});

test('verifyDeployment: every replica must serve the model; one lagging replica fails, named', async () => {
  let now = 0;
  const fakeFetch = (async (url: string | URL | Request) => {
    const u = new URL(String(url));
    // pod-b never swaps: a single URL behind a Service could have sampled pod-a only
    const swapped = u.hostname === 'pod-a.test' || now >= 2000;
    const lagging = u.hostname === 'pod-b.test';
    const body =
      u.pathname === '/health'
        ? { model_id: swapped && !lagging ? M : 'old' }
        : u.pathname === '/status'
          ? good.status
          : good.fleet;
    return new Response(JSON.stringify(body), { status: 200 });
  }) as typeof fetch;
  const result = await verifyDeployment(
    {
      serviceUrls: ['http://pod-a.test:8080', 'http://pod-b.test:8080'],
      modelId: M,
      manifestServers: servers,
    },
    { timeoutMs: 3000, intervalMs: 1000 },
    { fetch: fakeFetch, now: () => now, sleep: async (ms) => void (now += ms) },
  );
  assert.equal(result.ok, false);
  assert.deepEqual(
    result.replicas.map((r) => [r.url, r.ok]),
    [
      ['http://pod-a.test:8080', true],
      ['http://pod-b.test:8080', false],
    ],
  );
  assert.deepEqual(result.problems, [`http://pod-b.test:8080: /health reports model "old", expected ${M}`]);
});

test('verifyDeployment passes only when every replica passes in the same attempt', async () => {
  let now = 0;
  const fakeFetch = (async (url: string | URL | Request) => {
    const u = new URL(String(url));
    const swapped = now >= (u.hostname === 'pod-a.test' ? 0 : 1000);
    const body =
      u.pathname === '/health'
        ? { model_id: swapped ? M : 'old' }
        : u.pathname === '/status'
          ? good.status
          : good.fleet;
    return new Response(JSON.stringify(body), { status: 200 });
  }) as typeof fetch;
  const result = await verifyDeployment(
    { serviceUrls: ['http://pod-a.test', 'http://pod-b.test'], modelId: M, manifestServers: servers },
    { timeoutMs: 10_000, intervalMs: 1000 },
    { fetch: fakeFetch, now: () => now, sleep: async (ms) => void (now += ms) },
  );
  assert.equal(result.ok, true);
  assert.equal(result.attempts, 2);
  assert.ok(result.replicas.every((r) => r.ok));
  await assert.rejects(
    verifyDeployment(
      { serviceUrls: [], modelId: M, manifestServers: servers },
      { timeoutMs: 1, intervalMs: 1 },
      {
        fetch: fakeFetch,
        now: () => 0,
        sleep: async () => undefined,
      },
    ),
    /at least one service URL/,
  );
});

test('replicaUrls: a headless Service name becomes one URL per pod address; nothing resolved is an error', async () => {
  const lookup = async (host: string) =>
    host === 'inference-pods.fleetcast.svc'
      ? [
          { address: '10.0.0.7', family: 4 },
          { address: '10.0.0.9', family: 4 },
          { address: 'fd00::5', family: 6 },
        ]
      : [];
  assert.deepEqual(await replicaUrls(['http://inference-pods.fleetcast.svc:8080'], true, lookup), [
    'http://10.0.0.7:8080/',
    'http://10.0.0.9:8080/',
    'http://[fd00::5]:8080/',
  ]);
  assert.deepEqual(await replicaUrls(['http://10.1.1.1:8080', 'http://10.1.1.1:8080'], true, lookup), [
    'http://10.1.1.1:8080',
  ]);
  assert.deepEqual(await replicaUrls(['http://a:1', 'http://b:1'], false, lookup), [
    'http://a:1',
    'http://b:1',
  ]);
  await assert.rejects(
    replicaUrls(['http://gone.svc:8080'], true, lookup),
    /gone\.svc resolves to no address/,
  );
});

test('Slack: payload escaped; failures warn without the URL and never throw', async () => {
  assert.match(slackPayload({ kind: 'deploy', title: 'a <b> & c', lines: [] }).text, /a &lt;b&gt; &amp; c/);
  const warnings: string[] = [];
  const secret = 'https://hooks.slack.test/services/T000/B000/SECRET';
  const sent = await notifySlack(
    secret,
    { kind: 'failure', title: 't', lines: [] },
    {
      fetch: (async () => {
        throw new Error(`connect ECONNREFUSED ${secret}`);
      }) as typeof fetch,
      warn: (m) => warnings.push(m),
    },
  );
  assert.equal(sent, false);
  assert.equal(warnings.length, 1);
  assert.ok(!warnings[0]!.includes('SECRET'));
  const refused = await notifySlack(
    secret,
    { kind: 'deploy', title: 't', lines: [] },
    {
      fetch: (async () => new Response('no', { status: 500 })) as typeof fetch,
      warn: (m) => warnings.push(m),
    },
  );
  assert.equal(refused, false);
  assert.equal(
    await notifySlack(undefined, { kind: 'deploy', title: 't', lines: [] }, { fetch, warn: () => undefined }),
    false,
  );
});

test('Slack: Block Kit with a link button, and 429 retried after Retry-After, bounded', async () => {
  const payload = slackPayload({
    kind: 'deploy',
    title: 'deployed',
    lines: ['a', 'b'],
    url: 'https://ci.example/run/1',
  });
  assert.deepEqual(
    payload.blocks.map((b) => b.type),
    ['section', 'section', 'actions'],
  );
  assert.match(JSON.stringify(payload.blocks[2]), /"url":"https:\/\/ci\.example\/run\/1"/);
  const waits: number[] = [];
  let calls = 0;
  const limited = (async () => {
    calls++;
    return calls < 3
      ? new Response('slow down', { status: 429, headers: { 'retry-after': '2' } })
      : new Response('ok');
  }) as typeof fetch;
  const sent = await notifySlack(
    'https://hooks.slack.test/x',
    { kind: 'deploy', title: 't', lines: [] },
    { fetch: limited, warn: () => undefined, sleep: async (ms) => void waits.push(ms) },
  );
  assert.equal(sent, true);
  assert.deepEqual(waits, [2000, 2000]);
  const warnings: string[] = [];
  const always = (async () =>
    new Response('no', { status: 429, headers: { 'retry-after': '999' } })) as typeof fetch;
  const gaveUp = await notifySlack(
    'https://hooks.slack.test/x',
    { kind: 'deploy', title: 't', lines: [] },
    { fetch: always, warn: (m) => warnings.push(m), sleep: async (ms) => void waits.push(ms) },
  );
  assert.equal(gaveUp, false);
  assert.deepEqual(waits.slice(2), [30_000, 30_000], 'Retry-After is capped');
  assert.match(warnings[0]!, /HTTP 429 after 3 attempts/);
});
