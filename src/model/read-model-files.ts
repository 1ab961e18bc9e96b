import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeZodError } from '../core/read-json.js';
import { getErrorMessage } from '../core/errors.js';
import { CHECKSUMS_FILE, parseChecksums, sha256Text } from '../registry/checksums.js';
import { Encoders } from '../registry/schemas.js';
import { ModelLoadError } from './model-load-error.js';

export async function readEncoders(modelDir: string): Promise<Encoders> {
  const path = join(modelDir, 'encoders.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ModelLoadError('format', `${path}: not valid JSON: ${getErrorMessage(error)}`, {
      cause: error,
    });
  }
  const parsed = Encoders.safeParse(raw);
  if (!parsed.success) throw new ModelLoadError('format', describeZodError(path, parsed.error));
  return parsed.data;
}

/** Reads a file and checks it against its SHA256SUMS entry, so what is loaded is what was verified. */
export async function readVerified(modelDir: string, name: string): Promise<Uint8Array> {
  const list = parseChecksums(
    await readFile(join(modelDir, CHECKSUMS_FILE), 'utf8'),
    join(modelDir, CHECKSUMS_FILE),
  );
  const bytes = await readFile(join(modelDir, name));
  if (list.get(name) !== sha256Text(bytes)) {
    throw new ModelLoadError('checksum', `${join(modelDir, name)}: changed while loading (sha256 mismatch)`);
  }
  return bytes;
}
