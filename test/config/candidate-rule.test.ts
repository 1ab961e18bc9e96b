import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { DEFAULT_RETRAIN_CONFIG, parseRetrainConfig } from '../../src/config/retrain-config.js';

describe('the candidate block of the retrain config', () => {
  it('defaults to 24 live hours, 1000 shared points, ratio 1.0, as committed', async () => {
    assert.deepEqual(DEFAULT_RETRAIN_CONFIG.candidate, {
      min_live_hours: 24,
      min_shared_points: 1000,
      max_qrisk_ratio_vs_serving: 1,
    });
    const committed = JSON.parse(await readFile('config/retrain_config.json', 'utf8')) as {
      candidate: unknown;
    };
    assert.deepEqual(committed.candidate, DEFAULT_RETRAIN_CONFIG.candidate);
  });

  it('fills missing keys of a partial block with their defaults', () => {
    assert.equal(
      parseRetrainConfig({ candidate: { min_live_hours: 6 } }, 'c.json').candidate.min_shared_points,
      1000,
    );
  });

  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ min_live_hours: 0 }, /c\.json: candidate\.min_live_hours/],
    [{ min_shared_points: 1.5 }, /c\.json: candidate\.min_shared_points/],
    [{ max_qrisk_ratio_vs_serving: -1 }, /c\.json: candidate\.max_qrisk_ratio_vs_serving/],
    [{ min_hours: 3 }, /min_hours/],
  ];
  for (const [block, message] of bad) {
    it(`rejects ${JSON.stringify(block)}, naming the field`, () => {
      assert.throws(() => parseRetrainConfig({ candidate: block }, 'c.json'), message);
    });
  }
});
