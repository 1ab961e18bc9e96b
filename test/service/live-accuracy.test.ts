import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RecentWindow, WindowShape } from '../../src/features/windows.js';
import { deploy } from '../../src/registry/pointer.js';
import { buildApp } from '../../src/service/http/app.js';
import { openMetricsSource } from '../../src/metrics/source.js';
import { FleetForecast } from '../../src/service/serving/forecast-batch.js';
import { quantileKey } from '../../src/service/serving/forecast-format.js';
import { LIVE_ACCURACY_FILE } from '../../src/service/serving/forecast-service.js';
import { metricsWindowFetcher } from '../../src/service/serving/metrics-windows.js';
import { quantileLoss } from '../../src/validate/qrisk.js';
import { LiveAccuracy, type LiveModelShape } from '../../src/service/serving/live-accuracy.js';
import { StatusResponse } from '../../src/service/serving/status.js';
import type { WindowFetcher } from '../../src/service/serving/window-cache.js';
import { makeTinyModels } from '../helpers/tiny-model.js';
import {
  fleetOf,
  newService,
  quietLogger,
  recentEnd,
  removeDir,
  syntheticWindows,
  tempDir,
  writeMetricsParquet,
} from './fixtures.js';

const RES = 3600;
const T = 1_780_000_000 - (1_780_000_000 % 86_400); // a day boundary: the origin of the forecast
const shape: LiveModelShape = {
  id: 'tft-20261001T000000Z-abcdef',
  targets: ['cpu_pct'],
  quantiles: [0.5, 0.9],
  horizon_steps: 2,
  resolution_seconds: RES,
  observed_features: ['cpu_pct'],
};

/** One server's window of 30 hourly cpu values ending with the bucket of `lastStep` (epoch seconds). */
function window(values: Record<number, number>, lastTime: number): RecentWindow {
  const lookback = 30;
  const start = lastTime - (lookback - 1) * RES;
  const past = new Float32Array(lookback).map((_, i) => values[start + i * RES] ?? 50);
  return {
    input: { server: 's1', profile: 'web', past, pastStart: start },
    profile: 'web',
    imputed: [],
    lastObservedStep: lastTime / RES,
    observedSteps: lookback,
  };
}

function forecast(start: number, values: number[], server = 's1') {
  return {
    server,
    known: true,
    serverIndex: 1,
    start,
    stepSeconds: RES,
    values: Float32Array.from(values),
  };
}

// actuals at the two forecast steps, and one day before them (seasonal naive)
const actuals = { [T]: 11, [T + RES]: 18, [T - 86_400]: 9, [T + RES - 86_400]: 16 };
const snap = (lastTime: number, cycle: number) => ({
  key: 'k',
  cycle,
  windows: new Map([['s1', window(actuals, lastTime)]]),
  newestData: new Date((lastTime + RES / 2) * 1000),
});

describe('live accuracy (unit)', () => {
  it('scores a served forecast on exact q-risk, beside seasonal naive, complete steps only', () => {
    const live = new LiveAccuracy({ logger: quietLogger });
    // step 0: P50 10, P90 12; step 1: P50 20, P90 25
    live.record(shape, [forecast(T, [10, 12, 20, 25])]);
    // cycle 2: the newest bucket is the second step (still filling): only step 0 is scored
    assert.equal(live.scoreCycle(snap(T + RES, 2), shape), 1);
    assert.equal(live.scoreCycle(snap(T + RES, 2), shape), 0, 'once per cycle');
    assert.equal(live.summary()[0]!.scored_points, 1);
    // cycle 3: the second step is complete now
    assert.equal(live.scoreCycle(snap(T + 2 * RES, 3), shape), 1);
    const [m] = live.summary();
    assert.equal(m!.scored_points, 2);
    assert.equal(m!.naive_points, 2);
    const [p50, p90] = m!.q_risk;
    // P50: 0.5·1 + 0.5·2 = 1.5, Σ|y| = 29; naive: 0.5·2 + 0.5·2 = 2
    assert.ok(Math.abs(p50!.q_risk! - 3 / 29) < 1e-12);
    assert.ok(Math.abs(p50!.naive_q_risk! - 4 / 29) < 1e-12);
    assert.ok(Math.abs(p50!.ratio_vs_naive! - 0.75) < 1e-12);
    // P90: 0.1·1 + 0.1·7 = 0.8; naive: 0.9·2 + 0.9·2 = 3.6
    assert.ok(Math.abs(p90!.q_risk! - 1.6 / 29) < 1e-6);
    assert.ok(Math.abs(p90!.naive_q_risk! - 7.2 / 29) < 1e-12);
    assert.ok(Math.abs(p90!.ratio_vs_naive! - 0.8 / 3.6) < 1e-6);
    assert.deepEqual(m!.worst_servers, [{ server: 's1', q_risk: 3 / 29, points: 2 }]);
  });

  it('takes seasonal naive from the window the forecast was made from, when a later one no longer reaches back a day', () => {
    const live = new LiveAccuracy({ logger: quietLogger });
    // made from a window ending just before T (30 h: it holds T − 24 h and T + 1 h − 24 h)
    live.record(shape, [forecast(T, [10, 12, 20, 25])], new Map([['s1', window(actuals, T - RES)]]));
    // scored 20 h later: that window starts at T − 9 h
    const late = window(actuals, T + 20 * RES);
    assert.equal(
      live.score({ windows: new Map([['s1', late]]), newestData: new Date((T + 21 * RES) * 1000) }, shape),
      2,
    );
    const [p50] = live.summary()[0]!.q_risk;
    assert.equal(live.summary()[0]!.naive_points, 2);
    assert.ok(Math.abs(p50!.naive_q_risk! - 4 / 29) < 1e-12);
    // and it survives a restart
    const again = new LiveAccuracy({ logger: quietLogger });
    again.record(shape, [forecast(T, [10, 12, 20, 25])], new Map([['s1', window(actuals, T - RES)]]));
    const restored = new LiveAccuracy({ logger: quietLogger });
    restored.restore(again.serialize());
    restored.score({ windows: new Map([['s1', late]]), newestData: new Date((T + 21 * RES) * 1000) }, shape);
    assert.equal(restored.summary()[0]!.naive_points, 2);
  });

  it('keeps at most maxOrigins origins per server (the oldest dropped first)', () => {
    const live = new LiveAccuracy({ logger: quietLogger, maxOrigins: 2, originSpacingSteps: 1 });
    for (let k = 0; k < 3; k++) live.record(shape, [forecast(T + k * RES, [10, 12, 20, 25])]);
    live.record(shape, [forecast(T + 2 * RES, [1, 1, 1, 1])]); // the same origin again: kept once
    const state = JSON.parse(live.serialize()) as {
      models: Array<{ servers: Array<{ origins: Array<{ start: number }> }> }>;
    };
    assert.deepEqual(
      state.models[0]!.servers[0]!.origins.map((o) => o.start),
      [T + RES, T + 2 * RES],
    );
    // origins closer than the default spacing (the horizon) are not kept
    const spaced = new LiveAccuracy({ logger: quietLogger });
    for (let k = 0; k < 4; k++) spaced.record(shape, [forecast(T + k * RES, [10, 12, 20, 25])]);
    const kept = JSON.parse(spaced.serialize()) as typeof state;
    assert.deepEqual(
      kept.models[0]!.servers[0]!.origins.map((o) => o.start),
      [T, T + 2 * RES],
    );
  });

  it('forgets forecasts that fell out of the window (a server that stopped reporting)', () => {
    const live = new LiveAccuracy({ logger: quietLogger });
    live.record(shape, [forecast(T - 3 * 86_400, [1, 2, 3, 4], 'gone'), forecast(T, [10, 12, 20, 25])]);
    live.scoreCycle(snap(T + 2 * RES, 2), shape);
    const state = JSON.parse(live.serialize()) as { models: Array<{ servers: Array<{ server: string }> }> };
    assert.deepEqual(
      state.models[0]!.servers.map((s) => s.server),
      ['s1'],
    );
  });

  it('keeps many servers apart: storage grows, forgotten servers free their slot for new ones', () => {
    const live = new LiveAccuracy({ logger: quietLogger });
    const names = Array.from({ length: 200 }, (_, i) => `srv-${i}`);
    // every server forecasts 10 + i at step 0: its error against the actual 11 is its own
    live.record(
      shape,
      names.map((name, i) => forecast(T, [10 + i, 12 + i, 20, 25], name)),
    );
    const windows = new Map(names.map((name) => [name, window(actuals, T + RES)]));
    assert.equal(live.score({ windows, newestData: new Date((T + RES + 1) * 1000) }, shape), 200);
    const risks = live.serverQRisks(shape.id);
    assert.equal(risks.size, 200);
    for (const [i, name] of names.entries())
      assert.ok(Math.abs(risks.get(name)!.q_risk - Math.abs(11 - (10 + i)) / 11) < 1e-6, name);
    // no due step: a second score of the same data scores nothing
    assert.equal(live.score({ windows, newestData: new Date((T + RES + 1) * 1000) }, shape), 0);
    // two days on, the old servers are forgotten once a new one is scored; their slots are reused
    const later = T + 2 * 86_400;
    live.record(shape, [forecast(later, [10, 12, 20, 25], 'fresh')]);
    const fresh = new Map([['fresh', window({ [later]: 11 }, later + RES)]]);
    assert.equal(live.score({ windows: fresh, newestData: new Date((later + RES + 1) * 1000) }, shape), 1);
    const state = JSON.parse(live.serialize()) as { models: Array<{ servers: Array<{ server: string }> }> };
    assert.deepEqual(
      state.models[0]!.servers.map((s) => s.server),
      ['fresh'],
    );
    assert.deepEqual([...live.serverQRisks(shape.id).keys()], ['fresh']);
    const again = new LiveAccuracy({ logger: quietLogger });
    again.restore(live.serialize());
    assert.deepEqual(again.summary(), live.summary());
  });

  it('survives a save and load; a corrupt file is logged, counted and ignored', async () => {
    const dir = await tempDir();
    try {
      const live = new LiveAccuracy({ logger: quietLogger });
      live.record(shape, [forecast(T, [10, 12, 20, 25])]);
      live.scoreCycle(snap(T + RES, 2), shape);
      const path = join(dir, 'state.json');
      await live.save(path);
      const again = new LiveAccuracy({ logger: quietLogger });
      assert.equal(await again.load(path), true);
      assert.deepEqual(again.summary(), live.summary());
      again.scoreCycle(snap(T + 2 * RES, 3), shape);
      assert.equal(again.summary()[0]!.scored_points, 2, 'the pending step is scored after the restart');
      await writeFile(path, '{"format_version":1,"models":[{"nope"');
      const corrupt = new LiveAccuracy({ logger: quietLogger });
      assert.equal(await corrupt.load(path), false);
      assert.equal(corrupt.errors, 1);
      assert.deepEqual(corrupt.summary(), []);
      assert.equal(await corrupt.load(join(dir, 'missing.json')), false);
      assert.equal(corrupt.errors, 1, 'a missing file is a first start, not an error');
    } finally {
      await removeDir(dir);
    }
  });
});

describe('live accuracy in the service', () => {
  const fleet = fleetOf(3);
  let registry: string;
  let stateDir: string;
  let end = recentEnd();
  const fetcher: WindowFetcher = async (s: WindowShape) => ({
    windows: syntheticWindows(fleet, s, end),
    newestData: new Date(end * 1000),
  });

  before(async () => {
    registry = await tempDir();
    stateDir = await tempDir();
    await makeTinyModels(join(registry, 'models'), [
      { modelId: 'tft-20260101T000000Z-aaaaaa', servers: fleet },
    ]);
    await deploy(registry, 'tft-20260101T000000Z-aaaaaa', 'first');
  });
  after(async () => {
    await removeDir(registry);
    await removeDir(stateDir);
  });

  it('scores cycle 1 forecasts in cycle 2, shows them in /status and /metrics, and keeps them over a restart', async () => {
    end = recentEnd();
    const service = newService(registry, () => fleet, {
      windowFetcher: fetcher,
      stateDir,
      stateSaveIntervalMs: 0,
    });
    await service.start();
    const app = buildApp({ service });
    try {
      await service.fleetForecast(); // cycle 1: served from windows ending at `end`
      end += 6 * 3600; // cycle 2: six more hours of actuals
      await service.refresh();
      const status = StatusResponse.parse((await app.inject('/status')).json());
      const [m] = status.live_accuracy.models;
      assert.equal(m!.model, 'tft-20260101T000000Z-aaaaaa');
      assert.ok(m!.scored_points > 0, 'scored');
      assert.ok(m!.q_risk.every((r) => r.q_risk !== null && r.q_risk >= 0));
      const metrics = (await app.inject('/metrics')).body;
      assert.match(
        metrics,
        /fleetcast_live_qrisk\{model="tft-20260101T000000Z-aaaaaa",target="[^"]+",quantile="0\.5"\} \d/,
      );
      assert.match(metrics, /fleetcast_live_scored_points\{model="tft-20260101T000000Z-aaaaaa"\} [1-9]/);
      assert.equal(status.live_accuracy.errors, 0);
    } finally {
      await app.close();
      await service.close();
    }
    const saved = JSON.parse(await readFile(join(stateDir, LIVE_ACCURACY_FILE), 'utf8')) as {
      format_version: number;
    };
    assert.equal(saved.format_version, 1);
    const restarted = newService(registry, () => fleet, {
      windowFetcher: fetcher,
      stateDir,
      stateSaveIntervalMs: 0,
    });
    await restarted.start();
    try {
      const before = restarted.live.summary();
      assert.ok(before[0]!.scored_points > 0, 'restored after the restart');
    } finally {
      await restarted.close();
    }
  });

  it('a corrupt state file is ignored: the service starts and serves', async () => {
    const dir = await tempDir();
    try {
      await writeFile(join(dir, LIVE_ACCURACY_FILE), 'not json');
      const service = newService(registry, () => fleet, {
        windowFetcher: fetcher,
        stateDir: dir,
        stateSaveIntervalMs: 0,
      });
      assert.equal((await service.start()).result, 'success');
      try {
        assert.equal(service.live.errors, 1);
        assert.equal((await service.fleetForecast()).servers.length, fleet.length);
      } finally {
        await service.close();
      }
    } finally {
      await removeDir(dir);
    }
  });
});

describe('live accuracy from a DuckDB metrics source', () => {
  it('scores the fleet forecast of cycle 1 against the resampled actuals of cycle 2, beside naive', async () => {
    const fleet = fleetOf(3);
    const dir = await tempDir();
    const metrics = join(dir, 'metrics.parquet');
    const model = 'tft-20260101T000000Z-bbbbbb';
    const end = recentEnd() - 12 * 3600;
    await writeMetricsParquet(metrics, fleet, 72, { end: new Date(end * 1000) });
    await makeTinyModels(join(dir, 'models'), [{ modelId: model, servers: fleet, lookbackSteps: 48 }]);
    await deploy(dir, model, 'first');
    const service = newService(dir, () => fleet, {
      windowFetcher: metricsWindowFetcher(openMetricsSource(metrics)),
      staleAfterMs: 86_400_000,
    });
    try {
      assert.equal((await service.start()).result, 'success');
      const served = FleetForecast.parse(await service.fleetForecast());
      // seasonal naive is the forecast from the windows the served one was made from
      const madeFrom = service.windows.get(service.model!.encoders)!;
      // six more hours of data: the same file, ending later
      await writeMetricsParquet(metrics, fleet, 78, { end: new Date((end + 6 * 3600) * 1000) });
      await service.refresh();
      const encoders = service.model!.encoders;
      const snapshot = service.windows.get(encoders)!;
      const nF = encoders.observed_features.length;
      // expected, per target at P50, from the served (rounded) forecasts and the new windows
      const expected = encoders.targets.map((target) => {
        const col = encoders.observed_features.indexOf(target);
        let loss = 0;
        let abs = 0;
        let naiveLoss = 0;
        let points = 0;
        // the served values are rounded to 4 significant digits: each is off the raw forecast the
        // scorer keeps by at most half a unit of its 4th digit, and pinball loss at P50 is
        // 0.5-Lipschitz, so q-risk may differ by at most Σ(half units) / Σ|y|
        let roundingSlack = 0;
        for (const entry of served.servers) {
          assert.ok('forecast' in entry, entry.server);
          const valueAt = (w: RecentWindow, t: number): number =>
            w.input.past[((t - w.input.pastStart) / 3600) * nF + col]!;
          const w = snapshot.windows.get(entry.server)!;
          const at = (t: number): number => valueAt(w, t);
          const before = madeFrom.windows.get(entry.server)!;
          const start = Date.parse(entry.start) / 1000;
          for (let h = 0; h < encoders.horizon_steps; h++) {
            const time = start + h * 3600;
            if (time / 3600 >= w.lastObservedStep) continue; // the newest bucket may be filling
            const y = at(time);
            const f = entry.forecast[target]![quantileKey(0.5)]![h]!;
            loss += quantileLoss(y, f, 0.5);
            if (f !== 0) roundingSlack += 0.5 * 10 ** (Math.floor(Math.log10(Math.abs(f))) - 3);
            naiveLoss += quantileLoss(y, valueAt(before, time - 86_400), 0.5);
            abs += Math.abs(y);
            points++;
          }
        }
        return {
          target,
          qRisk: (2 * loss) / abs,
          naive: (2 * naiveLoss) / abs,
          points,
          qRiskBound: roundingSlack / abs,
        };
      });
      const [m] = service.live.summary();
      assert.equal(m!.model, model);
      // forecasts start at `end`; data now reaches end + 6 h, its last bucket still filling: 5 steps
      for (const e of expected) {
        assert.equal(e.points, fleet.length * 5);
        const row = m!.q_risk.find((r) => r.target === e.target && r.quantile === 0.5)!;
        assert.ok(
          Math.abs(row.q_risk! - e.qRisk) <= e.qRiskBound * (1 + 1e-6) + 1e-12,
          `${e.target}: ${row.q_risk} vs ${e.qRisk} (rounding allows ±${e.qRiskBound})`,
        );
        assert.ok(Math.abs(row.naive_q_risk! - e.naive) < 1e-9 * e.naive, `${e.target} naive`);
      }
      assert.equal(m!.scored_points, fleet.length * 5);
      assert.equal(m!.naive_points, fleet.length * 5);
    } finally {
      await service.close();
      await removeDir(dir);
    }
  });
});
