import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/core/logger.js';
import type { LiveModelAccuracy } from '../../src/service/serving/live-accuracy.js';
import {
  ACCURACY_HISTORY_FILE,
  SWAP_EVENTS_FILE,
  ServingHistory,
} from '../../src/service/serving/serving-history.js';
import { removeDir, tempDir } from './fixtures.js';

const A = 'tft-20261001T000000Z-aaaaaa';
const B = 'tft-20261101T000000Z-bbbbbb';
const C = 'tft-20261201T000000Z-cccccc';

function summary(model: string, q50: number, points = 10): LiveModelAccuracy {
  return {
    model,
    scored_points: points,
    naive_points: points,
    scored_hours: 1,
    window_seconds: 86_400,
    worst_servers: [],
    q_risk: [
      { target: 'cpu_pct', quantile: 0.5, q_risk: q50, naive_q_risk: 0.2, ratio_vs_naive: 0.5 },
      { target: 'cpu_pct', quantile: 0.9, q_risk: q50 / 2, naive_q_risk: 0.1, ratio_vs_naive: 0.5 },
    ],
  };
}

/** A logger that keeps its warnings, to check that a reset says why. */
function recordingLogger(): { logger: ReturnType<typeof createLogger>; warnings: string[] } {
  const warnings: string[] = [];
  const logger = createLogger('test', 'silent');
  logger.warn = ((obj: object, msg?: string) => {
    warnings.push(`${msg ?? ''} ${JSON.stringify(obj)}`);
  }) as typeof logger.warn;
  return { logger, warnings };
}

describe('serving history (swap markers and live q-risk over time)', () => {
  let dir: string;
  let clock = new Date('2026-12-01T00:00:00Z');
  const make = (extra: Partial<ConstructorParameters<typeof ServingHistory>[0]> = {}) => {
    const { logger, warnings } = recordingLogger();
    return {
      history: new ServingHistory({ stateDir: dir, logger, now: () => clock, ...extra }),
      warnings,
    };
  };

  before(async () => {
    dir = await tempDir();
  });
  after(async () => removeDir(dir));

  it('records deploys and rollbacks, bounded, and keeps them over a restart', async () => {
    const { history } = make({ maxSwapEvents: 3 });
    await history.swapped(null, A);
    clock = new Date(clock.getTime() + 3_600_000);
    await history.swapped(A, C);
    await history.swapped(C, B); // B was trained before C: a rollback
    await history.swapped(B, C);
    assert.deepEqual(
      history.swapEvents.map((e) => [e.from, e.to, e.kind]),
      [
        [A, C, 'deploy'],
        [C, B, 'rollback'],
        [B, C, 'deploy'],
      ],
      'the oldest event dropped at the bound',
    );
    const restarted = make({ maxSwapEvents: 3 }).history;
    await restarted.load();
    assert.deepEqual(restarted.swapEvents, history.swapEvents);
    // after a restart, the model that served before is no event; another one is, from it
    await restarted.swapped(null, C);
    assert.equal(restarted.swapEvents.length, 3);
    await restarted.swapped(null, A);
    assert.deepEqual(restarted.swapEvents.at(-1)!.from, C);
    assert.equal(restarted.swapEvents.at(-1)!.kind, 'rollback');
    // written atomically: no temporary file left beside it
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });

  it('samples live q-risk per model at most once per spacing, bounded, and keeps it over a restart', async () => {
    const { history } = make({ maxSamples: 3, maxModels: 2, sampleSpacingSeconds: 300 });
    let calls = 0;
    const take = (list: LiveModelAccuracy[]) => () => {
      calls++;
      return list;
    };
    for (let i = 0; i < 5; i++) {
      history.sampleAccuracy(take([summary(B, 0.1 + i / 100), summary(A, 0.3, 0)]));
      history.sampleAccuracy(take([summary(B, 9)])); // too soon: not even asked for
      clock = new Date(clock.getTime() + 300_000);
    }
    assert.equal(calls, 5);
    const [b] = history.accuracy;
    assert.equal(history.accuracy.length, 1, 'a model without scored points has no sample');
    assert.equal(b!.model, B);
    assert.deepEqual(
      b!.samples.map((s) => s[2][0]),
      [0.12, 0.13, 0.14],
      'the last three samples',
    );
    assert.deepEqual(b!.targets, ['cpu_pct']);
    assert.deepEqual(b!.quantiles, [0.5, 0.9]);
    history.sampleAccuracy(() => [summary(C, 0.2), summary(A, 0.3)]);
    assert.deepEqual(
      history.accuracy.map((s) => s.model),
      [A, C],
      'at most two models: the least recently sampled dropped',
    );
    await history.save();
    const restarted = make({ maxSamples: 3, maxModels: 2 }).history;
    await restarted.load();
    assert.deepEqual(restarted.accuracy, history.accuracy);
    const text = await readFile(join(dir, ACCURACY_HISTORY_FILE), 'utf8');
    assert.equal(JSON.parse(text).format_version, 1);
  });

  it('a corrupt file is logged with the reason and started over; the other file is kept', async () => {
    await writeFile(join(dir, ACCURACY_HISTORY_FILE), '{"format_version": 1, "models": [{"model": 3');
    const { history, warnings } = make();
    await history.load();
    assert.deepEqual(history.accuracy, []);
    assert.match(history.loadProblems.get(ACCURACY_HISTORY_FILE)!, /^not JSON: /);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /live-accuracy-history\.json is corrupt; starting an empty history/);
    assert.ok(history.swapEvents.length > 0, 'swap events read from their own file');

    await writeFile(
      join(dir, SWAP_EVENTS_FILE),
      JSON.stringify({ format_version: 1, events: [{ at: 'yesterday', from: null, to: A, kind: 'deploy' }] }),
    );
    await writeFile(
      join(dir, ACCURACY_HISTORY_FILE),
      JSON.stringify({
        format_version: 1,
        models: [{ model: A, targets: ['cpu_pct'], quantiles: [0.5, 0.9], samples: [[1, 2, [0.1]]] }],
      }),
    );
    const second = make();
    await second.history.load();
    assert.deepEqual(second.history.swapEvents, []);
    assert.match(second.history.loadProblems.get(SWAP_EVENTS_FILE)!, /^events\.0\.at: /);
    assert.match(
      second.history.loadProblems.get(ACCURACY_HISTORY_FILE)!,
      /^models\.0\.samples\.0: model tft-20261001T000000Z-aaaaaa: 1 values, expected 2/,
    );
    // the next write replaces the corrupt file with a good one
    await second.history.swapped(null, B);
    const third = make();
    await third.history.load();
    assert.deepEqual(
      third.history.loadProblems,
      new Map([[ACCURACY_HISTORY_FILE, second.history.loadProblems.get(ACCURACY_HISTORY_FILE)]]),
    );
    assert.deepEqual(
      third.history.swapEvents.map((e) => e.to),
      [B],
    );
  });
});
