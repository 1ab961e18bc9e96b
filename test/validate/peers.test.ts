import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolvePython } from '../../src/core/python.js';
import { evaluateGates, GateConfig } from '../../src/validate/gates.js';
import { PEER_MANIFEST, readPeerForecasts } from '../../src/validate/peer-forecasts.js';
import { parsePeerList } from '../../src/validate/peer-request.js';
import type { ValidationReport } from '../../src/validate/report.js';
import { findScore } from '../../src/validate/scoring.js';
import { fleetcastInProcess } from '../helpers/cli-capture.js';
import { makeFleet, writeLooseGates, writeManifestFile } from './fixtures/fleet.js';

const probe = spawnSync(resolvePython(), ['-c', 'import numpy, sklearn, statsmodels'], { encoding: 'utf8' });
const noPeerModules =
  probe.status === 0
    ? false
    : `the peers need numpy, scikit-learn and statsmodels in ${resolvePython()} (apt-get install python3-sklearn python3-statsmodels): ${(probe.stderr || String(probe.error)).trim().split('\n').pop()}`;

const TARGETS = ['cpu_pct', 'mem_pct', 'latency_ms'];
const QUANTILES = [0.1, 0.5, 0.9];

describe('fleetcast validate --peers on a generated fleet', { skip: noPeerModules }, () => {
  let dir: string;
  let parquet: string;
  let manifest: string;
  let loose: string;
  let modelDir: string;
  let trained: ValidationReport;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-peers-'));
    const fleet = await makeFleet(dir, 5, 9);
    parquet = fleet.parquet;
    manifest = await writeManifestFile(join(dir, 'manifest.json'), fleet.servers);
    loose = await writeLooseGates(join(dir, 'loose.json'));
    // train --peers: the candidate's validation scores the peers on the training dataset
    const train = await fleetcastInProcess([
      'train',
      ...['--metrics', parquet, '--manifest', manifest, '--registry', join(dir, 'registry')],
      ...['--profile', 'smoke', '--epochs', '1', '--days', '9', '--gates', loose],
      ...['--peers', 'qnaive,ets', '--json'],
    ]);
    assert.equal(train.code, 0, train.stdout + train.stderr);
    const out = JSON.parse(train.stdout) as { model_dir: string; validation: ValidationReport };
    modelDir = out.model_dir;
    trained = out.validation;
    assert.match(
      train.stderr,
      /validate: peer ets \(1\/2\): started[\s\S]*validate: peer ets \(1\/2\): done in \d+\.\ds/,
    );
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const validate = (args: string[]) =>
    fleetcastInProcess([
      'validate',
      ...['--model-dir', modelDir, '--manifest', manifest, '--metrics', parquet],
      ...args,
    ]);

  it('scores every peer on exactly the model’s points, with finite q-risk and named ratios', async () => {
    {
      const acc = trained.accuracy!;
      assert.deepEqual(
        acc.peers.map((p) => [p.peer, p.status]),
        [
          ['ets', 'scored'],
          ['qnaive', 'scored'],
        ],
      );
      for (const t of TARGETS)
        for (const q of QUANTILES) {
          const model = findScore(acc.scores, 'model', 'all', t, q)!;
          assert.ok(model.points > 0);
          for (const peer of ['ets', 'qnaive', 'seasonal_naive']) {
            const s = findScore(acc.scores, peer, 'all', t, q)!;
            assert.equal(s.points, model.points, `${peer} ${t} ${q}: same points as the model`);
            assert.ok(Number.isFinite(s.q_risk), `${peer} ${t} ${q}: finite q-risk`);
          }
          const ratio = acc.ratios.find(
            (r) => r.target === t && r.quantile === q && r.baseline === 'qnaive',
          )!;
          assert.ok(
            Math.abs(ratio.ratio! - model.q_risk! / findScore(acc.scores, 'qnaive', 'all', t, q)!.q_risk!) <
              1e-12,
          );
        }
    }
  });

  it('validate --peers: 30 days of history for the peers, the same held-out windows for the model; gates pass and fail', async () => {
    const high = join(dir, 'high.json');
    await writeFile(
      high,
      JSON.stringify({
        ...JSON.parse(await readFile(loose, 'utf8')),
        accuracy: {
          ...JSON.parse(await readFile(loose, 'utf8')).accuracy,
          max_ratio_vs_peer: { ets: { '0.5': 1000, '0.9': null } },
        },
      }),
    );
    const ok = await validate(['--gates', high, '--peers', 'ets', '--json']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const report = JSON.parse(ok.stdout) as ValidationReport;
    const acc = report.accuracy!;
    assert.equal(acc.window.start, trained.accuracy!.window.start);
    assert.deepEqual(acc.windows, trained.accuracy!.windows);
    // the model's windows and points are the training run's, only the peers' history is longer
    for (const t of TARGETS) {
      const now = findScore(acc.scores, 'model', 'all', t, 0.5)!;
      const then = findScore(trained.accuracy!.scores, 'model', 'all', t, 0.5)!;
      assert.equal(now.points, then.points);
      assert.ok(Math.abs(now.q_risk! - then.q_risk!) < 1e-9, `${t}: ${now.q_risk} vs ${then.q_risk}`);
    }
    const gates = report.gates.filter((g) => g.name.startsWith('p50 vs peer ets'));
    assert.equal(gates.length, 3);
    assert.ok(gates.every((g) => g.enforced && g.passed && Number.isFinite(g.ratio)));
    assert.match(ok.stderr, /validate: peer ets \(1\/1\): done in \d+\.\ds/);
    // 30 days at the smoke profile's 30 minutes, fitted on everything before the last two days
    assert.match(ok.stderr, /\(1440 steps\)/);
    assert.match(ok.stderr, /validate: peer ets \(1\/1\): started, fitting on steps before 1344/);

    const low = join(dir, 'low.json');
    await writeLooseGates(low, { max_ratio_vs_peer: { qnaive: { '0.9': 0.0001 } } });
    const failed = await validate(['--gates', low, '--peers', 'qnaive']);
    assert.equal(failed.code, 3, failed.stdout + failed.stderr);
    assert.match(
      failed.stdout,
      /\[FAIL\] p90 vs peer qnaive: cpu_pct: q-risk [\d.]+ vs [\d.]+: ratio [\d.]+ > limit 0\.0001/,
    );
    assert.match(failed.stdout, /model\/naive .* qnaive +model\/qnaive/);
    assert.match(failed.stdout, /read P10\/P90 against qnaive/);
    assert.match(
      failed.stdout,
      /\[info\] p90 vs seasonal naive: cpu_pct: .*against qnaive \(quantile-aware\) the ratio is [\d.]+/,
    );
  });

  it('a failing peer process is named, reported as failed and fails the gate that needs it', async () => {
    const fake = join(dir, 'python-exits-2');
    await writeFile(
      fake,
      '#!/bin/sh\necho \'{"event":"error","exit_code":2,"message":"peer_request.json: horizon_steps must be an integer"}\'\necho "error: peer_request.json: horizon_steps" >&2\nexit 2\n',
    );
    await chmod(fake, 0o755);
    const gates = join(dir, 'qnaive-gate.json');
    await writeLooseGates(gates, { max_ratio_vs_peer: { qnaive: { '0.5': 10 } } });
    const saved = process.env.FLEETCAST_PYTHON;
    process.env.FLEETCAST_PYTHON = fake;
    let run;
    try {
      run = await validate(['--gates', gates, '--peers', 'qnaive,ets']);
    } finally {
      if (saved === undefined) delete process.env.FLEETCAST_PYTHON;
      else process.env.FLEETCAST_PYTHON = saved;
    }
    assert.equal(run.code, 3, run.stdout + run.stderr);
    assert.match(
      run.stderr,
      /validate: peer ets \(1\/2\): FAILED after [\d.]+s: peer ets failed: peer_request\.json: horizon_steps must be an integer\n--- last lines of the peer ets's stderr ---\nerror: peer_request\.json/,
    );
    assert.match(
      run.stdout,
      /FAILED: peer qnaive failed: peer_request\.json: horizon_steps must be an integer/,
    );
    assert.match(run.stdout, /\[FAIL\] p50 vs peer qnaive: cpu_pct: peer qnaive failed: /);
    assert.match(run.stdout, /\[warn\] peer ets: peer ets failed: /);
    assert.match(run.stdout, /peers, fitted on data before .*: none scored/);
  });
});

describe('peer forecasts: reading and gating', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetcast-peer-files-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const expect = {
    servers: ['a-01', 'b-01'],
    origins: [10, 14],
    targets: ['cpu_pct'],
    quantiles: [0.1, 0.5, 0.9],
    horizon: 4,
  };
  async function writePeerDir(edit: (m: Record<string, unknown>) => void = () => {}): Promise<string> {
    const values = Float32Array.from({ length: 2 * 2 * 4 * 1 * 3 }, (_, i) => i);
    const bytes = Buffer.from(values.buffer);
    const out = await mkdtemp(join(dir, 'out-'));
    await writeFile(join(out, 'qnaive.f32'), bytes);
    const manifest: Record<string, unknown> = {
      format_version: 1,
      created_at: '2026-11-20T00:00:00.000Z',
      trainer_version: '1.0.0',
      dataset: { path: '/d', source: 'test', created_at: 'x', start: 'x', n_steps: 18, train_end_step: 10 },
      request: {
        source: 'r',
        from_step: 10,
        stride_steps: 4,
        fit_end_step: 10,
        lookback_steps: 8,
        transforms: { cpu_pct: 'none' },
        bounds: { cpu_pct: { min: 0, max: 100 } },
      },
      resolution_seconds: 3600,
      targets: ['cpu_pct'],
      quantiles: [0.1, 0.5, 0.9],
      horizon_steps: 4,
      servers: ['a-01', 'b-01'],
      origins: [10, 14],
      origin_times: ['x', 'y'],
      shape: [2, 2, 4, 1, 3],
      layout: 'l',
      peers: {
        qnaive: {
          file: 'qnaive.f32',
          sha256: createHash('sha256').update(bytes).digest('hex'),
          seconds: 0.1,
          windows_with_missing: 0,
          settings: {},
          info: {},
        },
      },
      seed: 0,
      threads: 1,
      total_seconds: 0.2,
    };
    edit(manifest);
    await writeFile(join(out, PEER_MANIFEST), JSON.stringify(manifest));
    return out;
  }

  it('reads a well-formed forecasts.json and its array, window by window', async () => {
    const f = await readPeerForecasts(await writePeerDir(), 'qnaive', expect);
    assert.equal(f.per, 12);
    assert.deepEqual([...f.values.subarray(36, 38)], [36, 37]);
  });

  it('rejects a wrong shape, an unknown field, other origins and a changed array', async () => {
    await assert.rejects(
      readPeerForecasts(await writePeerDir((m) => (m.shape = [2, 2, 4, 3])), 'qnaive', expect),
      /forecasts\.json: shape: /,
    );
    await assert.rejects(
      readPeerForecasts(await writePeerDir((m) => (m.extra = 1)), 'qnaive', expect),
      /forecasts\.json: \(root\): Unrecognized key: "extra"/,
    );
    await assert.rejects(
      readPeerForecasts(await writePeerDir((m) => (m.origins = [10, 15])), 'qnaive', expect),
      /origins is \[10,15\], expected \[10,14\]/,
    );
    await assert.rejects(
      readPeerForecasts(await writePeerDir((m) => (m.servers = ['b-01', 'a-01'])), 'qnaive', expect),
      /servers is/,
    );
    const changed = await writePeerDir();
    await writeFile(join(changed, 'qnaive.f32'), Buffer.alloc(48 * 4));
    await assert.rejects(
      readPeerForecasts(changed, 'qnaive', expect),
      /qnaive\.f32: sha256 [0-9a-f]+ differs/,
    );
    await writeFile(join(changed, 'qnaive.f32'), Buffer.alloc(10));
    await assert.rejects(readPeerForecasts(changed, 'qnaive', expect), /10 bytes, expected 192/);
  });

  it('--peers names: the flag alone is every peer, an unknown one is an input error', () => {
    assert.deepEqual(parsePeerList(true), ['gbm', 'ets', 'qnaive']);
    assert.deepEqual(parsePeerList('qnaive, gbm'), ['gbm', 'qnaive']);
    assert.deepEqual(parsePeerList(undefined), []);
    assert.throws(() => parsePeerList('gbm,prophet'), /unknown peer "prophet"/);
  });

  it('a gated peer that was not run fails; report-only lines never pass silently', () => {
    const coverage = { intended: 1, covered: 1, percent: 100, missing: [], passed: true, message: 'ok' };
    const scores = [0.5].flatMap((q) =>
      ['model', 'seasonal_naive', 'gbm'].map((model) => ({
        model,
        group: 'all' as const,
        target: 'cpu_pct',
        quantile: q,
        q_risk: model === 'model' ? 0.1 : 0.2,
        points: 5,
      })),
    );
    const base = {
      coverage,
      convergence: null,
      scores,
      targets: ['cpu_pct'],
      quantiles: [0.5, 0.9],
      deployedScored: false,
    };
    const config = GateConfig.parse({
      accuracy: { max_ratio_vs_peer: { gbm: { '0.5': 0.6 }, ets: { '0.5': 2 }, qnaive: { '0.5': null } } },
    });
    const results = evaluateGates(config, {
      ...base,
      peers: [{ peer: 'gbm', status: 'scored', seconds: 1, note: null }],
    });
    const byName = (n: string) => results.find((r) => r.name === n)!;
    assert.deepEqual(
      [byName('p50 vs peer gbm: cpu_pct').passed, byName('p50 vs peer gbm: cpu_pct').ratio],
      [true, 0.5],
    );
    assert.deepEqual(
      [byName('p50 vs peer ets: cpu_pct').passed, byName('p50 vs peer ets: cpu_pct').enforced],
      [false, true],
    );
    assert.match(byName('p50 vs peer ets: cpu_pct').detail, /peer ets was not run/);
    assert.deepEqual(
      [byName('p50 vs peer qnaive: cpu_pct').passed, byName('p50 vs peer qnaive: cpu_pct').enforced],
      [false, false],
    );
    assert.throws(
      () => GateConfig.parse({ accuracy: { max_ratio_vs_peer: { prophet: { '0.5': 1 } } } }),
      /prophet/,
    );
  });
});
