import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { InjectOptions } from 'fastify';
import { deploy } from '../../src/registry/pointer.js';
import { buildApp, type FleetcastApp } from '../../src/service/http/app.js';
import type { ForecastService } from '../../src/service/serving/forecast-service.js';
import { makeTinyModels } from '../helpers/tiny-model.js';
import { fleetOf, newService, removeDir, tempDir } from '../service/fixtures.js';

/**
 * Fault suite, groups "http" and "secrets": hostile requests get a 4xx with a JSON error that
 * says what is wrong, admin routes let nobody in without the exact token, no answer echoes a
 * secret, and the service keeps answering for the other servers afterwards.
 */
const M1 = 'tft-20261001T000000Z-0f0f0f';
const M2 = 'tft-20261101T000000Z-0e0e0e';
const ADMIN = 'admin-secret-4d2c9a7e1b';
const GITHUB = 'ghp_FAKEgithubTOKEN0123456789abcdefABCD';
const fleet = fleetOf(6);
const json = { 'content-type': 'application/json' };
const post = (payload: string, headers: Record<string, string> = json): InjectOptions => ({
  method: 'POST',
  url: '/predict',
  payload,
  headers,
});

interface Row {
  name: string;
  request: InjectOptions | string;
  status: number;
  message: RegExp;
}

const rows: Row[] = [
  {
    name: 'an oversized body (> bodyLimit)',
    request: post(JSON.stringify({ servers: Array.from({ length: 900 }, (_, i) => `web-${i}`) })),
    status: 413,
    message: /./,
  },
  { name: 'a 1 MB body', request: post(`{"servers":["${'a'.repeat(1 << 20)}"]}`), status: 413, message: /./ },
  { name: 'truncated JSON', request: post('{"servers": ['), status: 400, message: /JSON/i },
  { name: 'not JSON at all', request: post('servers=web-0001'), status: 400, message: /JSON/i },
  { name: 'an empty body with a JSON content type', request: post(''), status: 400, message: /./ },
  { name: 'JSON null', request: post('null'), status: 400, message: /./ },
  { name: 'a JSON array', request: post('[1,2]'), status: 400, message: /body/ },
  { name: 'a JSON string', request: post('"web-0001"'), status: 400, message: /./ },
  { name: 'servers as a string', request: post('{"servers": "web-0001"}'), status: 400, message: /servers/ },
  { name: 'servers with a number', request: post('{"servers": [42]}'), status: 400, message: /servers\[0\]/ },
  { name: 'no servers', request: post('{"servers": []}'), status: 400, message: /at least one server/ },
  {
    name: 'an unknown field',
    request: post('{"servers": ["web-0001"], "extra": 1}'),
    status: 400,
    message: /extra/,
  },
  {
    name: 'a __proto__ field',
    request: post('{"servers": ["web-0001"], "__proto__": {"admin": true}}'),
    status: 400,
    message: /./,
  },
  {
    name: 'too many servers (above maxServersPerRequest)',
    request: post(
      JSON.stringify({ servers: fleet.map((s) => s.name).concat(['web-0007', 'web-0008', 'web-0009']) }),
    ),
    status: 400,
    message: /server/,
  },
  {
    name: 'a server name with path traversal',
    request: post('{"servers": ["../../etc/passwd"]}'),
    status: 400,
    message: /servers\[0\]: invalid server name/,
  },
  {
    name: 'a server name with a quote',
    request: post(`{"servers": ["web'0001"]}`),
    status: 400,
    message: /servers\[0\]: invalid server name/,
  },
  {
    name: 'a server name with a newline',
    request: post('{"servers": ["web\\n0001"]}'),
    status: 400,
    message: /servers\[0\]: invalid server name/,
  },
  {
    name: 'a server name with a NUL',
    request: post('{"servers": ["web\\u00000001"]}'),
    status: 400,
    message: /servers\[0\]: invalid server name/,
  },
  {
    name: 'a 1,000-character server name',
    request: post(JSON.stringify({ servers: ['a'.repeat(1000)] })),
    status: 400,
    message: /servers\[0\]: invalid server name/,
  },
  {
    name: 'HTML in a server name',
    request: post('{"servers": ["<img src=x onerror=alert(1)>"]}'),
    status: 400,
    message: /invalid server name/,
  },
  {
    name: 'the second of two names bad',
    request: post('{"servers": ["web-0001", "a/b"]}'),
    status: 400,
    message: /servers\[1\]: invalid server name/,
  },
  {
    name: 'GET /predict/ with a valid 128-character name of an unknown server',
    request: `/predict/${'v'.repeat(128)}`,
    status: 404,
    message: /no recent metrics for this server/,
  },
  {
    name: 'a text/plain content type',
    request: post('{"servers": ["web-0001"]}', { 'content-type': 'text/plain' }),
    status: 400,
    message: /body: .*expected object/,
  },
  {
    name: 'an XML content type',
    request: post('<servers/>', { 'content-type': 'application/xml' }),
    status: 415,
    message: /./,
  },
  {
    name: 'a form content type',
    request: post('servers=web-0001', { 'content-type': 'application/x-www-form-urlencoded' }),
    status: 415,
    message: /./,
  },
  {
    name: 'GET /predict/ with encoded traversal',
    request: `/predict/${encodeURIComponent('../../etc/passwd')}`,
    status: 400,
    message: /invalid server name/,
  },
  {
    name: 'GET /predict/ with an encoded slash',
    request: `/predict/web%2F0001`,
    status: 400,
    message: /invalid server name/,
  },
  {
    name: 'GET /predict/ with an encoded NUL',
    request: `/predict/web%000001`,
    status: 400,
    message: /invalid server name/,
  },
  {
    name: 'GET /predict/ with a quote',
    request: `/predict/web'0001`,
    status: 400,
    message: /invalid server name/,
  },
  {
    name: 'GET /predict/ with an HTML name',
    request: `/predict/${encodeURIComponent('<script>x')}`,
    status: 400,
    message: /invalid server name/,
  },
  {
    name: 'GET /predict/ with a 10,000-character name',
    request: `/predict/${'a'.repeat(10_000)}`,
    status: 414,
    message: /path parameter too long/,
  },
  {
    name: 'GET /predict/ with a malformed percent-encoding',
    request: '/predict/web%zz',
    status: 400,
    message: /./,
  },
  {
    name: 'GET /predict/ of an unknown server',
    request: '/predict/nobody-1',
    status: 404,
    message: /nobody-1: no recent metrics for this server/,
  },
  { name: 'a path outside the routes', request: '/../../etc/passwd', status: 404, message: /no route/ },
  {
    name: 'a DELETE on /predict',
    request: { method: 'DELETE', url: '/predict' },
    status: 404,
    message: /no route/,
  },
  {
    name: 'admin reload without a token',
    request: { method: 'POST', url: '/admin/reload-model' },
    status: 401,
    message: /missing or wrong bearer token/,
  },
  {
    name: 'admin reload with a wrong token',
    request: { method: 'POST', url: '/admin/reload-model', headers: { authorization: 'Bearer nope' } },
    status: 401,
    message: /missing or wrong bearer token/,
  },
  {
    name: 'admin reload with the token as Basic',
    request: { method: 'POST', url: '/admin/reload-model', headers: { authorization: `Basic ${ADMIN}` } },
    status: 401,
    message: /missing or wrong bearer token/,
  },
  {
    name: 'admin reload with a token prefix',
    request: {
      method: 'POST',
      url: '/admin/reload-model',
      headers: { authorization: `Bearer ${ADMIN.slice(0, -1)}` },
    },
    status: 401,
    message: /missing or wrong bearer token/,
  },
  {
    name: 'admin reload with the token plus a suffix',
    request: { method: 'POST', url: '/admin/reload-model', headers: { authorization: `Bearer ${ADMIN}x` } },
    status: 401,
    message: /missing or wrong bearer token/,
  },
  {
    name: 'admin reload with an empty bearer',
    request: { method: 'POST', url: '/admin/reload-model', headers: { authorization: 'Bearer ' } },
    status: 401,
    message: /missing or wrong bearer token/,
  },
  {
    name: 'admin reload with the token in the query',
    request: { method: 'POST', url: `/admin/reload-model?token=${ADMIN}` },
    status: 401,
    message: /missing or wrong bearer token/,
  },
  {
    name: 'admin reload with the GitHub token',
    request: { method: 'POST', url: '/admin/reload-model', headers: { authorization: `Bearer ${GITHUB}` } },
    status: 401,
    message: /missing or wrong bearer token/,
  },
];

describe('faults: http', () => {
  let registry: string;
  let service: ForecastService;
  let app: FleetcastApp;
  let noAdmin: FleetcastApp;

  before(async () => {
    registry = await tempDir('fleetcast-faults-http-');
    await makeTinyModels(join(registry, 'models'), [
      { modelId: M1, servers: fleet },
      { modelId: M2, servers: fleet, seed: 2 },
    ]);
    await deploy(registry, M1, 'first');
    service = newService(registry, () => fleet, { manifest: () => fleet.map((s) => ({ ...s })) });
    await service.start();
    app = buildApp({ service, adminToken: ADMIN, bodyLimit: 4096, maxServersPerRequest: 6 });
    noAdmin = buildApp({ service });
  });
  after(async () => {
    await app.close();
    await noAdmin.close();
    await service.close();
    await removeDir(registry);
  });

  const stillServes = async (): Promise<void> => {
    const ok = await app.inject('/predict/web-0002');
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().model_id, M1);
  };

  for (const row of rows)
    it(`http | ${row.name} → ${row.status} with a JSON error, no secret echoed, others still served`, async () => {
      const res = await app.inject(row.request);
      assert.equal(res.statusCode, row.status, res.body.slice(0, 500));
      const body = res.json() as { status_code: number; message: string };
      assert.equal(body.status_code, row.status);
      assert.match(body.message, row.message);
      assert.ok(!res.body.includes(ADMIN) && !res.body.includes(GITHUB), 'a secret in the answer');
      assert.ok(res.body.length < 5000, 'the error does not echo a huge input');
      await stillServes();
    });

  it('http | admin routes do not exist without an admin token → 404 even with a bearer', async () => {
    const res = await noAdmin.inject({
      method: 'POST',
      url: '/admin/reload-model',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assert.equal(res.statusCode, 404);
  });

  it('http | admin reload with the right token works (control) and leaks no token', async () => {
    await deploy(registry, M2, 'admin');
    const res = await app.inject({
      method: 'POST',
      url: '/admin/reload-model',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(!res.body.includes(ADMIN));
    await deploy(registry, M1, 'back');
    await service.reload('pointer');
    await stillServes();
  });

  for (const url of ['/health', '/status', '/readyz', '/livez', '/metrics', '/forecast/fleet'])
    it(`secrets | GET ${url} holds neither the admin token nor the GitHub token`, async () => {
      const res = await app.inject({ url, headers: { authorization: `Bearer ${ADMIN}` } });
      assert.ok(res.statusCode < 500, res.body.slice(0, 300));
      assert.ok(!res.body.includes(ADMIN), `${url} shows the admin token`);
      assert.ok(!res.body.includes(GITHUB), `${url} shows the GitHub token`);
    });
});
