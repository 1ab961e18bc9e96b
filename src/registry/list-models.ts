import { readdir } from 'node:fs/promises';
import { modelDir, modelsDir } from './layout.js';
import { InputError } from '../core/errors.js';
import { pathExists } from '../core/path-exists.js';
import { isModelId, modelIdTime } from './model-id.js';
import { readPointer } from './pointer.js';
import { readValidationStatus, type ValidationVerdict } from './validation-status.js';

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

export interface ModelSummary {
  model_id: string;
  /** Training start (UTC), from the model id. */
  created_at: string;
  validation: ValidationVerdict;
  validated_at: string | null;
  /** current.json names this model (the one the service serves once it has loaded it). */
  current: boolean;
}

export interface RegistrySummary {
  registry: string;
  /** The model current.json names, or null when nothing is deployed. */
  current: string | null;
  /** The pointer names a model whose directory is not in the registry. */
  current_missing: boolean;
  models: ModelSummary[];
}

/** Every model of the registry, oldest first, with its validation verdict; the current one marked. */
export async function describeModels(registry: string): Promise<RegistrySummary> {
  if (!(await pathExists(registry))) throw new InputError(`${registry}: registry directory not found`);
  const current = await deployedModelId(registry);
  const ids = await listModelIds(registry);
  const models: ModelSummary[] = [];
  for (const id of ids) {
    const validation = await readValidationStatus(modelDir(registry, id));
    models.push({
      model_id: id,
      created_at: modelIdTime(id).toISOString(),
      validation: validation.verdict,
      validated_at: validation.validatedAt,
      current: id === current,
    });
  }
  return { registry, current, current_missing: current !== null && !ids.includes(current), models };
}
