import { readdir } from 'node:fs/promises';
import { modelDir, modelsDir } from './layout.js';
import { isModelId } from './model-id.js';
import { readPointer } from './pointer.js';

/** Model ids in the registry, oldest first (ids sort by training time). `.tmp-*` dirs are skipped. */
export async function listModelIds(registry: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(modelsDir(registry), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((e) => e.isDirectory() && isModelId(e.name))
    .map((e) => e.name)
    .sort();
}

export async function newestModelId(registry: string): Promise<string | null> {
  const ids = await listModelIds(registry);
  return ids.at(-1) ?? null;
}

/** The deployed model's id from `<registry>/current.json`, or null when nothing is deployed. */
export async function deployedModelId(registry: string): Promise<string | null> {
  return (await readPointer(registry))?.model_id ?? null;
}

/**
 * The model a retrain continues from (its server mapping is kept stable): the deployed one, else
 * the newest in the registry, else none.
 */
export async function previousModelDir(registry: string): Promise<string | null> {
  const id = (await deployedModelId(registry)) ?? (await newestModelId(registry));
  return id === null ? null : modelDir(registry, id);
}
