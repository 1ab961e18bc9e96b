import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FleetcastError } from '../core/errors.js';
import { CHECKSUMS_FILE, parseChecksums, sha256Text } from './checksums.js';
import { modelDir, pointerPath } from './layout.js';
import { readPointer } from './pointer.js';
import type { Pointer } from './schemas.js';

/**
 * The deployed model's files, read one at a time without verifying the whole directory:
 * `current.json` names the model, its SHA256SUMS must have the digest the pointer pins, and every
 * file read is checked against SHA256SUMS before it is trusted.
 */
export interface PinnedModel {
  pointer: Pointer;
  dir: string;
  /** Whether SHA256SUMS lists `name`. */
  lists(name: string): boolean;
  /** A file of the model, its sha256 checked against SHA256SUMS; FleetcastError when unlisted or changed. */
  readVerified(name: string): Promise<string>;
}

/** The model `<registry>/current.json` points at, or null when the registry has no pointer yet. */
export async function openPinnedModel(registry: string): Promise<PinnedModel | null> {
  const pointer = await readPointer(registry);
  if (pointer === null) return null;
  const dir = modelDir(registry, pointer.model_id);
  const sumsPath = join(dir, CHECKSUMS_FILE);
  const sumsText = await readRequired(sumsPath);
  if (sha256Text(sumsText) !== pointer.sha256)
    throw new FleetcastError(
      `${sumsPath}: sha256 does not match ${pointerPath(registry)} (model files changed after deploy?)`,
    );
  const sums = parseChecksums(sumsText, sumsPath);
  return {
    pointer,
    dir,
    lists: (name) => sums.has(name),
    async readVerified(name) {
      const path = join(dir, name);
      const expected = sums.get(name);
      if (expected === undefined) throw new FleetcastError(`${path}: not listed in ${CHECKSUMS_FILE}`);
      const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
        throw new FleetcastError(`${path}: cannot read (${error.code ?? String(error)})`);
      });
      if (sha256Text(bytes) !== expected)
        throw new FleetcastError(`${path}: sha256 mismatch with ${CHECKSUMS_FILE}`);
      return bytes.toString('utf8');
    },
  };
}

async function readRequired(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FleetcastError(`${path}: missing`);
    throw new FleetcastError(`${path}: cannot read (${code ?? String(error)})`);
  }
}
