import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import { modelDir, pointerPath } from '../../src/registry/layout.js';
import {
  bumpPointer,
  clearCandidate,
  deploy,
  parsePointer,
  readPointer,
  setCandidate,
} from '../../src/registry/pointer.js';
import { writeModelFixture } from '../helpers/model-fixture.js';

const SHA = 'a'.repeat(64);
const OLD_POINTER = {
  format_version: 1,
  model_id: 'tft-20261101T000000Z-aaaaaa',
  sha256: SHA,
  deployed_at: '2026-11-01T01:00:00.000Z',
  previous_model_id: null,
  reason: 'first deploy',
};
const candidate = (extra: Record<string, unknown>) =>
  JSON.stringify({
    ...OLD_POINTER,
    candidate: {
      model_id: 'tft-20261102T000000Z-bbbbbb',
      sha256: 'b'.repeat(64),
      since: '2026-11-02T00:00:00.000Z',
      ...extra,
    },
  });

describe('pointer candidate schema', () => {
  it('accepts a pointer written before candidates (no candidate key)', () => {
    assert.equal(parsePointer(JSON.stringify(OLD_POINTER), 'current.json').candidate, undefined);
  });

  it('accepts a shadow candidate and an A/B candidate with a share', () => {
    assert.equal(parsePointer(candidate({ mode: 'shadow' }), 'p').candidate?.mode, 'shadow');
    assert.equal(parsePointer(candidate({ mode: 'ab', share: 0.1 }), 'p').candidate?.share, 0.1);
  });

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an A/B candidate without a share', { mode: 'ab' }, /candidate\.share.*required in ab mode/],
    ['a share of 0', { mode: 'ab', share: 0 }, /candidate\.share/],
    ['a share of 1', { mode: 'ab', share: 1 }, /candidate\.share/],
    ['a share in shadow mode', { mode: 'shadow', share: 0.2 }, /candidate\.share.*ab mode only/],
    ['an unknown mode', { mode: 'canary' }, /candidate\.mode/],
    ['an unknown key', { mode: 'shadow', weight: 2 }, /weight/],
    ['a bad since', { mode: 'shadow', since: 'yesterday' }, /candidate\.since/],
    [
      'the serving model as candidate',
      { mode: 'shadow', model_id: OLD_POINTER.model_id },
      /is the serving model/,
    ],
  ];
  for (const [what, extra, message] of bad) {
    it(`rejects ${what}, naming the field`, () => {
      assert.throws(() => parsePointer(candidate(extra), 'current.json'), message);
    });
  }

  it('a deploy of another model keeps the candidate; deploying the candidate ends it', () => {
    const pointer = parsePointer(candidate({ mode: 'shadow' }), 'p');
    const other = bumpPointer(pointer, {
      model_id: 'tft-20261103T000000Z-cccccc',
      sha256: SHA,
      reason: 'retrain',
      deployed_at: '2026-11-03T00:00:00.000Z',
    });
    assert.equal(other.candidate?.model_id, 'tft-20261102T000000Z-bbbbbb');
    const promoted = bumpPointer(pointer, {
      model_id: 'tft-20261102T000000Z-bbbbbb',
      sha256: 'b'.repeat(64),
      reason: 'promote',
      deployed_at: '2026-11-03T00:00:00.000Z',
    });
    assert.equal(promoted.candidate, undefined);
    assert.equal(promoted.previous_model_id, OLD_POINTER.model_id);
  });
});

describe('setting and clearing the candidate in a registry', () => {
  let registry: string;
  const serving = 'tft-20261101T000000Z-aaaaaa';
  const next = 'tft-20261102T000000Z-bbbbbb';
  before(async () => {
    registry = await mkdtemp(join(tmpdir(), 'fleetcast-candidate-'));
    await writeModelFixture(modelDir(registry, serving), serving, ['web-01']);
    await writeModelFixture(modelDir(registry, next), next, ['web-01']);
  });
  after(async () => rm(registry, { recursive: true, force: true }));

  it('refuses a candidate before anything is deployed', async () => {
    await assert.rejects(setCandidate(registry, { modelId: next, mode: 'shadow' }), InputError);
  });

  it('sets a verified candidate, keeps `since` on a repeat, and clears it', async () => {
    await deploy(registry, serving, 'first');
    await assert.rejects(
      setCandidate(registry, { modelId: serving, mode: 'shadow' }),
      /is the serving model/,
    );
    const set = await setCandidate(registry, {
      modelId: next,
      mode: 'ab',
      share: 0.25,
      now: new Date('2026-11-02T10:00:00Z'),
    });
    assert.equal(set.changed, true);
    assert.equal(set.pointer.model_id, serving);
    assert.deepEqual(
      { ...set.pointer.candidate, sha256: undefined },
      { model_id: next, mode: 'ab', share: 0.25, since: '2026-11-02T10:00:00.000Z', sha256: undefined },
    );
    const again = await setCandidate(registry, { modelId: next, mode: 'ab', share: 0.25 });
    assert.equal(again.changed, false);
    const onDisk = parsePointer(await readFile(pointerPath(registry), 'utf8'), 'p');
    assert.equal(onDisk.candidate?.since, '2026-11-02T10:00:00.000Z');
    assert.equal((await clearCandidate(registry)).changed, true);
    assert.equal((await readPointer(registry))?.candidate, undefined);
    assert.equal((await clearCandidate(registry)).changed, false);
  });

  it('refuses a candidate whose files do not match SHA256SUMS', async () => {
    const broken = 'tft-20261104T000000Z-dddddd';
    await writeModelFixture(modelDir(registry, broken), broken, ['web-01']);
    await rm(join(modelDir(registry, broken), 'model.onnx'));
    await assert.rejects(setCandidate(registry, { modelId: broken, mode: 'shadow' }), /refusing model/);
    assert.equal((await readPointer(registry))?.candidate, undefined);
  });
});
