import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classifySilence,
  DEFAULT_STATUS_POLICY,
  serverStatus,
  statusPolicyProblem,
} from '../../src/fleet/status.js';
import { assessEligibility, DEFAULT_ELIGIBILITY_POLICY } from '../../src/fleet/eligibility.js';

const H = 3_600_000;
const D = 24 * H;

describe('sunset policy (offline 24 h, candidate 7 d, confirmed 30 d)', () => {
  const edges: Array<[number, string]> = [
    [0, 'active'],
    [24 * H - 1, 'active'],
    [24 * H, 'offline'],
    [7 * D - 1, 'offline'],
    [7 * D, 'sunset_candidate'],
    [30 * D - 1, 'sunset_candidate'],
    [30 * D, 'sunset_confirmed'],
    [400 * D, 'sunset_confirmed'],
  ];
  for (const [silent, status] of edges)
    it(`${silent} ms of silence is ${status}`, () =>
      assert.equal(classifySilence(silent, DEFAULT_STATUS_POLICY), status));

  it('a last sample in the future counts as active', () => {
    const now = new Date('2026-11-20T00:00:00Z');
    assert.equal(serverStatus(new Date(now.getTime() + H), now, DEFAULT_STATUS_POLICY), 'active');
  });

  it('is configurable', () => {
    const policy = { offlineHours: 1, sunsetCandidateDays: 2, sunsetConfirmedDays: 3 };
    assert.equal(classifySilence(H, policy), 'offline');
    assert.equal(classifySilence(2 * D, policy), 'sunset_candidate');
    assert.equal(classifySilence(3 * D, policy), 'sunset_confirmed');
  });

  it('rejects thresholds that make a status unreachable', () => {
    assert.match(
      statusPolicyProblem({ offlineHours: 24, sunsetCandidateDays: 40, sunsetConfirmedDays: 30 })!,
      /sunset_confirmed_days/,
    );
    assert.match(
      statusPolicyProblem({ offlineHours: 24 * 8, sunsetCandidateDays: 7, sunsetConfirmedDays: 30 })!,
      /sunset_candidate_days/,
    );
    assert.equal(statusPolicyProblem(DEFAULT_STATUS_POLICY), undefined);
  });
});

describe('training eligibility (>= 7 days, >= 1000 samples)', () => {
  const first = new Date('2026-11-01T00:00:00Z');
  const at = (ms: number): Date => new Date(first.getTime() + ms);

  it('exactly 7 days and 1000 samples is eligible', () => {
    const e = assessEligibility(
      { firstSeen: first, lastSeen: at(7 * D), samples: 1000 },
      DEFAULT_ELIGIBILITY_POLICY,
    );
    assert.equal(e.eligible, true);
    assert.equal(e.eligibleAt, null);
  });

  it('a day short is pending until first_seen + 7 days', () => {
    const e = assessEligibility(
      { firstSeen: first, lastSeen: at(6 * D), samples: 1729 },
      DEFAULT_ELIGIBILITY_POLICY,
    );
    assert.equal(e.eligible, false);
    assert.deepEqual(e.reasons, ['6.0 days of history (needs 7)']);
    assert.equal(e.eligibleAt?.toISOString(), at(7 * D).toISOString());
  });

  it('too few samples estimates when the count is reached at the observed rate', () => {
    // 8 days at one sample an hour: 193 samples; 807 more hours to go.
    const e = assessEligibility(
      { firstSeen: first, lastSeen: at(8 * D), samples: 193 },
      DEFAULT_ELIGIBILITY_POLICY,
    );
    assert.equal(e.eligible, false);
    assert.deepEqual(e.reasons, ['193 samples (needs 1000)']);
    assert.equal(e.eligibleAt?.toISOString(), at(8 * D + 807 * H).toISOString());
  });

  it('never shows a history just short of the minimum as the minimum', () => {
    const e = assessEligibility(
      { firstSeen: first, lastSeen: at(7 * D - 300_000), samples: 2016 },
      DEFAULT_ELIGIBILITY_POLICY,
    );
    assert.deepEqual(e.reasons, ['6.9 days of history (needs 7)']);
  });

  it('a single sample has no rate to extrapolate', () => {
    const e = assessEligibility(
      { firstSeen: first, lastSeen: first, samples: 1 },
      DEFAULT_ELIGIBILITY_POLICY,
    );
    assert.equal(e.eligible, false);
    assert.equal(e.eligibleAt, null);
    assert.equal(e.reasons.length, 2);
  });

  it('is configurable', () => {
    const e = assessEligibility(
      { firstSeen: first, lastSeen: at(2 * D), samples: 50 },
      { minimumHistoryDays: 1, minimumSamples: 10 },
    );
    assert.equal(e.eligible, true);
  });
});
