import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bumpPointer, deploy, readPointer, rollback, parsePointer } from '../../src/registry/pointer.js';
import { modelDir, pointerPath } from '../../src/registry/layout.js';
import { Pointer } from '../../src/registry/schemas.js';
import { makeTinyModels } from '../helpers/tiny-model.js';
import { fleetOf, removeDir, tempDir } from './fixtures.js';

const cli = fileURLToPath(new URL('../../bin/fleetcast.js', import.meta.url));
const A = 'tft-20261001T000000Z-aaaaaa';
const B = 'tft-20261101T000000Z-bbbbbb';
const C = 'tft-20261102T000000Z-cccccc';
const sha = (c: string): string => c.repeat(64);

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { ...process.env, FLEETCAST_LOG_LEVEL: 'silent' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bumpPointer (pure)', () => {
  const at = '2026-11-26T04:30:00.000Z';
  it('first deploy has no previous model', () => {
    const p = bumpPointer(null, { model_id: A, sha256: sha('a'), reason: 'first', deployed_at: at });
    assert.deepEqual(p, {
      format_version: 1,
      model_id: A,
      sha256: sha('a'),
      deployed_at: at,
      previous_model_id: null,
      reason: 'first',
    });
  });
  it('records the model it replaces', () => {
    const old = bumpPointer(null, { model_id: A, sha256: sha('a'), reason: 'first', deployed_at: at });
    const p = bumpPointer(old, { model_id: B, sha256: sha('b'), reason: 'drift 35%', deployed_at: at });
    assert.equal(p.previous_model_id, A);
    assert.equal(p.model_id, B);
  });
  it('redeploying the same model keeps the earlier previous model', () => {
    const one = bumpPointer(null, { model_id: A, sha256: sha('a'), reason: 'x', deployed_at: at });
    const two = bumpPointer(one, { model_id: B, sha256: sha('b'), reason: 'y', deployed_at: at });
    const again = bumpPointer(two, { model_id: B, sha256: sha('b'), reason: 'z', deployed_at: at });
    assert.equal(again.previous_model_id, A);
  });
  it('rejects a malformed model id or digest', () => {
    assert.throws(() =>
      bumpPointer(null, { model_id: '../etc', sha256: sha('a'), reason: '', deployed_at: at }),
    );
    assert.throws(() => bumpPointer(null, { model_id: A, sha256: 'xyz', reason: '', deployed_at: at }));
  });
  it('parsePointer names the file and field', () => {
    assert.throws(() => parsePointer('{"format_version":1}', 'current.json'), /current\.json: model_id/);
    assert.throws(() => parsePointer('{', 'current.json'), /current\.json: invalid JSON/);
  });
});

describe('deploy / rollback', () => {
  let registry: string;
  before(async () => {
    registry = await tempDir();
    await makeTinyModels(join(registry, 'models'), [
      { modelId: A, servers: fleetOf(3), validation: { passed: true } },
      { modelId: B, servers: fleetOf(4), validation: { passed: true } },
      { modelId: C, servers: fleetOf(4), validation: { passed: true } },
    ]);
  });
  after(() => removeDir(registry));

  it('deploys, records the previous model, rolls back and rolls back --to', async () => {
    const first = await deploy(registry, A, 'first deploy', { now: new Date('2026-11-26T00:00:00Z') });
    assert.equal(first.changed, true);
    assert.equal(first.pointer.previous_model_id, null);
    const second = await deploy(registry, B, 'fleet drift 35.0%');
    assert.equal(second.pointer.previous_model_id, A);
    assert.equal((await readPointer(registry))!.model_id, B);
    const same = await deploy(registry, B, 'again');
    assert.equal(same.changed, false);

    const back = await rollback(registry);
    assert.equal(back.pointer.model_id, A);
    assert.equal(back.pointer.previous_model_id, B);
    assert.match(back.pointer.reason, new RegExp(`rollback from ${B} to ${A}`));
    const to = await rollback(registry, { to: B });
    assert.equal(to.pointer.model_id, B);
    // the written file parses with the schema and ends with a newline
    const text = await readFile(pointerPath(registry), 'utf8');
    assert.ok(text.endsWith('\n'));
    Pointer.parse(JSON.parse(text));
  });

  it('refuses a model whose files fail SHA256SUMS, and leaves the pointer alone', async () => {
    const before = await readFile(pointerPath(registry), 'utf8');
    const file = join(modelDir(registry, C), 'normalization.json');
    const original = await readFile(file);
    await writeFile(file, `${original.toString()} `);
    try {
      await assert.rejects(deploy(registry, C, 'tampered'), /sha256 mismatch/);
      assert.equal(await readFile(pointerPath(registry), 'utf8'), before);
    } finally {
      await writeFile(file, original);
    }
  });

  it('refuses a directory whose encoders.json names another model', async () => {
    const { cp } = await import('node:fs/promises');
    const wrong = 'tft-20261103T000000Z-dddddd';
    await cp(modelDir(registry, C), modelDir(registry, wrong), { recursive: true });
    await assert.rejects(deploy(registry, wrong, 'renamed'), /does not match its directory/);
  });

  it('refuses ids that are not model ids and models that do not exist', async () => {
    await assert.rejects(deploy(registry, '../../etc', 'x'), /is not a model id/);
    await assert.rejects(deploy(registry, 'tft-20270101T000000Z-abcdef', 'x'), /SHA256SUMS is missing/);
  });

  it('rollback without a previous model is an input error', async () => {
    const fresh = await tempDir();
    try {
      await assert.rejects(rollback(fresh), /nothing has been deployed/);
    } finally {
      await removeDir(fresh);
    }
  });

  it('CLI deploy and rollback (--json), exit 2 on a bad model', async () => {
    const dep = runCli(['deploy', '--registry', registry, '--model-id', C, '--reason', 'cli test', '--json']);
    assert.equal(dep.status, 0, dep.stderr);
    const out = JSON.parse(dep.stdout) as {
      changed: boolean;
      pointer: { model_id: string; previous_model_id: string };
    };
    assert.equal(out.pointer.model_id, C);
    assert.equal(out.pointer.previous_model_id, B);
    const rb = runCli(['rollback', '--registry', registry, '--json']);
    assert.equal(rb.status, 0, rb.stderr);
    assert.equal((JSON.parse(rb.stdout) as { pointer: { model_id: string } }).pointer.model_id, B);
    const human = runCli(['rollback', '--registry', registry, '--model-id', A]);
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`rolled back from ${B} to ${A}`));
    const bad = runCli(['deploy', '--registry', registry, '--model-id', 'not-a-model']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /not a model id/);
  });
});
