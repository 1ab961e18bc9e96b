import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { FleetcastError, InputError } from '../core/errors.js';
import { assertServerName } from '../core/server-name.js';
import { CHECKSUMS_FILE, parseChecksums, sha256Text } from '../registry/checksums.js';
import { describeZodError } from '../core/read-json.js';
import { Encoders, MODEL_ID_PATTERN, Pointer } from '../registry/schemas.js';

/** The servers a deployed model knows, and when it was trained. */
export interface ModelVocabulary {
  /** Model id, or null for a plain server list or when no model is deployed. */
  id: string | null;
  servers: string[];
  trainedAt: Date | null;
  /** Where the vocabulary came from, in words. */
  source: string;
  /** False when the registry has no current.json: nothing is deployed yet. */
  deployed: boolean;
}

/**
 * `--model-servers FILE`: one server name per line (the seed's server_list.txt); blank lines and
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
    source: `server list ${path}`,
    deployed: true,
  };
}

/** training_info.json (src/registry/training-info.ts): only the time fields matter here. */
const TrainingTimes = z.looseObject({
  trained_at: z.iso.datetime({ offset: true }).optional(),
  finished_at: z.iso.datetime({ offset: true }).optional(),
  started_at: z.iso.datetime({ offset: true }).optional(),
});

/**
 * `--registry DIR`: DIR/current.json names the deployed model; its encoders.json holds the
 * vocabulary and training_info.json the training time. Both are checked against SHA256SUMS,
 * whose own digest the pointer pins, before they are trusted.
 */
export async function readRegistryVocabulary(dir: string): Promise<ModelVocabulary> {
  const pointerPath = join(dir, 'current.json');
  const pointerText = await readOptional(pointerPath);
  if (pointerText === undefined)
    return {
      id: null,
      servers: [],
      trainedAt: null,
      source: `registry ${dir} (no current.json)`,
      deployed: false,
    };
  const pointer = parseJson(Pointer, pointerText, pointerPath);
  const modelDir = join(dir, 'models', pointer.model_id);
  const sumsPath = join(modelDir, CHECKSUMS_FILE);
  const sumsText = await readRequired(sumsPath);
  if (sha256Text(sumsText) !== pointer.sha256)
    throw new FleetcastError(
      `${sumsPath}: sha256 does not match ${pointerPath} (model files changed after deploy?)`,
    );
  const sums = parseChecksums(sumsText, sumsPath);

  const encodersText = await readVerified(modelDir, 'encoders.json', sums);
  const encoders = parseJson(Encoders, encodersText, join(modelDir, 'encoders.json'));
  if (encoders.model_id !== pointer.model_id)
    throw new InputError(
      `${join(modelDir, 'encoders.json')}: model_id ${encoders.model_id} ≠ pointer ${pointer.model_id}`,
    );

  let trainedAt: Date | null = trainingStartFromId(pointer.model_id);
  if (sums.has('training_info.json')) {
    const infoPath = join(modelDir, 'training_info.json');
    const info = parseJson(TrainingTimes, await readVerified(modelDir, 'training_info.json', sums), infoPath);
    const when = info.trained_at ?? info.finished_at ?? info.started_at;
    if (when !== undefined) trainedAt = new Date(when);
  }
  return {
    id: pointer.model_id,
    servers: Object.keys(encoders.server_id.classes).sort(),
    trainedAt,
    source: `registry ${dir}, model ${pointer.model_id}`,
    deployed: true,
  };
}

/** Model ids are tft-YYYYMMDDTHHMMSSZ-xxxxxx: the UTC training start. */
export function trainingStartFromId(id: string): Date | null {
  if (!MODEL_ID_PATTERN.test(id)) return null;
  const m = /^tft-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id)!;
  const date = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

async function readVerified(modelDir: string, name: string, sums: Map<string, string>): Promise<string> {
  const path = join(modelDir, name);
  const expected = sums.get(name);
  if (expected === undefined) throw new FleetcastError(`${path}: not listed in ${CHECKSUMS_FILE}`);
  const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new FleetcastError(`${path}: cannot read (${error.code ?? String(error)})`);
  });
  if (sha256Text(bytes) !== expected)
    throw new FleetcastError(`${path}: sha256 mismatch with ${CHECKSUMS_FILE}`);
  return bytes.toString('utf8');
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FleetcastError(
      `${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
}

async function readRequired(path: string): Promise<string> {
  const text = await readOptional(path);
  if (text === undefined) throw new FleetcastError(`${path}: missing`);
  return text;
}

function parseJson<T>(schema: z.ZodType<T>, text: string, where: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(
      `${where}: not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const result = schema.safeParse(json);
  if (!result.success) throw new InputError(describeZodError(where, result.error));
  return result.data;
}
