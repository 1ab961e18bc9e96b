import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { WindowShape } from '../../src/features/windows.js';
import { deploy } from '../../src/registry/pointer.js';
import { buildApp, type FleetcastApp } from '../../src/service/http/app.js';
import { DashboardAccuracy, DashboardFleet, ServerDetail } from '../../src/service/http/dashboard-data.js';
import { ErrorResponse } from '../../src/service/http/errors.js';
import type { ForecastService } from '../../src/service/serving/forecast-service.js';
import type { WindowFetcher } from '../../src/service/serving/window-cache.js';
import { makeTinyModels } from '../helpers/tiny-model.js';
import { fleetOf, newService, recentEnd, removeDir, syntheticWindows, tempDir } from './fixtures.js';

const M1 = 'tft-20261001T000000Z-a1a1a1';
const M2 = 'tft-20261101T000000Z-b2b2b2';
const trained = fleetOf(8);
const live = [...trained, { name: 'new-0001', profile: 'api' }];

describe('dashboard data routes', () => {
  let registry: string;
  let stateDir: string;
  let service: ForecastService;
  let app: FleetcastApp;
  let end = recentEnd();
  let clock = new Date(end * 1000 + 60_000);
  const fetcher: WindowFetcher = async (shape: WindowShape) => ({
    windows: syntheticWindows(live, shape, end),
    newestData: new Date(end * 1000),
  });

  before(async () => {
    registry = await tempDir();
    stateDir = await tempDir();
    await makeTinyModels(join(registry, 'models'), [
      { modelId: M1, servers: trained },
      { modelId: M2, servers: trained, seed: 3 },
    ]);
    await deploy(registry, M2, 'first');
    service = newService(registry, () => live, {
      windowFetcher: fetcher,
      manifest: () => trained.map((s) => ({ ...s })),
      stateDir,
      stateSaveIntervalMs: 0,
      now: () => clock,
    });
    await service.start();
    app = buildApp({ service });
  });
  after(async () => {
    await app.close();
    await service.close();
    await removeDir(registry);
    await removeDir(stateDir);
  });

  it('GET /dashboard/fleet: one compact row per server, per target, gzip when asked', async () => {
    const plain = await app.inject('/dashboard/fleet');
    assert.equal(plain.statusCode, 200);
    assert.equal(plain.headers['content-encoding'], undefined);
    const doc = DashboardFleet.parse(plain.json());
    assert.equal(doc.model_id, M2);
    assert.equal(doc.rows.length, live.length);
    assert.deepEqual(doc.columns.slice(0, 3), ['server', 'profile', 'known']);
    const unknown = doc.rows.find((r) => r[0] === 'new-0001')!;
    assert.equal(unknown[2], 0, 'unknown');
    assert.equal(unknown[3], 0, 'not in the manifest');
    assert.equal(doc.profiles[unknown[1]!], 'api');
    const known = doc.rows.find((r) => r[0] === 'web-0001')!;
    assert.equal(known[2], 1);
    assert.equal(known[6], end, 'data time: where the data ends');
    assert.equal(known[8]!.length, doc.horizon_steps);
    for (const v of known[8]!) assert.equal(v, Number(v.toPrecision(3)), 'rounded to 3 digits');
    assert.deepEqual(
      doc.targets.find((t) => t.name === 'cpu_pct'),
      { name: 'cpu_pct', unit: '%' },
    );

    const zipped = await app.inject({ url: '/dashboard/fleet', headers: { 'accept-encoding': 'gzip, br' } });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.deepEqual(JSON.parse(gunzipSync(zipped.rawPayload).toString('utf8')), plain.json());
    assert.ok(zipped.rawPayload.length < plain.rawPayload.length);

    const other = DashboardFleet.parse(
      (await app.inject(`/dashboard/fleet?target=${doc.targets[1]!.name}`)).json(),
    );
    assert.equal(other.target, doc.targets[1]!.name);
    assert.notDeepEqual(other.rows[0]![8], doc.rows[0]![8]);
  });

  it('GET /dashboard/fleet rejects an unknown or malformed target and unknown parameters', async () => {
    for (const [url, message] of [
      [
        '/dashboard/fleet?target=disk_free',
        /querystring\.target: this model forecasts .*cpu_pct.*not "disk_free"/,
      ],
      [
        '/dashboard/fleet?target=CPU%3Bdrop',
        /querystring\.target: a target is a lowercase snake_case column name/,
      ],
      ['/dashboard/fleet?page=2', /querystring: Unrecognized key/i],
    ] as const) {
      const res = await app.inject(url);
      assert.equal(res.statusCode, 400, url);
      assert.match(ErrorResponse.parse(res.json()).message, message, url);
    }
  });

  it('GET /dashboard/servers/:server: actuals and the forecast band on one time axis, units, swaps', async () => {
    const res = await app.inject('/dashboard/servers/web-0002');
    assert.equal(res.statusCode, 200);
    const detail = ServerDetail.parse(res.json());
    assert.equal(detail.server, 'web-0002');
    assert.equal(detail.known, true);
    assert.equal(detail.in_manifest, true);
    const cpu = detail.targets.find((t) => t.name === 'cpu_pct')!;
    assert.equal(cpu.unit, '%');
    const actualEnd =
      Date.parse(cpu.actuals!.start) / 1000 + cpu.actuals!.values.length * detail.step_seconds;
    assert.equal(
      actualEnd,
      Date.parse(cpu.forecast!.start) / 1000,
      'the forecast starts where the actuals end',
    );
    assert.deepEqual(Object.keys(cpu.forecast!.quantiles).sort(), ['p10', 'p50', 'p90']);
    assert.ok(cpu.actuals!.values.every((v) => typeof v === 'number'));
    assert.deepEqual(
      detail.swaps.map((s) => [s.from, s.to, s.kind]),
      [[null, M2, 'deploy']],
    );
  });

  it('GET /dashboard/servers/:server: 400 for a bad name, 404 for a server outside the fleet', async () => {
    const bad = await app.inject('/dashboard/servers/..%2Fetc');
    assert.equal(bad.statusCode, 400);
    assert.match(ErrorResponse.parse(bad.json()).message, /^params\.server: invalid server name "\.\.\/etc"/);
    const script = await app.inject('/dashboard/servers/%3Cscript%3E');
    assert.equal(script.statusCode, 400);
    assert.match(String(script.headers['content-type']), /^application\/json/, 'JSON, never markup');
    assert.match(ErrorResponse.parse(script.json()).message, /server name contains "<"/);
    const missing = await app.inject('/dashboard/servers/web-9999');
    assert.equal(missing.statusCode, 404);
    assert.equal(
      ErrorResponse.parse(missing.json()).message,
      'web-9999: not in the fleet (not in the manifest, and no recent metrics)',
    );
  });

  it('live q-risk per server, the accuracy history per model and a rollback marker', async () => {
    end += 6 * 3600; // six more hours of actuals: the forecast served above is scored
    clock = new Date(end * 1000 + 60_000);
    const previous = DashboardFleet.parse((await app.inject('/dashboard/fleet')).json());
    await service.refresh();
    // a new cycle: the previous cycle's table is answered at once while the new one is built
    const first = DashboardFleet.parse((await app.inject('/dashboard/fleet')).json());
    assert.equal(first.generated_at, previous.generated_at);
    let fleet = first;
    for (let i = 0; i < 200 && fleet.generated_at === previous.generated_at; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      fleet = DashboardFleet.parse((await app.inject('/dashboard/fleet')).json());
    }
    assert.notEqual(fleet.generated_at, previous.generated_at, 'the new cycle table replaced it');
    const row = fleet.rows.find((r) => r[0] === 'web-0001')!;
    assert.ok(typeof row[7] === 'number' && row[7] >= 0, `live q-risk ${row[7]}`);
    const history = DashboardAccuracy.parse((await app.inject('/dashboard/live-accuracy')).json());
    assert.equal(history.serving_model, M2);
    assert.equal(history.models[0]!.model, M2);
    const [t, points, values] = history.models[0]!.samples[0]!;
    assert.equal(t, Math.floor(clock.getTime() / 1000));
    assert.ok(points > 0);
    assert.ok(values.every((v) => v !== null && v >= 0));
    assert.deepEqual(history.problems, []);

    await deploy(registry, M1, 'revert to the older model');
    assert.equal((await service.reload('pointer')).result, 'success');
    // a dashboard was viewed: the new model's table is built without a request (its forecasts
    // are then served, so live accuracy keeps them)
    for (let i = 0; i < 100 && service.live.servedForecasts(M1, 'web-0001').length === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(service.live.servedForecasts(M1, 'web-0001').length, 1, 'built ahead of the next view');
    const rolledBack = DashboardFleet.parse((await app.inject('/dashboard/fleet')).json());
    assert.equal(rolledBack.model_id, M1);
    const after = DashboardAccuracy.parse((await app.inject('/dashboard/live-accuracy')).json());
    assert.deepEqual(
      after.swaps.map((s) => [s.from, s.to, s.kind]),
      [
        [null, M2, 'deploy'],
        [M2, M1, 'rollback'],
      ],
    );
  });
});

describe('dashboard data routes without a model', () => {
  it('answer 503 with why', async () => {
    const empty = await tempDir();
    const service = newService(empty, () => trained);
    await service.start();
    const app = buildApp({ service });
    try {
      for (const url of ['/dashboard/fleet', '/dashboard/servers/web-0001']) {
        const res = await app.inject(url);
        assert.equal(res.statusCode, 503, url);
        assert.match(ErrorResponse.parse(res.json()).message, /no model deployed/, url);
      }
      const history = DashboardAccuracy.parse((await app.inject('/dashboard/live-accuracy')).json());
      assert.equal(history.serving_model, null);
      assert.deepEqual(history.models, []);
    } finally {
      await app.close();
      await service.close();
      await removeDir(empty);
    }
  });
});
