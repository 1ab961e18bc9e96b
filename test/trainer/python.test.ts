import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolvePython } from '../../src/core/python.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('trainer (Python unittest suite)', () => {
  it('passes: data validation, TFT shapes, causal mask, normalization, CLI, DDP with 2 processes', () => {
    const result = spawnSync(
      resolvePython(),
      ['-m', 'unittest', 'discover', '-s', 'trainer/tests', '-t', 'trainer'],
      { cwd: root, encoding: 'utf8', timeout: 600_000 },
    );
    assert.equal(result.error, undefined, `could not run ${resolvePython()}: ${String(result.error)}`);
    // unittest reports on stderr; show the tail when it fails
    assert.equal(result.status, 0, result.stderr.slice(-6000));
    assert.match(result.stderr, /\nOK/);
  });
});
