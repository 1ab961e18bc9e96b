import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../core/errors.js';
import { parseJsonText } from '../core/read-json.js';
import { assertServerName } from '../core/server-name.js';
import { MODEL_FILES } from '../registry/model-files.js';
import { trainingStartFromId } from '../registry/model-id.js';
import { openPinnedModel } from '../registry/pinned-model.js';
import { Encoders } from '../registry/schemas.js';
import { TrainingTimes } from '../registry/training-info.js';

/** The servers a deployed model knows, and when it was trained. */
export interface ModelVocabulary {
  /** Model id, or null for a plain server list or when no model is deployed. */
  id: string | null;
  servers: string[];
  /** When the model was made (training_info.json, else the id's timestamp). */
  trainedAt: Date | null;
  /**
   * The end of the data it was trained on (training_info.json `data.end`, exclusive, and the
   * resolution of its last bucket); null for a server list or a model whose file lacks it.
   */
  trainedOn: { end: Date; resolutionSeconds: number } | null;
  /** Where the vocabulary came from, in words. */
  source: string;
  /** False when the registry has no current.json: nothing is deployed yet. */
  deployed: boolean;
}

/**
 * `--model-servers FILE`: one server name per line (the design's server_list.txt); blank lines and
 * '#' comments are skipped; every name is validated and duplicates are rejected.
 */
export function parseServerList(text: string, where: string): string[] {
  const seen = new Map<string, number>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const name = assertServerName(line, `${where}:${i + 1}`);
    const first = seen.get(name);
    if (first !== undefined)
      throw new InputError(`${where}:${i + 1}: duplicate server ${name} (first on line ${first})`);
    seen.set(name, i + 1);
  });
  return [...seen.keys()];
}

export async function readServerList(path: string): Promise<ModelVocabulary> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(
      `${path}: cannot read server list (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  return {
    id: null,
    servers: parseServerList(text, path),
    trainedAt: null,
    trainedOn: null,
    source: `server list ${path}`,
    deployed: true,
  };
}

/**
 * `--registry DIR`: DIR/current.json names the deployed model; its encoders.json holds the
 * vocabulary and training_info.json the training time. Both are read through the registry's
 * pinned-model reader, which checks them against SHA256SUMS, whose own digest the pointer pins.
 */
export async function readRegistryVocabulary(dir: string): Promise<ModelVocabulary> {
  // A mistyped path is not "nothing deployed yet": that would recommend training a first model.
  const stats = await stat(dir).catch(() => null);
  if (stats === null || !stats.isDirectory())
    throw new InputError(`--registry ${dir}: ${stats === null ? 'does not exist' : 'is not a directory'}`);
  const model = await openPinnedModel(dir);
  if (model === null)
    return {
      id: null,
      servers: [],
      trainedAt: null,
      trainedOn: null,
      source: `registry ${dir} (no current.json)`,
      deployed: false,
    };
  const id = model.pointer.model_id;
  const encodersPath = join(model.dir, MODEL_FILES.encoders);
  const encoders = parseJsonText(await model.readVerified(MODEL_FILES.encoders), encodersPath, Encoders);
  if (encoders.model_id !== id)
    throw new InputError(`${encodersPath}: model_id ${encoders.model_id} ≠ pointer ${id}`);

  let trainedAt: Date | null = trainingStartFromId(id);
  let trainedOn: ModelVocabulary['trainedOn'] = null;
  if (model.lists(MODEL_FILES.trainingInfo)) {
    const info = parseJsonText(
      await model.readVerified(MODEL_FILES.trainingInfo),
      join(model.dir, MODEL_FILES.trainingInfo),
      TrainingTimes,
    );
    const when = info.trained_at ?? info.finished_at ?? info.started_at;
    if (when !== undefined) trainedAt = new Date(when);
    if (info.data?.end !== undefined)
      trainedOn = { end: new Date(info.data.end), resolutionSeconds: info.data.resolution_seconds ?? 0 };
  }
  return {
    id,
    servers: Object.keys(encoders.server_id.classes).sort(),
    trainedAt,
    trainedOn,
    source: `registry ${dir}, model ${id}`,
    deployed: true,
  };
}
