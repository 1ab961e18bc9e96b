import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listServers, vocabularyCoverage } from '../../src/fleet/coverage.js';

describe('vocabularyCoverage (the coverage rule)', () => {
  it('splits the distinct manifest servers into covered and missing, sorted', () => {
    const coverage = vocabularyCoverage(['s9', 's1', 's1', 'a0'], new Set(['s1', 's2', 'a0']));
    assert.deepEqual(coverage, {
      intended: 3,
      covered: ['a0', 's1'],
      missing: ['s9'],
      percent: (2 / 3) * 100,
    });
  });
  it('an empty manifest is fully covered', () => {
    assert.deepEqual(vocabularyCoverage([], new Set(['s1'])), {
      intended: 0,
      covered: [],
      missing: [],
      percent: 100,
    });
  });
  it('lists at most `max` names, then the count', () => {
    assert.equal(listServers(['a', 'b']), 'a, b');
    assert.equal(listServers(['a', 'b', 'c'], 2), 'a, b, … (3 in all)');
  });
});
