import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { verifyChecksums } from '../../src/registry/checksums.js';
import { modelDir, pointerPath } from '../../src/registry/layout.js';
import { deploy } from '../../src/registry/pointer.js';
import { writeModelDir } from '../../src/registry/write-model.js';
import { sampleModelJson } from './fixtures/model-files.js';

/**
 * docs/service.md promises "no unlisted file" in a model directory: a symbolic link (listed or
 * not), a symlinked model directory, or a sub-folder is refused, and the error names the path.
 */
describe('a model directory holds only the regular files SHA256SUMS lists', () => {
  let root: string;
  let registry: string;
  let outside: string;
  const id = 'tft-20261101T000000Z-aaaaaa';

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'fleetcast-entries-'));
    outside = join(root, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'secret.txt'), 'not part of any model\n');
  });
  after(() => rm(root, { recursive: true, force: true }));

  beforeEach(async () => {
    registry = await mkdtemp(join(root, 'registry-'));
    const onnx = join(registry, 'graph.onnx');
    await writeFile(onnx, Buffer.from([8, 7, 1, 2, 3]));
    await writeModelDir(registry, id, {
      json: sampleModelJson(id, { 'web-1': 1 }),
      copies: { 'model.onnx': onnx },
    });
  });

  async function refused(pattern: RegExp): Promise<void> {
    const check = await verifyChecksums(modelDir(registry, id));
    assert.equal(check.ok, false, 'verifyChecksums must refuse it');
    assert.match(check.problems.join('\n'), pattern);
    await assert.rejects(deploy(registry, id, 'test'), pattern);
    await assert.rejects(readFile(pointerPath(registry)), { code: 'ENOENT' });
  }

  it('refuses an unlisted symbolic link, naming it', async () => {
    const link = join(modelDir(registry, id), 'extra.onnx');
    await symlink(join(outside, 'secret.txt'), link);
    await refused(/extra\.onnx.*symbolic link/);
  });

  it('refuses a listed file that is a symbolic link, naming it', async () => {
    const file = join(modelDir(registry, id), 'normalization.json');
    const moved = join(outside, 'normalization.json');
    await rename(file, moved);
    await symlink(moved, file);
    await refused(/normalization\.json.*symbolic link/);
  });

  it('refuses an unlisted sub-folder, naming it', async () => {
    await mkdir(join(modelDir(registry, id), 'extra'));
    await writeFile(join(modelDir(registry, id), 'extra', 'weights.bin'), 'x');
    await refused(/extra.*directory/);
  });

  it('refuses a model directory that is itself a symbolic link, naming it', async () => {
    const real = join(root, `real-${id}-${Date.now()}`);
    await rename(modelDir(registry, id), real);
    await symlink(real, modelDir(registry, id), 'dir');
    await refused(new RegExp(`${id}.*symbolic link`));
  });
});
