import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadModel, type LoadedModel } from './loaded-model.js';
import { modelDir } from '../registry/layout.js';
import { previousModelDir } from '../registry/list-models.js';
import { readPointer } from '../registry/pointer.js';
import { MODEL_FILES } from '../registry/model-files.js';
import { readJsonFile } from '../core/read-json.js';
import { assertChecksums } from '../registry/read-model.js';
import { ServerMapping } from '../registry/schemas.js';
import { getErrorMessage, InputError } from '../core/errors.js';

/**
 * The server mapping a retrain continues from: the deployed model's (current.json), else the
 * newest model's in the registry, else none (first model).
 */
export async function previousMapping(
  registry: string,
): Promise<{ mapping: ServerMapping | null; from: string | null }> {
  const dir = await previousModelDir(registry);
  if (dir === null) return { mapping: null, from: null };
  const path = join(dir, MODEL_FILES.mapping);
  if (!existsSync(path))
    throw new InputError(
      `${path}: not found (the deployed or newest model of ${registry}); cannot keep server indices stable`,
    );
  // Verified like any model file: a tampered mapping would silently move servers' indices.
  await assertChecksums(dir);
  return { mapping: await readJsonFile(path, ServerMapping), from: basename(dir) };
}

/**
 * The deployed model to compare a candidate with: `--baseline-model-dir DIR` when given, else the
 * registry's current.json (its pinned digest verified). A model that cannot be loaded is reported,
 * not fatal: a broken deployment must not block its replacement.
 */
export async function loadBaseline(
  registry: string | null,
  explicitDir: string | null,
): Promise<{ model: LoadedModel | null; note: string | null }> {
  try {
    if (explicitDir) return { model: await loadModel(explicitDir), note: null };
    if (registry === null) return { model: null, note: null };
    const pointer = await readPointer(registry);
    if (!pointer) return { model: null, note: null };
    return {
      model: await loadModel(modelDir(registry, pointer.model_id), { expectedDigest: pointer.sha256 }),
      note: null,
    };
  } catch (error) {
    return { model: null, note: `deployed model not compared: ${getErrorMessage(error)}` };
  }
}
