import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  clearCandidate,
  deploy,
  readPointer,
  setCandidate,
  withCandidate,
  writePointer,
} from '../../src/registry/pointer.js';
import { buildApp } from '../../src/service/http/app.js';
import { DashboardAccuracy } from '../../src/service/http/dashboard-data.js';
import { servedByCandidate, serverBucket } from '../../src/service/serving/candidate-route.js';
import type { ForecastService } from '../../src/service/serving/forecast-service.js';
import { statusResponse } from '../../src/service/serving/status.js';
import type { WindowFetcher } from '../../src/service/serving/window-cache.js';
import { makeTinyModels, tinyModelId } from '../helpers/tiny-model.js';
import { fleetOf, newService, recentEnd, removeDir, syntheticWindows, tempDir } from './fixtures.js';

const servers = fleetOf(200);
const HOUR = 3600;

/** Synthetic windows whose end the test moves forward, so served forecasts meet their actuals. */
function movingFetcher(clock: { end: number }): WindowFetcher {
  return async (shape) => ({
    windows: syntheticWindows(servers, shape, clock.end),
    newestData: new Date(clock.end * 1000),
  });
}

describe('a candidate model beside the serving one (two real ONNX models)', () => {
  let registry: string;
  let service: ForecastService;
  let serving: string;
  let candidate: string;
  const clock = { end: recentEnd() - 24 * HOUR };

  before(async () => {
    registry = await tempDir('fleetcast-candidate-svc-');
    serving = tinyModelId();
    candidate = tinyModelId();
    await makeTinyModels(join(registry, 'models'), [
      { modelId: serving, servers, seed: 1 },
      { modelId: candidate, servers, seed: 7 },
    ]);
    await deploy(registry, serving, 'first');
    service = newService(registry, () => servers, {
      windowFetcher: movingFetcher(clock),
      staleAfterMs: 365 * 86_400_000,
    });
    await service.start();
  });
  after(async () => {
    await service.close();
    await removeDir(registry);
  });

  it('in shadow mode forecasts every cycle but never serves', async () => {
    const without = await service.fleetForecast();
    await setCandidate(registry, { modelId: candidate, mode: 'shadow' });
    await service.reload('pointer');
    await service.candidate.settled();
    const status = statusResponse(service).candidate;
    assert.equal(status?.state, 'active', status?.error ?? '');
    assert.equal(status.mode, 'shadow');
    assert.equal(status.share, null);
    const cyclesAtLoad = status.cycles;
    assert.ok(cyclesAtLoad >= 1, 'the candidate forecast the fleet once loaded');

    const withShadow = await service.fleetForecast();
    assert.equal(withShadow.model_id, serving);
    assert.deepEqual(
      withShadow.servers.map((s) => ('forecast' in s ? s.forecast : s.reason)),
      without.servers.map((s) => ('forecast' in s ? s.forecast : s.reason)),
      'every served forecast is the serving model’s',
    );
    assert.ok(withShadow.servers.every((s) => !('model_id' in s)));
    const batch = await service.predict(servers.slice(0, 20).map((s) => s.name));
    assert.equal(batch.model_id, serving);
    assert.ok(batch.forecasts.every((f) => f.model_id === undefined));

    await service.refresh();
    assert.equal(
      statusResponse(service).candidate?.cycles,
      cyclesAtLoad + 1,
      'one more cycle per window load',
    );
    assert.ok(
      service.live.summary().some((m) => m.model === candidate),
      'the candidate is in live accuracy under its own id',
    );
  });

  it('scores both models on the same points as actuals arrive', async () => {
    clock.end += 6 * HOUR; // the tiny models' horizon: every kept forecast step now has its actual
    await service.refresh();
    const comparison = statusResponse(service).candidate?.comparison;
    assert.ok(comparison);
    assert.equal(comparison.serving_model_id, serving);
    assert.equal(comparison.incomparable, null);
    // 5 of the 6 steps: the newest bucket may still be filling, so live accuracy leaves it for later
    assert.equal(comparison.shared_points, servers.length * 5);
    assert.deepEqual(
      comparison.models.map((m) => m.scored_points),
      [servers.length * 5, servers.length * 5],
    );
    assert.ok(comparison.live_hours >= 6, `live hours ${comparison.live_hours}`);
    for (const q of [comparison.q_risk.p50, comparison.q_risk.p90]) {
      assert.ok(q.candidate !== null && q.candidate > 0);
      assert.ok(q.serving !== null && q.serving > 0);
      assert.notEqual(q.candidate, q.serving, 'two different models');
    }
    // /metrics: the candidate under its own model label, the same metric names as the serving model
    const text = await service.metrics.registry.metrics();
    assert.match(text, new RegExp(`fleetcast_live_scored_points\\{model="${candidate}"\\} [1-9]`));
    assert.match(
      text,
      new RegExp(`fleetcast_live_qrisk\\{model="${candidate}",target="[^"]+",quantile="0\\.5"\\}`),
    );
    // the dashboard's live q-risk chart names the candidate beside the serving model
    const accuracy = DashboardAccuracy.parse(
      (await buildApp({ service }).inject('/dashboard/live-accuracy')).json(),
    );
    assert.equal(accuracy.serving_model, serving);
    assert.deepEqual(accuracy.candidate, { model_id: candidate, mode: 'shadow' });
  });

  it('in A/B mode serves a stable share of servers by the sha256 bucket of their name', async () => {
    const shadowForecast = await service.fleetForecast();
    await setCandidate(registry, { modelId: candidate, mode: 'ab', share: 0.3 });
    await service.reload('pointer');
    await service.candidate.settled();
    const status = statusResponse(service).candidate;
    assert.equal(status?.mode, 'ab');
    assert.equal(status.share, 0.3);
    const expected = servers.filter((s) => servedByCandidate(s.name, 0.3)).map((s) => s.name);
    assert.ok(expected.length > 40 && expected.length < 80, `${expected.length} of 200 near 30 %`);

    const byModel = async () => {
      const fleet = await service.fleetForecast();
      return new Map(fleet.servers.map((s) => [s.server, 'model_id' in s ? s.model_id : undefined]));
    };
    const first = await byModel();
    assert.deepEqual(
      [...first].filter(([, id]) => id === candidate).map(([name]) => name),
      expected,
    );
    assert.ok([...first.values()].every((id) => id === candidate || id === serving));
    assert.deepEqual(await byModel(), first, 'the same split on the next request');

    // the candidate's servers really get the candidate's forecast, the rest the serving model's
    const now = await service.fleetForecast();
    const before = new Map(shadowForecast.servers.map((s) => [s.server, s]));
    for (const entry of now.servers) {
      if (!('forecast' in entry)) continue;
      const old = before.get(entry.server);
      assert.ok(old && 'forecast' in old);
      if (entry.model_id === serving) assert.deepEqual(entry.forecast, old.forecast);
      else assert.notDeepEqual(entry.forecast, old.forecast);
    }
    const batch = await service.predict(['web-0001', 'web-0002', 'web-0003']);
    for (const f of batch.forecasts)
      assert.equal(f.model_id, servedByCandidate(f.server, 0.3) ? candidate : serving);

    // raising the share only moves servers to the candidate
    await setCandidate(registry, { modelId: candidate, mode: 'ab', share: 0.6 });
    await service.reload('pointer');
    await service.candidate.settled();
    const wider = await byModel();
    for (const name of expected) assert.equal(wider.get(name), candidate);
    assert.ok([...wider.values()].filter((id) => id === candidate).length > expected.length);
  });

  it('drops the candidate when the pointer no longer names it', async () => {
    await clearCandidate(registry);
    await service.reload('pointer');
    await service.candidate.settled();
    assert.equal(statusResponse(service).candidate, null);
    const fleet = await service.fleetForecast();
    assert.ok(fleet.servers.every((s) => !('model_id' in s)));
  });

  it('buckets are uniform enough and fixed by the name alone', () => {
    assert.equal(serverBucket('web-0001'), serverBucket('web-0001'));
    const n = 10_000;
    const hits = Array.from({ length: n }, (_, i) => servedByCandidate(`host-${i}`, 0.1)).filter(
      Boolean,
    ).length;
    assert.ok(Math.abs(hits / n - 0.1) < 0.015, `${hits} of ${n}`);
  });
});

describe('a candidate that fails to load, and the comparison across a restart', () => {
  let registry: string;
  let stateDir: string;
  let serving: string;
  let candidate: string;
  const clock = { end: recentEnd() - 24 * HOUR };
  const make = () =>
    newService(registry, () => servers, {
      windowFetcher: movingFetcher(clock),
      staleAfterMs: 365 * 86_400_000,
      stateDir,
      stateSaveIntervalMs: 0,
    });

  before(async () => {
    registry = await tempDir('fleetcast-candidate-fail-');
    stateDir = await tempDir('fleetcast-candidate-state-');
    serving = tinyModelId();
    candidate = tinyModelId();
    await makeTinyModels(join(registry, 'models'), [
      { modelId: serving, servers, seed: 3 },
      { modelId: candidate, servers, seed: 4 },
    ]);
    await deploy(registry, serving, 'first');
  });
  after(async () => {
    await removeDir(registry);
    await removeDir(stateDir);
  });

  it('reports a candidate whose files do not match the pinned sha256, and serves on unaffected', async () => {
    const pointer = (await readPointer(registry))!;
    await writePointer(
      registry,
      withCandidate(pointer, {
        model_id: candidate,
        sha256: 'f'.repeat(64),
        mode: 'ab',
        share: 0.5,
        since: '2026-12-01T00:00:00.000Z',
      }),
    );
    const service = make();
    try {
      await service.start();
      await service.candidate.settled();
      const status = statusResponse(service).candidate;
      assert.equal(status?.state, 'failed');
      assert.match(status.error ?? '', /digest|sha256/i);
      assert.equal(status.comparison, null);
      const fleet = await service.fleetForecast();
      assert.equal(fleet.model_id, serving);
      assert.ok(
        fleet.servers.every((s) => 'forecast' in s && !('model_id' in s)),
        'A/B never routes to it',
      );
    } finally {
      await service.close();
    }
  });

  it('keeps the comparison in the state directory across a restart', async () => {
    await setCandidate(registry, { modelId: candidate, mode: 'shadow' });
    const first = make();
    let points: number;
    try {
      await first.start();
      await first.candidate.settled();
      clock.end += 6 * HOUR;
      await first.refresh();
      points = statusResponse(first).candidate?.comparison?.shared_points ?? 0;
      assert.equal(points, servers.length * 5);
    } finally {
      await first.close();
    }
    const second = make();
    try {
      await second.start();
      await second.candidate.settled();
      const comparison = statusResponse(second).candidate?.comparison;
      assert.equal(comparison?.shared_points, points, 'restored, and the same windows score nothing twice');
      assert.ok((comparison?.live_hours ?? 0) >= 6);
    } finally {
      await second.close();
    }
  });
});
