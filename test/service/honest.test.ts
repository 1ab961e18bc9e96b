import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadModel } from '../../src/model/loaded-model.js';
import { ModelOutputError } from '../../src/model/model-load-error.js';
import { openMetricsSource } from '../../src/metrics/source.js';
import { modelDir } from '../../src/registry/layout.js';
import { deploy } from '../../src/registry/pointer.js';
import { buildApp, type FleetcastApp } from '../../src/service/http/app.js';
import { FleetForecast, ForecastBatch } from '../../src/service/serving/forecast-batch.js';
import type { ForecastService } from '../../src/service/serving/forecast-service.js';
import { HealthResponse } from '../../src/service/serving/health.js';
import { metricsWindowFetcher } from '../../src/service/serving/metrics-windows.js';
import { StatusResponse } from '../../src/service/serving/status.js';
import type { ModelLoader } from '../../src/service/serving-model.js';
import { makeTinyModels } from '../helpers/tiny-model.js';
import {
  corruptOnnx,
  fleetOf,
  newService,
  recentEnd,
  removeDir,
  syntheticFetcher,
  tempDir,
  writeMetricsParquet,
} from './fixtures.js';

// "Never serve a wrong answer while saying ok": one bad value, window or output costs one server
// its forecast (reported, with its reason, everywhere), and /health says what is true.

const M1 = 'tft-20261001T000000Z-aa0001';
const M2 = 'tft-20261101T000000Z-aa0002';
const fleet = fleetOf(6);
const manifest = (): Array<{ name: string; profile: string }> => fleet.map((s) => ({ ...s }));

async function get(app: FleetcastApp, url: string) {
  return app.inject(url);
}

describe('one bad window costs one server its forecast', () => {
  let registry: string;
  let service: ForecastService;
  let app: FleetcastApp;

  before(async () => {
    registry = await tempDir();
    await makeTinyModels(join(registry, 'models'), [
      { modelId: M1, servers: fleet },
      { modelId: M2, servers: fleet, seed: 2 },
    ]);
    await deploy(registry, M1, 'first');
    // web-0003's window holds an Inf (as a metrics source without the resampling guard would give)
    service = newService(registry, () => fleet, {
      manifest,
      windowFetcher: syntheticFetcher(() => fleet, {
        tweak: (windows) => {
          windows.get('web-0003')!.input.past[8] = Number.POSITIVE_INFINITY;
        },
      }),
    });
    assert.equal((await service.start()).result, 'success');
    app = buildApp({ service });
  });
  after(async () => {
    await app.close();
    await service.close();
    await removeDir(registry);
  });

  it('POST /predict forecasts every other server and lists the bad one as missing, with its reason', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/predict',
      payload: { servers: fleet.map((s) => s.name) },
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = ForecastBatch.parse(res.json());
    assert.deepEqual(
      body.forecasts.map((f) => f.server),
      fleet.map((s) => s.name).filter((n) => n !== 'web-0003'),
    );
    assert.equal(body.missing.length, 1);
    assert.equal(body.missing[0]!.server, 'web-0003');
    assert.match(body.missing[0]!.reason, /^invalid_window: lookback window has a non-finite mem_pct/);
    for (const f of body.forecasts) assert.ok(f.forecast.cpu_pct!.p50!.every(Number.isFinite));
  });

  it('GET /forecast/fleet is complete, the bad server with its reason', async () => {
    const res = await get(app, '/forecast/fleet');
    assert.equal(res.statusCode, 200);
    const body = FleetForecast.parse(res.json());
    assert.equal(body.servers.length, fleet.length);
    const bad = body.servers.find((s) => s.server === 'web-0003')!;
    assert.ok('reason' in bad && /invalid_window/.test(bad.reason));
    assert.deepEqual(
      body.missing.map((m) => m.server),
      ['web-0003'],
    );
  });

  it('/status lists it, /metrics counts it, /health is degraded and names it', async () => {
    const status = StatusResponse.parse((await get(app, '/status')).json());
    assert.deepEqual(
      status.forecast_failures.map((f) => [f.server, f.reason]),
      [['web-0003', 'invalid_window']],
    );
    const metrics = (await get(app, '/metrics')).body;
    assert.match(metrics, /fleetcast_forecast_failures_total\{reason="invalid_window"\} [1-9]/);
    assert.match(metrics, /fleetcast_servers_without_forecast\{reason="invalid_window"\} 1/);
    const health = HealthResponse.parse((await get(app, '/health')).json());
    assert.equal(health.status, 'degraded');
    assert.match(String(health.reason), /1 server\(s\) get no forecast: web-0003 \(invalid_window\)/);
  });

  it('a new model is not refused at warm-up because of one server’s data', async () => {
    await deploy(registry, M2, 'retrained');
    const outcome = await service.reload('pointer');
    assert.equal(outcome.result, 'success', outcome.reason);
    assert.equal(service.model?.id, M2);
  });
});

describe('serving from metrics with one Inf an hour on one server', () => {
  it('forecasts every server, streams the whole fleet and stays ok', async () => {
    const registry = await tempDir();
    const metrics = join(registry, 'metrics.parquet');
    await writeMetricsParquet(metrics, fleet, 48, { infLatencyServer: 'web-0002' });
    const service = newService(registry, () => fleet, {
      manifest,
      windowFetcher: metricsWindowFetcher(openMetricsSource(metrics)),
    });
    const app = buildApp({ service });
    try {
      await makeTinyModels(join(registry, 'models'), [{ modelId: M1, servers: fleet }]);
      await deploy(registry, M1, 'first');
      assert.equal((await service.start()).result, 'success');
      const batch = ForecastBatch.parse(
        (
          await app.inject({
            method: 'POST',
            url: '/predict',
            payload: { servers: fleet.map((s) => s.name) },
          })
        ).json(),
      );
      assert.equal(batch.forecasts.length, fleet.length);
      assert.deepEqual(batch.missing, []);
      const whole = FleetForecast.parse((await app.inject('/forecast/fleet')).json());
      assert.ok(whole.servers.every((s) => 'forecast' in s));
      const health = HealthResponse.parse((await app.inject('/health')).json());
      assert.equal(health.status, 'ok', String(health.reason));
    } finally {
      await app.close();
      await service.close();
      await removeDir(registry);
    }
  });
});

describe('warm-up and request-time checks of the model output', () => {
  const SHORT = 'tft-20261102T000000Z-bb0001';
  const NAN_UNKNOWN = 'tft-20261103T000000Z-bb0002';
  let registry: string;

  before(async () => {
    registry = await tempDir();
    await makeTinyModels(join(registry, 'models'), [
      { modelId: M1, servers: fleet },
      { modelId: SHORT, servers: fleet, output: 'no_quantile_axis' },
      { modelId: NAN_UNKNOWN, servers: fleet, nanUnknown: true },
    ]);
  });
  after(() => removeDir(registry));

  for (const thread of ['worker', 'main'] as const) {
    it(`refuses a model whose output shape is wrong, and one with NaN through the unknown slot (${thread} thread)`, async () => {
      await deploy(registry, M1, 'first');
      const service = newService(registry, () => fleet, {
        manifest,
        ...(thread === 'main' ? { loadModel: (dir, options) => loadModel(dir, options) } : {}),
      });
      try {
        assert.equal((await service.start()).result, 'success');
        for (const [id, pattern] of [
          [SHORT, /output quantiles has shape \[\d+,6,3\] \(float32\), expected \[\d+,6,3,3\]/],
          [NAN_UNKNOWN, /unknown slot \(profile (api|db|web|none)\): non-finite forecast/],
        ] as const) {
          await deploy(registry, id, 'broken');
          const outcome = await service.reload('pointer');
          assert.equal(outcome.result, 'failure', `${id} must not serve`);
          assert.match(outcome.reason ?? '', pattern);
          assert.equal(service.model?.id, M1);
          const batch = await service.predict(fleet.map((s) => s.name));
          assert.equal(batch.forecasts.length, fleet.length);
        }
      } finally {
        await service.close();
      }
    });
  }

  it('never serves a wrong-shaped model, even as the only one (worker thread)', async () => {
    await deploy(registry, SHORT, 'only one');
    const service = newService(registry, () => fleet);
    const app = buildApp({ service });
    try {
      assert.equal((await service.start()).result, 'failure');
      assert.equal((await app.inject('/predict/web-0001')).statusCode, 503);
      assert.equal((await app.inject('/health')).statusCode, 503);
    } finally {
      await app.close();
      await service.close();
    }
  });

  it('a NaN forecast for one server at request time makes only that server missing, counted', async () => {
    await deploy(registry, M1, 'back');
    let armed = false;
    const nanForOne: ModelLoader = async (dir, options) => {
      const model = await loadModel(dir, options);
      return {
        id: model.id,
        dir: model.dir,
        digest: model.digest,
        encoders: model.encoders,
        vocabulary: model.vocabulary,
        forecastEach: async (inputs) => {
          const outcomes = await model.forecastEach(inputs);
          if (!armed) return outcomes;
          const results = outcomes.results.filter((r) => r.server !== 'web-0004');
          const failures = [...outcomes.failures];
          if (results.length < outcomes.results.length)
            failures.push({
              server: 'web-0004',
              known: true,
              reason: 'non_finite_output',
              message:
                'the model returned non-finite forecast values (54 of 54) through its own embedding row',
            });
          return { results, failures };
        },
        release: () => model.release(),
      };
    };
    const service = newService(registry, () => fleet, { manifest, loadModel: nanForOne });
    const app = buildApp({ service });
    try {
      assert.equal((await service.start()).result, 'success');
      armed = true;
      const body = ForecastBatch.parse(
        (
          await app.inject({
            method: 'POST',
            url: '/predict',
            payload: { servers: fleet.map((s) => s.name) },
          })
        ).json(),
      );
      assert.equal(body.forecasts.length, fleet.length - 1);
      assert.deepEqual(body.missing, [
        {
          server: 'web-0004',
          reason:
            'non_finite_output: the model returned non-finite forecast values (54 of 54) through its own embedding row',
        },
      ]);
      assert.match(
        (await app.inject('/metrics')).body,
        /fleetcast_forecast_failures_total\{reason="non_finite_output"\} 1/,
      );
      const status = StatusResponse.parse((await app.inject('/status')).json());
      assert.deepEqual(
        status.forecast_failures.map((f) => f.server),
        ['web-0004'],
      );
      // the server recovers as soon as its forecast is good again
      armed = false;
      await app.inject('/predict/web-0004');
      assert.deepEqual(StatusResponse.parse((await app.inject('/status')).json()).forecast_failures, []);
    } finally {
      await app.close();
      await service.close();
    }
  });
});

describe('an output of the wrong shape at request time', () => {
  it('fails the request (500, saying why), serves nothing of it, counts it and degrades /health', async () => {
    const registry = await tempDir();
    let armed = false;
    const shortLater: ModelLoader = async (dir, options) => {
      const model = await loadModel(dir, options);
      return {
        id: model.id,
        dir: model.dir,
        digest: model.digest,
        encoders: model.encoders,
        vocabulary: model.vocabulary,
        forecastEach: async (inputs) => {
          if (armed)
            throw new ModelOutputError(
              `model ${model.id}: output quantiles has shape [${inputs.length},6,3] (float32), expected [${inputs.length},6,3,3]`,
            );
          return model.forecastEach(inputs);
        },
        release: () => model.release(),
      };
    };
    const service = newService(registry, () => fleet, { manifest, loadModel: shortLater });
    const app = buildApp({ service });
    try {
      await makeTinyModels(join(registry, 'models'), [{ modelId: M1, servers: fleet }]);
      await deploy(registry, M1, 'first');
      assert.equal((await service.start()).result, 'success');
      armed = true;
      const res = await app.inject({
        method: 'POST',
        url: '/predict',
        payload: { servers: ['web-0001', 'web-0002'] },
      });
      assert.equal(res.statusCode, 500);
      assert.match(res.json().message, /output quantiles has shape \[2,6,3\]/);
      assert.match(
        (await app.inject('/metrics')).body,
        /fleetcast_forecast_failures_total\{reason="output_shape"\} 2/,
      );
      const status = StatusResponse.parse((await app.inject('/status')).json());
      assert.deepEqual(
        status.forecast_failures.map((f) => [f.server, f.reason]),
        [
          ['web-0001', 'output_shape'],
          ['web-0002', 'output_shape'],
        ],
      );
      const health = HealthResponse.parse((await app.inject('/health')).json());
      assert.equal(health.status, 'degraded');
      assert.match(String(health.reason), new RegExp(`model ${M1} returned an unusable output`));
    } finally {
      await app.close();
      await service.close();
      await removeDir(registry);
    }
  });
});

describe('honest /health', () => {
  let registry: string;

  before(async () => {
    registry = await tempDir();
    await makeTinyModels(join(registry, 'models'), [
      { modelId: M1, servers: fleet },
      { modelId: M2, servers: fleet, seed: 2 },
    ]);
  });
  after(() => removeDir(registry));

  it('is degraded when an expected server’s data is stale, and the forecast says so', async () => {
    await deploy(registry, M1, 'stale test');
    const service = newService(registry, () => fleet, {
      manifest,
      windowFetcher: syntheticFetcher(() => fleet, { ends: { 'web-0005': recentEnd() - 10 * 3600 } }),
    });
    const app = buildApp({ service });
    try {
      assert.equal((await service.start()).result, 'success');
      const health = HealthResponse.parse((await app.inject('/health')).json());
      assert.equal(health.status, 'degraded');
      assert.equal(health.stale?.after_seconds, 7200);
      assert.deepEqual(health.stale?.servers, ['web-0005']);
      assert.match(String(health.reason), /1 expected server\(s\) have stale data .*web-0005/);
      const body = ForecastBatch.parse(
        (
          await app.inject({
            method: 'POST',
            url: '/predict',
            payload: { servers: ['web-0005', 'web-0001'] },
          })
        ).json(),
      );
      const [stale, fresh] = body.forecasts;
      assert.equal(stale!.stale, true);
      assert.equal(stale!.data_time, new Date((recentEnd() - 10 * 3600) * 1000).toISOString());
      assert.equal(fresh!.stale, false);
      const status = StatusResponse.parse((await app.inject('/status')).json());
      assert.deepEqual(status.stale_servers, ['web-0005']);
    } finally {
      await app.close();
      await service.close();
    }
  });

  it('is degraded when coverage is below 100 %: a manifest server without data', async () => {
    await deploy(registry, M1, 'coverage test');
    const service = newService(registry, () => fleet.slice(1), { manifest });
    try {
      assert.equal((await service.start()).result, 'success');
      const app = buildApp({ service });
      const health = HealthResponse.parse((await app.inject('/health')).json());
      await app.close();
      assert.equal(health.status, 'degraded');
      assert.match(
        String(health.reason),
        /coverage 83\.33 % \(5\/6\): 1 expected server\(s\) without recent metrics: web-0001/,
      );
    } finally {
      await service.close();
    }
  });

  it('is degraded when the serving model’s directory is deleted from the registry', async () => {
    const copy = await tempDir();
    try {
      await makeTinyModels(join(copy, 'models'), [{ modelId: M1, servers: fleet }]);
      await deploy(copy, M1, 'to be deleted');
      const service = newService(copy, () => fleet, { manifest });
      try {
        assert.equal((await service.start()).result, 'success');
        assert.equal(HealthResponse.parse(await healthOf(service)).status, 'ok');
        await rm(modelDir(copy, M1), { recursive: true, force: true });
        const health = HealthResponse.parse(await healthOf(service));
        assert.equal(health.status, 'degraded');
        assert.equal(health.model_in_registry, false);
        assert.match(String(health.reason), new RegExp(`model ${M1} is no longer in the registry`));
      } finally {
        await service.close();
      }
    } finally {
      await removeDir(copy);
    }
  });

  it('reports a failing git sync', async () => {
    await deploy(registry, M1, 'git test');
    const service = newService(registry, () => fleet, { manifest });
    try {
      assert.equal((await service.start()).result, 'success');
      let sync = {
        branch: 'main',
        head: 'abc123',
        lastSyncAt: new Date().toISOString(),
        lastError: null,
      } as {
        branch: string;
        head: string | null;
        lastSyncAt: string | null;
        lastError: { at: string; message: string } | null;
      };
      service.followGit(() => sync);
      assert.equal(HealthResponse.parse(await healthOf(service)).status, 'ok');
      sync = {
        ...sync,
        lastError: {
          at: new Date().toISOString(),
          message: `git fetch timed out after 20s in ${registry}/clone`,
        },
      };
      const health = HealthResponse.parse(await healthOf(service));
      assert.equal(health.status, 'degraded');
      assert.match(String(health.reason), /git sync failing since .*: git fetch timed out after 20s/);
      assert.equal(health.git?.last_error?.message.includes(registry), false, 'no absolute path');
    } finally {
      await service.close();
    }
  });

  it('/livez answers while no model serves, /readyz only once one does', async () => {
    const empty = await tempDir();
    const service = newService(empty, () => fleet);
    const app = buildApp({ service });
    try {
      await service.start();
      assert.equal((await app.inject('/livez')).statusCode, 200);
      const notReady = await app.inject('/readyz');
      assert.equal(notReady.statusCode, 503);
      assert.match(notReady.json().reason, /no model deployed/);
      await makeTinyModels(join(empty, 'models'), [{ modelId: M1, servers: fleet }]);
      await deploy(empty, M1, 'now ready');
      assert.equal((await service.reload('pointer')).result, 'success');
      const ready = await app.inject('/readyz');
      assert.equal(ready.statusCode, 200);
      assert.equal(ready.json().model_id, M1);
    } finally {
      await app.close();
      await service.close();
      await removeDir(empty);
    }
  });

  it('503 bodies and /health do not expose absolute paths; gauges are absent, not 0, without a model', async () => {
    const broken = await tempDir();
    const service = newService(broken, () => fleet);
    const app = buildApp({ service });
    try {
      await makeTinyModels(join(broken, 'models'), [{ modelId: M1, servers: fleet }]);
      await corruptOnnx(modelDir(broken, M1));
      const { writePointer } = await import('../../src/registry/pointer.js');
      const { sha256Text } = await import('../../src/registry/checksums.js');
      const { readFile } = await import('node:fs/promises');
      await writePointer(broken, {
        format_version: 1,
        model_id: M1,
        sha256: sha256Text(await readFile(join(modelDir(broken, M1), 'SHA256SUMS'))),
        deployed_at: new Date().toISOString(),
        previous_model_id: null,
        reason: 'corrupt',
      });
      assert.equal((await service.start()).result, 'failure');
      for (const url of ['/health', '/predict/web-0001', '/forecast/fleet', '/readyz', '/status']) {
        const res = await app.inject(url);
        assert.ok(!res.body.includes(broken), `${url} exposes ${broken}: ${res.body}`);
        assert.doesNotMatch(res.body, /"\/|\s\/(tmp|home|var|work)\//, `${url}: ${res.body}`);
      }
      assert.match((await app.inject('/predict/web-0001')).json().message, /onnxruntime cannot load it/);
      const metrics = (await app.inject('/metrics')).body;
      for (const name of [
        'fleetcast_model_age_seconds',
        'fleetcast_prediction_coverage_pct',
        'fleetcast_unknown_prediction_rate_pct',
      ])
        assert.doesNotMatch(metrics, new RegExp(`^${name} `, 'm'), `${name} must be absent without a model`);
      assert.match(metrics, /^fleetcast_health_degraded 1$/m);
    } finally {
      await app.close();
      await service.close();
      await removeDir(broken);
    }
  });

  it('logs what is true when nothing is deployed: no model is serving', async () => {
    const empty = await tempDir();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const service = newService(empty, () => fleet, { logger });
    try {
      await service.start();
      const text = lines.join('');
      assert.doesNotMatch(text, /previous model keeps serving/);
      assert.match(text, /no model is serving/);
    } finally {
      await service.close();
      await removeDir(empty);
    }
  });
});

describe('server names from the metrics are validated', () => {
  it('skips and counts an invalid (1 MB) name: /status stays small', async () => {
    const registry = await tempDir();
    const metrics = join(registry, 'metrics.parquet');
    const huge = `x${'a'.repeat(1024 * 1024)}`;
    await writeMetricsParquet(metrics, fleet, 48, { oddNames: [huge, '../etc'] });
    const service = newService(registry, () => fleet, {
      manifest,
      windowFetcher: metricsWindowFetcher(openMetricsSource(metrics)),
    });
    const app = buildApp({ service });
    try {
      await makeTinyModels(join(registry, 'models'), [{ modelId: M1, servers: fleet }]);
      await deploy(registry, M1, 'first');
      assert.equal((await service.start()).result, 'success');
      const fleetRes = await app.inject('/forecast/fleet');
      assert.ok(fleetRes.body.length < 200_000, `/forecast/fleet is ${fleetRes.body.length} bytes`);
      assert.equal(FleetForecast.parse(fleetRes.json()).servers.length, fleet.length);
      const res = await app.inject('/status');
      assert.ok(res.body.length < 20_000, `/status is ${res.body.length} bytes`);
      const status = StatusResponse.parse(res.json());
      assert.equal(status.invalid_server_names.count, 2);
      assert.ok(status.invalid_server_names.examples.every((e) => e.length < 200));
      assert.match((await app.inject('/metrics')).body, /^fleetcast_invalid_server_names 2$/m);
    } finally {
      await app.close();
      await service.close();
      await removeDir(registry);
    }
  });
});

describe('unknown-prediction rate', () => {
  const trained = fleetOf(8);
  const live = [...trained, { name: 'new-0001', profile: 'web' }, { name: 'new-0002', profile: 'db' }];
  let registry: string;

  before(async () => {
    registry = await tempDir();
    await makeTinyModels(join(registry, 'models'), [
      { modelId: M1, servers: trained },
      { modelId: M2, servers: trained, seed: 2 },
    ]);
  });
  after(() => removeDir(registry));

  it('counts each server once per forecast cycle, leaves pending servers out, and resets on a swap', async () => {
    await deploy(registry, M1, 'rate test');
    const service = newService(registry, () => live, {
      manifest: () => trained.map((s) => ({ ...s })),
      windowFetcher: syntheticFetcher(() => live, {
        pending: new Map([['new-0002', '2.0 days of history (needs 7)']]),
      }),
    });
    const app = buildApp({ service });
    const rate = async () => StatusResponse.parse((await app.inject('/status')).json());
    try {
      assert.equal((await service.start()).result, 'success');
      for (let i = 0; i < 5; i++) {
        // five loads of the fleet forecast and of the dashboard's table and detail views
        await app.inject('/forecast/fleet');
        assert.equal((await app.inject('/dashboard/fleet')).statusCode, 200);
        assert.equal((await app.inject('/dashboard/servers/new-0001')).statusCode, 200);
      }
      await app.inject({ method: 'POST', url: '/predict', payload: { servers: ['new-0001', 'web-0001'] } });
      let status = await rate();
      assert.deepEqual(
        [
          status.unknown_predictions.unknown,
          status.unknown_predictions.total,
          status.unknown_predictions.pending,
        ],
        [1, 9, 1],
      );
      assert.equal(status.unknown_predictions.rate_pct, 11.11);
      assert.deepEqual(status.unknown_servers, ['new-0001']);
      assert.deepEqual(status.pending_servers, ['new-0002']);
      await service.refresh(); // the next cycle: every server counts once more
      await app.inject('/forecast/fleet');
      await app.inject('/forecast/fleet');
      status = await rate();
      assert.deepEqual([status.unknown_predictions.unknown, status.unknown_predictions.total], [2, 18]);
      await deploy(registry, M2, 'swap resets the rate');
      assert.equal((await service.reload('pointer')).result, 'success');
      status = await rate();
      assert.deepEqual([status.unknown_predictions.unknown, status.unknown_predictions.total], [0, 0]);
    } finally {
      await app.close();
      await service.close();
    }
  });
});

async function healthOf(service: ForecastService): Promise<unknown> {
  const app = buildApp({ service });
  try {
    return (await app.inject('/health')).json();
  } finally {
    await app.close();
  }
}
