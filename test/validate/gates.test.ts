import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeCoverage } from '../../src/validate/coverage.js';
import { DEFAULT_GATES, GateConfig, evaluateGates, gatesPassed } from '../../src/validate/gates.js';
import type { ScoreEntry } from '../../src/validate/scoring.js';

function scores(model: number, naive: number, unknown = model): ScoreEntry[] {
  const out: ScoreEntry[] = [];
  for (const q of [0.1, 0.5, 0.9]) {
    out.push({ model: 'model', group: 'all', target: 'cpu_pct', quantile: q, q_risk: model, points: 10 });
    out.push({ model: 'model', group: 'known', target: 'cpu_pct', quantile: q, q_risk: model, points: 8 });
    out.push({
      model: 'model',
      group: 'known_profile_matched',
      target: 'cpu_pct',
      quantile: q,
      q_risk: model,
      points: 8,
    });
    out.push({
      model: 'model',
      group: 'unknown_profile_matched',
      target: 'cpu_pct',
      quantile: q,
      q_risk: unknown,
      points: 2,
    });
    out.push({
      model: 'model',
      group: 'unknown',
      target: 'cpu_pct',
      quantile: q,
      q_risk: unknown,
      points: 2,
    });
    out.push({
      model: 'seasonal_naive',
      group: 'all',
      target: 'cpu_pct',
      quantile: q,
      q_risk: naive,
      points: 10,
    });
  }
  return out;
}
const coverage = computeCoverage(['a'], new Set(['a']), new Map([['a', true]]));
const convergence = {
  passed: true,
  reference: 'untrained' as const,
  first_val_loss: 1,
  best_val_loss: 0.5,
  best_epoch: 2,
  improvement: 0.5,
  message: 'ok',
};
const base = {
  coverage,
  convergence,
  targets: ['cpu_pct'],
  quantiles: [0.1, 0.5, 0.9],
  deployedScored: false,
};

describe('gates', () => {
  it('defaults: P50 and P90 no worse than seasonal naive', () => {
    assert.equal(gatesPassed(evaluateGates(DEFAULT_GATES, { ...base, scores: scores(0.1, 0.2) })), true);
    const failed = evaluateGates(DEFAULT_GATES, { ...base, scores: scores(0.25, 0.2) });
    assert.equal(gatesPassed(failed), false);
    assert.match(failed.find((g) => !g.passed)!.name, /p50 vs seasonal naive: cpu_pct/);
  });
  it('reports unknown vs known without gating unless configured', () => {
    const results = evaluateGates(DEFAULT_GATES, { ...base, scores: scores(0.1, 0.2, 0.5) });
    const unknown = results.find((g) => g.name.startsWith('p50 unknown'))!;
    assert.equal(unknown.enforced, false);
    assert.equal(unknown.ratio, 5);
    const strict = GateConfig.parse({ accuracy: { max_ratio_unknown_vs_known: 1.3 } });
    assert.equal(gatesPassed(evaluateGates(strict, { ...base, scores: scores(0.1, 0.2, 0.5) })), false);
  });
  it('a retrain may not be more than 10 % worse than the deployed model at P50', () => {
    const withDeployed = (deployed: number) => [
      ...scores(0.1, 0.2),
      ...[0.1, 0.5, 0.9].map((quantile) => ({
        model: 'deployed',
        group: 'all' as const,
        target: 'cpu_pct',
        quantile,
        q_risk: deployed,
        points: 10,
      })),
    ];
    const ok = evaluateGates(DEFAULT_GATES, { ...base, deployedScored: true, scores: withDeployed(0.095) });
    assert.equal(gatesPassed(ok), true);
    const worse = evaluateGates(DEFAULT_GATES, { ...base, deployedScored: true, scores: withDeployed(0.08) });
    assert.equal(gatesPassed(worse), false);
    assert.match(worse.find((g) => !g.passed)!.detail, /ratio 1\.250 > limit 1\.1/);
    assert.equal(worse.find((g) => g.name === 'p90 vs deployed model: cpu_pct')!.enforced, false);
  });

  it('coverage under 100 % fails whatever the accuracy', () => {
    const partial = computeCoverage(['a', 'b'], new Set(['a']), new Map([['a', true]]));
    const results = evaluateGates(DEFAULT_GATES, { ...base, coverage: partial, scores: scores(0.1, 0.2) });
    assert.equal(gatesPassed(results), false);
    assert.match(results[0]!.detail, /we intended 2 servers, the model covers 1/);
  });
  it('rejects unknown keys and quantiles the model lacks', () => {
    assert.throws(() => GateConfig.parse({ accuracy: { max_ratio: 1 } }));
    const config = GateConfig.parse({ accuracy: { max_ratio_vs_seasonal_naive: { '0.75': 1 } } });
    assert.throws(
      () => evaluateGates(config, { ...base, scores: scores(0.1, 0.2) }),
      /quantile 0\.75 is not a model quantile/,
    );
  });
});
