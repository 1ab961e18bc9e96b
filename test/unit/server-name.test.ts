import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertServerName, isValidServerName, serverNameProblem } from '../../src/core/server-name.js';
import { InputError } from '../../src/core/errors.js';

describe('server names', () => {
  it('accepts hostname-like names', () => {
    for (const name of ['web-0001', 'db.eu-west-1.internal', 'A_1', '9x'])
      assert.ok(isValidServerName(name), name);
  });

  const rejected: Array<[string, RegExp]> = [
    ['', /empty/],
    ['a'.repeat(129), /129 characters/],
    ['../etc/passwd', /contains "\."|'\.\.'/],
    ['web/01', /path separator/],
    ['web\\01', /path separator/],
    ["web'01", /"'"/],
    ['web"01', /"\\""/],
    ['web\n01', /control character \(U\+000A\)/],
    ['web\u0000', /control character/],
    ['<script>', /"<"/],
    ['**bold**', /"\*"/],
    ['[x](http://e)', /"\["/],
    ['web 01', /a space/],
    ['a..b', /'\.\.'/],
    ['main.lock', /\.lock/],
    ['-flag', /"-"/],
  ];
  for (const [name, reason] of rejected) {
    it(`rejects ${JSON.stringify(name.slice(0, 20))}`, () => {
      const problem = serverNameProblem(name);
      assert.ok(problem, `expected ${JSON.stringify(name)} to be rejected`);
      assert.match(problem, reason);
    });
  }

  it('names where the bad name came from', () => {
    assert.throws(
      () => assertServerName('a/b', 'metrics.parquet row 17'),
      (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(error.message, /^metrics\.parquet row 17: invalid server name "a\/b": /);
        return true;
      },
    );
  });
});
