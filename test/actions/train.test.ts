import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../../src/actions/train.js';
import { runAction } from '../helpers/action-runner.js';

let workspace: string;
before(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'fleetcast-train-action-'));
});
after(() => rm(workspace, { recursive: true, force: true }));

test('train: paths outside the workspace and bad enums are refused before any work', async () => {
  const result = await runAction(run, {
    action: 'train',
    workspace,
    inputs: { metrics: '/etc/passwd', device: 'tpu', gates: '../gates.json' },
  });
  assert.equal(result.exitCode, 1);
  const message = result.errors.join('\n');
  assert.match(message, /input metrics: .* outside the workspace/);
  assert.match(message, /input device/);
  assert.match(message, /input gates: .* outside the workspace/);
});

test('train: missing input data fails the step naming the file', async () => {
  const result = await runAction(run, {
    action: 'train',
    workspace,
    inputs: { metrics: 'data/metrics.parquet' },
  });
  assert.equal(result.exitCode, 1);
  assert.match(result.errors.join('\n'), /file not found: .*data\/metrics\.parquet/);
});
