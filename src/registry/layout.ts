import { join } from 'node:path';
import { assertModelId } from './model-id.js';

/**
 * Registry layout (docs/MODEL_FORMAT.md): `<registry>/models/<model_id>/` holds one model,
 * `<registry>/current.json` points at the deployed one. Models are assembled in
 * `<registry>/models/.tmp-<model_id>-<pid>/` and renamed into place.
 */
export const MODELS_DIR = 'models';
export const POINTER_FILE = 'current.json';
export const TEMP_PREFIX = '.tmp-';

export function modelsDir(registry: string): string {
  return join(registry, MODELS_DIR);
}

export function modelDir(registry: string, id: string): string {
  return join(modelsDir(registry), assertModelId(id));
}

export function pointerPath(registry: string): string {
  return join(registry, POINTER_FILE);
}

/** The lock file that serialises pointer writes (see pointer-lock.ts); hidden, beside current.json. */
export function pointerLockPath(registry: string): string {
  return join(registry, `.${POINTER_FILE}.lock`);
}
