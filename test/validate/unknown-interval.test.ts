import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ScoredWindow } from '../../src/validate/scoring.js';
import { scoreWindows } from '../../src/validate/scoring.js';
import { unknownKnownIntervals } from '../../src/validate/unknown-interval.js';

/** The unknown-vs-known ratio comes with a 95 % server-bootstrap interval. */
const layout = { horizon: 4, targets: ['cpu_pct'], quantiles: [0.1, 0.5, 0.9] };

function window(server: string, group: 'known' | 'unknown', level: number, error: number): ScoredWindow {
  const actual = Array.from({ length: 4 }, () => level);
  const forecast = actual.flatMap((y) => [y * (1 + error) - 1, y * (1 + error), y * (1 + error) + 1]);
  return { server, group, profile: 'default', actual, forecasts: { model: forecast, naive: forecast } };
}

describe('unknown vs known interval', () => {
  // 20 known servers with 10 % error, 6 unknown ones with 10–40 % error: the ratio is about 2.5
  const windows = [
    ...Array.from({ length: 20 }, (_, i) => window(`k-${i}`, 'known', 10 + i, 0.1)),
    ...Array.from({ length: 6 }, (_, i) => window(`u-${i}`, 'unknown', 10 + 3 * i, 0.1 + 0.06 * i)),
  ];

  it('equals the profile-matched ratio of the scores and brackets it', () => {
    const [interval] = unknownKnownIntervals(windows, 'model', ['model', 'naive'], layout);
    const scores = scoreWindows(windows, ['model', 'naive'], layout);
    const q = (group: string) =>
      scores.find((s) => s.model === 'model' && s.group === group && s.quantile === 0.5)!.q_risk!;
    const expected = q('unknown_profile_matched') / q('known_profile_matched');
    assert.ok(Math.abs(interval!.ratio! - expected) < 1e-9, `${interval!.ratio} vs ${expected}`);
    assert.ok(interval!.low! < interval!.ratio! && interval!.ratio! < interval!.high!);
    assert.ok(interval!.low! > 1, 'unknown servers are clearly worse here');
    assert.deepEqual([interval!.unknown_servers, interval!.known_servers], [6, 20]);
  });

  it('is reproducible and has no interval with a single unknown server', () => {
    const a = unknownKnownIntervals(windows, 'model', ['model', 'naive'], layout);
    assert.deepEqual(unknownKnownIntervals(windows, 'model', ['model', 'naive'], layout), a);
    const one = unknownKnownIntervals(windows.slice(0, 21), 'model', ['model', 'naive'], layout)[0]!;
    assert.equal(one.low, null);
    assert.ok(one.ratio !== null);
  });
});
