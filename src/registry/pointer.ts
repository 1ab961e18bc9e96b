import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, toJsonText } from '../core/atomic-write.js';
import { getErrorMessage, InputError } from '../core/errors.js';
import { verifyChecksums } from './checksums.js';
import { modelDir, pointerPath } from './layout.js';
import { assertModelId } from './model-id.js';
import { parseJsonText, readJsonFile } from '../core/read-json.js';
import { Encoders, Pointer } from './schemas.js';

/**
 * The deployment pointer `<registry>/current.json` (docs/MODEL_FORMAT.md): read, bump, write.
 * `fleetcast deploy` / `rollback` and the GitOps actions all go through here, so every writer
 * verifies the model the same way and produces the same file.
 */

export function parsePointer(text: string, where: string): Pointer {
  return parseJsonText(text, where, Pointer);
}

export function renderPointer(pointer: Pointer): string {
  return toJsonText(pointer);
}

/** The current pointer, or null when the registry has none yet (nothing deployed). */
export async function readPointer(registry: string): Promise<Pointer | null> {
  const path = pointerPath(registry);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return parsePointer(text, path);
}

export async function writePointer(registry: string, pointer: Pointer): Promise<void> {
  await writeFileAtomic(pointerPath(registry), renderPointer(Pointer.parse(pointer)));
}

export interface PointerTarget {
  model_id: string;
  sha256: string;
  reason: string;
  deployed_at: string;
}

/**
 * The pointer after deploying `next` over `old` (pure, so the CLI and the GitOps actions produce
 * identical files). Redeploying the model already pointed at keeps the recorded previous model,
 * so a repeated deploy cannot make rollback target the model itself.
 */
export function bumpPointer(old: Pointer | null, next: PointerTarget): Pointer {
  const previous =
    old === null ? null : old.model_id === next.model_id ? old.previous_model_id : old.model_id;
  return Pointer.parse({
    format_version: 1,
    model_id: next.model_id,
    sha256: next.sha256,
    deployed_at: next.deployed_at,
    previous_model_id: previous,
    reason: next.reason.slice(0, 2000),
  });
}

export interface VerifiedModel {
  modelId: string;
  dir: string;
  /** sha256 of the model's SHA256SUMS: the digest the pointer pins. */
  digest: string;
}

/**
 * Checks that `models/<id>/` exists, every file matches SHA256SUMS (and nothing unlisted is
 * there), and encoders.json names the same model id as its directory. Throws an InputError
 * naming the problem.
 */
export async function verifyModelDir(registry: string, modelId: string): Promise<VerifiedModel> {
  const dir = modelDir(registry, assertModelId(modelId));
  let check;
  try {
    check = await verifyChecksums(dir);
  } catch (error) {
    throw new InputError(`${dir}: cannot verify checksums: ${getErrorMessage(error)}`, { cause: error });
  }
  if (!check.ok) throw new InputError(`${dir}: refusing model: ${check.problems.join('; ')}`);
  const encodersPath = join(dir, 'encoders.json');
  const encoders = await readJsonFile(encodersPath, Encoders);
  if (encoders.model_id !== modelId) {
    throw new InputError(
      `${encodersPath}: model_id ${encoders.model_id} does not match its directory ${modelId}`,
    );
  }
  return { modelId, dir, digest: check.digest };
}

export interface PointerChange {
  pointer: Pointer;
  /** The pointer before the change (null for the first deploy). */
  before: Pointer | null;
  /** False when the pointer already named this model with this digest (nothing written). */
  changed: boolean;
}

export interface PointerChangeOptions {
  now?: Date;
}

/** Points the registry at `modelId` after verifying it; atomic (temp file + rename). */
export async function deploy(
  registry: string,
  modelId: string,
  reason: string,
  options: PointerChangeOptions = {},
): Promise<PointerChange> {
  const verified = await verifyModelDir(registry, modelId);
  const before = await readPointer(registry);
  if (before && before.model_id === modelId && before.sha256 === verified.digest)
    return { pointer: before, before, changed: false };
  const pointer = bumpPointer(before, {
    model_id: modelId,
    sha256: verified.digest,
    reason,
    deployed_at: (options.now ?? new Date()).toISOString(),
  });
  await writePointer(registry, pointer);
  return { pointer, before, changed: true };
}

export interface RollbackOptions extends PointerChangeOptions {
  /** Model to go back to; default: the pointer's previous_model_id. */
  to?: string;
  reason?: string;
}

/** Points the registry back at the previous model (or `to`), verified like a deploy. */
export async function rollback(registry: string, options: RollbackOptions = {}): Promise<PointerChange> {
  const before = await readPointer(registry);
  const path = pointerPath(registry);
  if (before === null)
    throw new InputError(`${path}: no pointer; nothing has been deployed, so nothing to roll back`);
  const target = options.to ?? before.previous_model_id;
  if (target === null)
    throw new InputError(`${path}: ${before.model_id} has no previous model; name one with --model-id`);
  if (target === before.model_id)
    throw new InputError(`${path}: ${target} is already deployed; nothing to roll back`);
  const verified = await verifyModelDir(registry, target);
  const pointer = bumpPointer(before, {
    model_id: target,
    sha256: verified.digest,
    reason: options.reason ?? `rollback from ${before.model_id} to ${target}`,
    deployed_at: (options.now ?? new Date()).toISOString(),
  });
  await writePointer(registry, pointer);
  return { pointer, before, changed: true };
}
