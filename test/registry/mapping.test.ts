import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assignServerIndices, changedIndices } from '../../src/registry/mapping.js';
import { InputError } from '../../src/core/errors.js';

describe('assignServerIndices', () => {
  it('starts at index 1 in name order (0 is the unknown server)', () => {
    const m = assignServerIndices(null, ['web-b', 'db-a', 'web-a']);
    assert.deepEqual(m.servers, { 'db-a': 1, 'web-a': 2, 'web-b': 3 });
    assert.deepEqual(m.retired, {});
    assert.equal(m.next_index, 4);
  });

  it('keeps indices across a retrain with one server added and one removed', () => {
    const first = assignServerIndices(null, ['a', 'b', 'c']);
    const second = assignServerIndices(first, ['a', 'c', 'd']);
    assert.deepEqual(second.servers, { a: 1, c: 3, d: 4 });
    assert.deepEqual(second.retired, { b: 2 });
    assert.equal(second.next_index, 5);
    assert.deepEqual(changedIndices(first, second), []);
    assert.deepEqual(first.servers, { a: 1, b: 2, c: 3 }, 'previous mapping is not modified');
  });

  it('gives a returning server its retired index back and never reuses indices', () => {
    const first = assignServerIndices(null, ['a', 'b']);
    const second = assignServerIndices(first, ['a']);
    const third = assignServerIndices(second, ['a', 'b', 'e']);
    assert.deepEqual(third.servers, { a: 1, b: 2, e: 3 });
    assert.deepEqual(third.retired, {});
    const fourth = assignServerIndices(assignServerIndices(third, ['a']), ['a', 'f']);
    assert.equal(fourth.servers.f, 4);
    assert.deepEqual(fourth.retired, { b: 2, e: 3 });
  });

  it('never assigns below next_index even if the previous mapping skipped some', () => {
    const m = assignServerIndices({ format_version: 1, servers: { a: 1 }, retired: {}, next_index: 10 }, [
      'a',
      'b',
    ]);
    assert.equal(m.servers.b, 10);
    assert.equal(m.next_index, 11);
  });

  it('rejects duplicate and invalid names', () => {
    assert.throws(() => assignServerIndices(null, ['a', 'a']), /lists server a twice/);
    assert.throws(() => assignServerIndices(null, ['ok', 'bad/name']), InputError);
  });
});
