import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RETRAIN_CONFIG, candidatePolicyOf } from '../../src/config/retrain-config.js';
import {
  decideCandidate,
  qRiskRatio,
  type CandidateComparison,
  type CandidateDecisionInput,
} from '../../src/gitops/candidate-decide.js';
import {
  candidateRollbackCommitMessage,
  promotionExtra,
  servingPin,
} from '../../src/gitops/candidate-commit.js';
import { AUTOMATIC_ROLLBACK_REQUESTER, rollbackCommitMessage } from '../../src/gitops/deploy-commit.js';
import { parseTrailers } from '../../src/gitops/trailers.js';
import type { CommitInfo } from '../../src/forge/types.js';

const SERVING = 'tft-20261101T000000Z-aaaaaa';
const CANDIDATE = 'tft-20261102T000000Z-bbbbbb';
const policy = candidatePolicyOf(DEFAULT_RETRAIN_CONFIG);

function comparison(extra: Partial<CandidateComparison> = {}): CandidateComparison {
  return {
    candidateModelId: CANDIDATE,
    servingModelId: SERVING,
    incomparable: null,
    sharedPoints: 5000,
    liveHours: 30,
    p50: { candidate: 0.09, serving: 0.1 },
    p90: { candidate: 0.05, serving: 0.05 },
    ...extra,
  };
}

function input(extra: Partial<CandidateDecisionInput> = {}): CandidateDecisionInput {
  return {
    pointer: { servingModelId: SERVING, candidateModelId: CANDIDATE },
    comparison: comparison(),
    policy,
    servingPin: null,
    candidateRefusal: undefined,
    ...extra,
  };
}

describe('the candidate promotion rule', () => {
  it('has the documented defaults: 24 live hours, 1000 shared points, ratio 1.0', () => {
    assert.deepEqual(policy, { minLiveHours: 24, minSharedPoints: 1000, maxQRiskRatioVsServing: 1 });
  });

  it('promotes a candidate at least as accurate on P50 and P90, with the numbers', () => {
    const d = decideCandidate(input());
    assert.equal(d.decision, 'promote');
    assert.ok(Math.abs(d.ratios.p50! - 0.9) < 1e-12);
    assert.equal(d.ratios.p90, 1);
    assert.match(
      d.reasons.join('\n'),
      /P50 q-risk 0\.0900 vs serving 0\.1000 \(ratio 0\.900, limit 1\.000\)/,
    );
    assert.match(d.reasons.join('\n'), /5000 shared points over 30\.0 h/);
  });

  it('waits, saying how much is missing, while live hours or shared points are short', () => {
    const d = decideCandidate(input({ comparison: comparison({ liveHours: 6, sharedPoints: 400 }) }));
    assert.equal(d.decision, 'wait');
    assert.deepEqual(d.missing, { live_hours: 18, shared_points: 600 });
    assert.match(
      d.summary,
      /6\.0 of 24 live hours \(18\.0 h to go\), 400 of 1000 shared points \(600 to go\)/,
    );
    const hoursOnly = decideCandidate(input({ comparison: comparison({ liveHours: 23.5 }) }));
    assert.deepEqual(hoursOnly.missing, { live_hours: 0.5, shared_points: 0 });
  });

  it('waits even with a worse candidate until there is enough data (no decision on noise)', () => {
    const d = decideCandidate(
      input({ comparison: comparison({ sharedPoints: 10, p50: { candidate: 9, serving: 0.1 } }) }),
    );
    assert.equal(d.decision, 'wait');
  });

  it('waits while the service has not loaded this candidate or this serving model', () => {
    assert.equal(decideCandidate(input({ comparison: null })).decision, 'wait');
    const other = decideCandidate(
      input({ comparison: comparison({ candidateModelId: 'tft-20261103T000000Z-cccccc' }) }),
    );
    assert.equal(other.decision, 'wait');
    assert.match(other.reasons[0]!, /service compares tft-20261103T000000Z-cccccc/);
    const lagging = decideCandidate(
      input({ comparison: comparison({ servingModelId: 'tft-20261001T000000Z-eeeeee' }) }),
    );
    assert.equal(lagging.decision, 'wait');
  });

  it('waits while a quantile has no q-risk for both models', () => {
    const d = decideCandidate(input({ comparison: comparison({ p90: { candidate: null, serving: 0.1 } }) }));
    assert.equal(d.decision, 'wait');
    assert.match(d.summary, /no P50 and P90 q-risk/);
  });

  it('rolls back a candidate worse than serving on P50 or on P90 alone', () => {
    const p50 = decideCandidate(
      input({ comparison: comparison({ p50: { candidate: 0.12, serving: 0.1 } }) }),
    );
    assert.equal(p50.decision, 'rollback');
    assert.match(p50.summary, /worse than .* live \(P50\)/);
    const p90 = decideCandidate(
      input({ comparison: comparison({ p90: { candidate: 0.051, serving: 0.05 } }) }),
    );
    assert.equal(p90.decision, 'rollback');
    assert.match(p90.reasons[0]!, /^P90 q-risk 0\.0510 vs serving 0\.0500 \(ratio 1\.020/);
  });

  it('honours a looser configured ratio', () => {
    const loose = { ...policy, maxQRiskRatioVsServing: 1.05 };
    const d = decideCandidate(
      input({ policy: loose, comparison: comparison({ p90: { candidate: 0.051, serving: 0.05 } }) }),
    );
    assert.equal(d.decision, 'promote');
  });

  it('rolls back a candidate that cannot be compared on shared points', () => {
    const d = decideCandidate(
      input({ comparison: comparison({ incomparable: 'resolution 900 s vs 3600 s' }) }),
    );
    assert.equal(d.decision, 'rollback');
    assert.match(d.reasons[0]!, /resolution 900 s vs 3600 s/);
  });

  it("respects a person's pin of the serving model: a better candidate is not promoted", () => {
    const d = decideCandidate(input({ servingPin: { what: 'rollback abc by Ann' } }));
    assert.equal(d.decision, 'wait');
    assert.match(d.reasons.join('\n'), /pinned by a person \(rollback abc by Ann\)/);
    // a worse candidate is still removed: that does not touch the pinned serving model
    const worse = decideCandidate(
      input({ servingPin: { what: 'x' }, comparison: comparison({ p50: { candidate: 1, serving: 0.1 } }) }),
    );
    assert.equal(worse.decision, 'rollback');
  });

  it('does not promote a candidate a person rolled back (the rollback-respect rule)', () => {
    const d = decideCandidate(input({ candidateRefusal: `${CANDIDATE} was rolled back in abc by Ann` }));
    assert.equal(d.decision, 'wait');
    assert.match(d.reasons.at(-1)!, /was rolled back/);
  });

  it('treats a zero serving q-risk as a tie only when the candidate is zero too', () => {
    assert.equal(qRiskRatio({ candidate: 0, serving: 0 }), 1);
    assert.equal(qRiskRatio({ candidate: 0.1, serving: 0 }), Number.POSITIVE_INFINITY);
    assert.equal(qRiskRatio({ candidate: null, serving: 0.1 }), null);
  });
});

describe('candidate commits', () => {
  const facts = {
    candidateModelId: CANDIDATE,
    servingModelId: SERVING,
    sharedPoints: 5000,
    liveHours: 30,
    p50: { candidate: 0.12, serving: 0.1 },
    p90: { candidate: 0.05, serving: 0.05 },
    requestedBy: 'fleetcast candidate evaluate',
  };

  it('a rollback names the candidate, keeps serving, and carries the numbers as trailers', () => {
    const decision = decideCandidate(input({ comparison: comparison({ p50: facts.p50 }) }));
    const message = candidateRollbackCommitMessage({ ...facts, decision });
    assert.match(
      message.split('\n')[0]!,
      /^candidate rollback: tft-20261102T000000Z-bbbbbb \(tft-20261101T000000Z-aaaaaa keeps serving\)$/,
    );
    const trailers = parseTrailers(message);
    assert.deepEqual(trailers.get('Fleetcast-Candidate-Rolled-Back'), [CANDIDATE]);
    assert.deepEqual(trailers.get('Fleetcast-Candidate-Decision'), ['rollback']);
    assert.deepEqual(trailers.get('Fleetcast-Shared-Points'), ['5000']);
    assert.match(trailers.get('Fleetcast-QRisk-P50')![0]!, /candidate 0\.12 serving 0\.1 ratio 1\.2/);
    assert.equal(trailers.get('Fleetcast-Model'), undefined, 'not a deploy: the serving model is unchanged');
  });

  it('a promotion adds the evidence to the deploy commit', () => {
    const decision = decideCandidate(input());
    const extra = promotionExtra({ ...facts, p50: { candidate: 0.09, serving: 0.1 }, decision });
    assert.ok(extra.trailers.includes('Fleetcast-Candidate-Decision: promote'));
    assert.ok(extra.lines.some((l) => /^Evidence: P50 q-risk/.test(l)));
  });
});

describe("a person's pin of the serving model", () => {
  const author = (name: string) => ({ name, email: `${name}@example.com` });
  const commit = (sha: string, message: string, by = 'bot'): CommitInfo => ({
    sha: sha.padEnd(40, '0'),
    author: author(by),
    message,
  });
  const deploy = (id: string) => `deploy: ${id}\n\nFleetcast-Model: ${id}\nFleetcast-Previous-Model: none`;

  it('is a rollback a person made; commits that only change the candidate are skipped', () => {
    const manual = rollbackCommitMessage(SERVING, { from: CANDIDATE, reason: 'bad', requestedBy: 'ann' });
    const history = [
      commit('c3', 'candidate: set\n\nno trailers'),
      commit('c2', manual, 'ann'),
      commit('c1', deploy(CANDIDATE)),
    ];
    assert.equal(servingPin(history)?.what, 'rollback c20000000000 by ann');
  });

  it("is not verify's automatic rollback, nor a plain deploy", () => {
    const automatic = rollbackCommitMessage(SERVING, {
      from: CANDIDATE,
      reason: 'verify failed',
      requestedBy: AUTOMATIC_ROLLBACK_REQUESTER,
    });
    assert.equal(servingPin([commit('c2', automatic), commit('c1', deploy(CANDIDATE))]), null);
    assert.equal(servingPin([commit('c1', deploy(SERVING))]), null);
    assert.equal(servingPin([]), null);
  });
});
