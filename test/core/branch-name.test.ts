import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { assertBranchName, branchNameProblem } from '../../src/core/branch-name.js';
import { InputError } from '../../src/core/errors.js';
import { driftBranchName } from '../../src/gitops/branch-names.js';

const VALID = ['main', 'release/v1', 'feature/x_y-1.2', 'v1.0', 'a', 'hotfix/2026-11-20', 'a.b/c.d'];
/** What git check-ref-format --branch refuses. */
const GIT_REFUSES = [
  'a..b',
  'a/.b',
  '.a',
  'a.lock/b',
  'x.lock',
  'a/b.',
  'a//b',
  'a/',
  '/a',
  '-x',
  'a b',
  'a~b',
  'a^b',
  'a:b',
  'a?b',
  'a*b',
  'a[b',
  'a\\b',
  'a@{b',
  'HEAD',
];
/** What git takes but Fleetcast does not: shell-looking, control characters, empty, very long. */
const STRICTER = ['', 'main;rm -rf', 'a$b', 'a\u0001b', 'x'.repeat(201)];

function gitAccepts(name: string): boolean {
  return spawnSync('git', ['check-ref-format', '--branch', name], { stdio: 'ignore' }).status === 0;
}

describe('branch names (one rule for the drift bot and the service)', () => {
  it('accepts ordinary branch names, and git agrees', () => {
    for (const name of VALID) {
      assert.equal(branchNameProblem(name), undefined, name);
      assert.ok(gitAccepts(name), `git refuses ${name}`);
    }
  });

  it('refuses every name git check-ref-format --branch refuses', () => {
    for (const name of GIT_REFUSES) {
      assert.ok(!gitAccepts(name), `git takes ${name}`);
      assert.notEqual(branchNameProblem(name), undefined, name);
    }
  });

  it('is stricter than git where a name would reach a command line', () => {
    for (const name of STRICTER) assert.notEqual(branchNameProblem(name), undefined, JSON.stringify(name));
  });

  it('names where the bad branch came from, and why', () => {
    assert.equal(assertBranchName('release/v1', '--branch'), 'release/v1');
    assert.throws(
      () => assertBranchName('a/.b', '--branch'),
      (e: unknown) =>
        e instanceof InputError &&
        e.message === `--branch: invalid branch name "a/.b": component ".b" starts with '.'`,
    );
  });

  it("the drift bot's branch is fixed per base branch, and a bad base is refused", () => {
    assert.equal(driftBranchName('main'), 'fleetcast/drift/main');
    assert.equal(driftBranchName('release/v1'), 'fleetcast/drift/release/v1');
    assert.throws(() => driftBranchName('a.lock/b'), /base branch: invalid branch name "a\.lock\/b"/);
    assert.throws(() => driftBranchName('main..x'), /base branch: invalid branch name/);
  });
});
