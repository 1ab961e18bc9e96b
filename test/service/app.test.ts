import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deploy } from '../../src/registry/pointer.js';
import { buildApp, type FleetcastApp } from '../../src/service/http/app.js';
import { bearerMatches } from '../../src/service/http/auth.js';
import { ErrorResponse } from '../../src/service/http/errors.js';
import { FleetForecast, ForecastBatch, SingleForecast } from '../../src/service/serving/forecast-batch.js';
import type { ForecastService } from '../../src/service/serving/forecast-service.js';
import { HealthResponse, ReloadResponse } from '../../src/service/serving/health.js';
import { StatusResponse } from '../../src/service/serving/status.js';
import { makeTinyModels } from '../helpers/tiny-model.js';
import { fleetOf, newService, removeDir, tempDir } from './fixtures.js';

const M1 = 'tft-20261001T000000Z-0a0a0a';
const M2 = 'tft-20261101T000000Z-0b0b0b';
const TOKEN = 'correct-horse-battery-staple-42';
const trained = fleetOf(8);
/** The live fleet: the trained servers plus two new ones the model has never seen. */
const live = [...trained, { name: 'new-0001', profile: 'web' }, { name: 'new-0002', profile: 'db' }];

describe('HTTP app (inject)', () => {
  let registry: string;
  let service: ForecastService;
  let app: FleetcastApp;
  let noAdmin: FleetcastApp;

  before(async () => {
    registry = await tempDir();
    await makeTinyModels(join(registry, 'models'), [
      { modelId: M1, servers: trained },
      { modelId: M2, servers: trained, seed: 3 },
    ]);
    await deploy(registry, M1, 'first');
    service = newService(registry, () => live, { manifest: () => trained.map((s) => ({ ...s })) });
    await service.start();
    app = buildApp({ service, adminToken: TOKEN, bodyLimit: 4096 });
    noAdmin = buildApp({ service });
  });
  after(async () => {
    await app.close();
    await noAdmin.close();
    await service.close();
    await removeDir(registry);
  });

  it('POST /predict returns quantile forecasts per target with model id and known flags', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/predict',
      payload: { servers: ['web-0001', 'new-0002', 'gone-9'] },
    });
    assert.equal(res.statusCode, 200);
    const body = ForecastBatch.parse(res.json());
    assert.equal(body.model_id, M1);
    assert.deepEqual(body.targets, ['cpu_pct', 'mem_pct', 'latency_ms']);
    assert.equal(body.forecasts.length, 2);
    const [known, unknown] = body.forecasts;
    assert.equal(known!.known, true);
    assert.equal(unknown!.known, false);
    assert.equal(unknown!.profile, 'db');
    const cpu = known!.forecast.cpu_pct!;
    assert.equal(cpu.p10!.length, 6);
    for (let h = 0; h < 6; h++) assert.ok(cpu.p10![h]! <= cpu.p90![h]!);
    assert.deepEqual(body.missing, [{ server: 'gone-9', reason: 'no recent metrics for this server' }]);
  });

  it('GET /predict/:server returns one forecast beside the batch fields, 404 without data, 400 for a bad name', async () => {
    const ok = await app.inject('/predict/web-0003');
    assert.equal(ok.statusCode, 200);
    const one = SingleForecast.parse(ok.json());
    assert.equal(one.server, 'web-0003');
    assert.equal(one.model_id, M1);
    assert.equal(one.forecast.cpu_pct!.p50!.length, one.horizon_steps);
    const none = await app.inject('/predict/nobody-1');
    assert.equal(none.statusCode, 404);
    assert.deepEqual(ErrorResponse.parse(none.json()), {
      status_code: 404,
      error: 'Not Found',
      message: 'nobody-1: no recent metrics for this server',
    });
    const bad = await app.inject(`/predict/${encodeURIComponent('<script>x')}`);
    assert.equal(bad.statusCode, 400);
    assert.match(ErrorResponse.parse(bad.json()).message, /invalid server name/);
  });

  it('rejects malformed bodies with 400 and a message, oversized ones with 413', async () => {
    const cases: Array<[string, RegExp]> = [
      ['{"servers": [', /JSON/i],
      ['{"servers": []}', /at least one server/],
      ['{"servers": "web-0001"}', /servers/],
      ['{"servers": ["web-0001"], "extra": 1}', /extra/],
      ['{"servers": ["../../etc/passwd"]}', /servers\[0\]: invalid server name/],
      ['[1,2]', /body/],
    ];
    for (const [payload, pattern] of cases) {
      const res = await app.inject({
        method: 'POST',
        url: '/predict',
        payload,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.statusCode, 400, payload);
      assert.match(ErrorResponse.parse(res.json()).message, pattern, payload);
    }
    const big = JSON.stringify({ servers: Array.from({ length: 1000 }, (_, i) => `web-${i}`) });
    const res = await app.inject({
      method: 'POST',
      url: '/predict',
      payload: big,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.statusCode, 413);
  });

  it('GET /forecast/fleet covers every fleet server with coverage', async () => {
    const res = await app.inject('/forecast/fleet');
    assert.equal(res.statusCode, 200);
    const body = FleetForecast.parse(res.json());
    assert.equal(body.servers.length, live.length);
    assert.equal(body.coverage.expected, trained.length);
    assert.equal(body.coverage.coverage_pct, 100);
    const fresh = body.servers.find((s) => s.server === 'new-0001');
    assert.equal(fresh?.known, false);
    assert.equal(fresh?.in_manifest, false);
  });

  it('GET /status exposes drift, unknown_predictions with levels, coverage and model age', async () => {
    const body = StatusResponse.parse((await app.inject('/status')).json());
    assert.equal(body.model?.id, M1);
    assert.ok(body.model!.age_days > 0);
    assert.equal(body.drift?.drift_pct, 0);
    const up = body.unknown_predictions;
    assert.deepEqual(Object.keys(up).sort(), [
      'level',
      'pending',
      'rate_pct',
      'total',
      'unknown',
      'window_seconds',
    ]);
    assert.ok(up.total > 0 && up.unknown > 0);
    assert.equal(up.window_seconds, 3600);
    assert.equal(up.rate_pct, Math.round((up.unknown / up.total) * 10000) / 100);
    assert.equal(up.level, up.rate_pct > 15 ? 'critical' : up.rate_pct >= 5 ? 'warning' : 'acceptable');
    assert.equal(body.coverage?.coverage_pct, 100);
  });

  it('GET /health is ok with model id and age, every field snake_case', async () => {
    const res = await app.inject('/health');
    assert.equal(res.statusCode, 200);
    const body = HealthResponse.parse(res.json());
    assert.equal(body.status, 'ok');
    assert.equal(body.model_id, M1);
    assert.equal(body.reason, null);
    assert.equal(body.last_reload?.active_model_id, M1);
    assert.equal(typeof body.last_swap?.duration_ms, 'number');
    const keys = (value: unknown): string[] =>
      value === null || typeof value !== 'object'
        ? []
        : Object.entries(value).flatMap(([key, inner]) => [key, ...keys(inner)]);
    for (const key of keys(res.json())) assert.match(key, /^[a-z0-9_]+$/, key);
  });

  it('GET /metrics exposes the service metrics in Prometheus format', async () => {
    await app.inject('/predict/web-0001');
    const res = await app.inject('/metrics');
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /text\/plain/);
    for (const name of [
      'fleetcast_http_request_duration_seconds_bucket',
      'fleetcast_predictions_total{known="true"}',
      'fleetcast_predictions_total{known="false"}',
      'fleetcast_unknown_prediction_rate_pct',
      'fleetcast_prediction_coverage_pct 100',
      'fleetcast_model_age_seconds',
      'fleetcast_model_swaps_total{result="success"}',
      `fleetcast_model_info{model_id="${M1}"} 1`,
    ]) {
      assert.ok(res.body.includes(name), `missing ${name}`);
    }
    assert.match(res.body, /route="\/predict\/:server"/);
  });

  it('admin routes: 401 without or with a wrong token, reload with the right one', async () => {
    assert.equal((await app.inject({ method: 'POST', url: '/admin/reload-model' })).statusCode, 401);
    const wrong = await app.inject({
      method: 'POST',
      url: '/admin/reload-model',
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.headers['www-authenticate'], 'Bearer realm="fleetcast-admin"');
    const basic = await app.inject({
      method: 'POST',
      url: '/admin/reload-model',
      headers: { authorization: `Basic ${TOKEN}` },
    });
    assert.equal(basic.statusCode, 401);
    await deploy(registry, M2, 'admin reload test');
    const ok = await app.inject({
      method: 'POST',
      url: '/admin/reload-model',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(ok.statusCode, 200);
    const reloaded = ReloadResponse.parse(ok.json());
    assert.equal(reloaded.result, 'success');
    assert.equal(reloaded.active_model_id, M2);
    assert.equal(reloaded.health.model_id, M2);
    assert.equal((await app.inject('/health')).json().model_id, M2);
  });

  it('admin routes do not exist without a token', async () => {
    const res = await noAdmin.inject({
      method: 'POST',
      url: '/admin/reload-model',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(res.statusCode, 404);
  });

  it('serves the dashboard and its modules from the package, with a CSP', async () => {
    const page = await app.inject('/');
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    assert.match(page.headers['content-security-policy'] as string, /default-src 'self'/);
    assert.match(page.body, /<script type="module" src="\/assets\/dashboard\.js">/);
    assert.doesNotMatch(page.body, /https?:\/\//);
    for (const module of ['dashboard.js', 'fleet-table.js', 'charts.js']) {
      const lib = await app.inject(`/assets/${module}`);
      assert.equal(lib.statusCode, 200, module);
      assert.match(lib.headers['content-type'] as string, /^text\/javascript/, module);
      assert.doesNotMatch(
        lib.body,
        /innerHTML|outerHTML|insertAdjacentHTML|https?:\/\/(?!www\.w3\.org)/,
        module,
      );
    }
    assert.equal((await app.inject('/assets/../package.json')).statusCode, 404);
  });
});

describe('bearerMatches', () => {
  it('accepts only "Bearer <token>" with the exact token', () => {
    assert.equal(bearerMatches(`Bearer ${TOKEN}`, TOKEN), true);
    assert.equal(bearerMatches(`bearer ${TOKEN}`, TOKEN), true);
    assert.equal(bearerMatches(`Bearer ${TOKEN}x`, TOKEN), false);
    assert.equal(bearerMatches(TOKEN, TOKEN), false);
    assert.equal(bearerMatches(undefined, TOKEN), false);
    assert.equal(bearerMatches('Bearer ', TOKEN), false);
  });
});
