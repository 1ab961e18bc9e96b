import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readRegistryVocabulary } from '../../src/drift/vocabulary.js';
import { InputError } from '../../src/core/errors.js';

describe('the deployed vocabulary from --registry', () => {
  it('a registry path that does not exist is an error, not "no model deployed yet"', async () => {
    await assert.rejects(readRegistryVocabulary('/nonexistent/models-registry'), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /--registry \/nonexistent\/models-registry: does not exist/);
      return true;
    });
  });

  it('a file instead of a directory is an error; an empty registry has nothing deployed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleetcast-vocab-'));
    try {
      await writeFile(join(dir, 'file'), 'x');
      await assert.rejects(readRegistryVocabulary(join(dir, 'file')), /is not a directory/);
      const empty = await readRegistryVocabulary(dir);
      assert.equal(empty.deployed, false);
      assert.deepEqual(empty.servers, []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
