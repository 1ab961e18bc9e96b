import { lstat, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, toJsonText } from '../core/atomic-write.js';
import { getErrorMessage, InputError } from '../core/errors.js';
import { verifyChecksums } from './checksums.js';
import { modelDir, POINTER_FILE, pointerPath } from './layout.js';
import { withPointerLock } from './pointer-lock.js';
import { createLogger, type Logger } from '../core/logger.js';
import { assertModelId } from './model-id.js';
import { parseJsonText, readJsonFile } from '../core/read-json.js';
import { CandidateMode, Encoders, Pointer, PointerCandidate } from './schemas.js';

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
  // A candidate under evaluation stays (its comparison starts over against the new model), unless
  // it is the model now deployed: then its evaluation is over.
  const candidate = old?.candidate?.model_id === next.model_id ? undefined : old?.candidate;
  return Pointer.parse({
    format_version: 1,
    model_id: next.model_id,
    sha256: next.sha256,
    deployed_at: next.deployed_at,
    previous_model_id: previous,
    reason: next.reason.slice(0, 2000),
    ...(candidate === undefined ? {} : { candidate }),
  });
}

/** The pointer with `candidate` set, or removed with null (pure; the serving model is unchanged). */
export function withCandidate(pointer: Pointer, candidate: PointerCandidate | null): Pointer {
  const { candidate: _old, ...rest } = pointer;
  return Pointer.parse(candidate === null ? rest : { ...rest, candidate });
}

export interface CandidateRequest {
  modelId: string;
  mode: CandidateMode;
  /** A/B only. */
  share?: number;
  now?: Date;
}

/**
 * Sets the pointer's candidate after verifying its model directory like a deploy (checksums, id),
 * under the pointer lock. Setting the same candidate with the same mode and share keeps its
 * `since`, so re-running the command does not restart the evaluation clock.
 */
export async function setCandidate(
  registry: string,
  request: CandidateRequest,
  options: PointerChangeOptions = {},
): Promise<PointerChange> {
  assertModelId(request.modelId);
  return underLock(registry, options, async (log) => {
    const before = await readPointer(registry);
    const path = pointerPath(registry);
    if (before === null)
      throw new InputError(`${path}: no pointer; deploy a serving model before adding a candidate`);
    if (before.model_id === request.modelId)
      throw new InputError(
        `${path}: ${request.modelId} is the serving model; a candidate must be another model`,
      );
    const verified = await verifyModelDir(registry, request.modelId);
    await options.check?.(verified);
    const old = before.candidate;
    const same =
      old !== undefined &&
      old.model_id === request.modelId &&
      old.sha256 === verified.digest &&
      old.mode === request.mode &&
      old.share === request.share;
    if (same) return { pointer: before, before, changed: false, removedTempFiles: [] };
    const pointer = withCandidate(
      before,
      PointerCandidate.parse({
        model_id: request.modelId,
        sha256: verified.digest,
        mode: request.mode,
        ...(request.share === undefined ? {} : { share: request.share }),
        since: (request.now ?? options.now ?? new Date()).toISOString(),
      }),
    );
    const removedTempFiles = await writePointerCleaning(registry, pointer, log);
    return { pointer, before, changed: true, removedTempFiles };
  });
}

/** Removes the pointer's candidate (under the lock); unchanged when there is none. */
export async function clearCandidate(
  registry: string,
  options: PointerChangeOptions = {},
): Promise<PointerChange> {
  return underLock(registry, options, async (log) => {
    const before = await readPointer(registry);
    if (before === null)
      throw new InputError(`${pointerPath(registry)}: no pointer; nothing has been deployed`);
    if (before.candidate === undefined)
      return { pointer: before, before, changed: false, removedTempFiles: [] };
    const pointer = withCandidate(before, null);
    const removedTempFiles = await writePointerCleaning(registry, pointer, log);
    return { pointer, before, changed: true, removedTempFiles };
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
  /** Temp files of killed writers (`.current.json.*.tmp`) removed before this write. */
  removedTempFiles: string[];
}

export interface PointerChangeOptions {
  now?: Date;
  /**
   * More checks of the target, run inside the lock after its checksums and id were verified; a
   * rejection refuses the model and leaves the pointer untouched. The CLI and the deploy action
   * pass the model layer's checks here (src/model/deploy-check.ts: load it, forecast a sample).
   */
  check?: (model: VerifiedModel) => Promise<CheckOutcome | void>;
  /** How long to wait for another deploy or rollback holding the lock (default 60 s). */
  lockTimeoutMs?: number;
  /** Where to report what a write cleaned up (a stale lock, temp files); default: the logger. */
  log?: (message: string) => void;
}

/** What a passed check may change about the write. */
export interface CheckOutcome {
  /** Record this reason instead of the one given (a forced deploy says that it was forced). */
  reason?: string;
}

/** Temp files older than this are left by a killed writer (a write takes milliseconds). */
export const STALE_TEMP_MS = 3600_000;

/**
 * Points the registry at `modelId` after verifying it. The pointer is read, the model checked and
 * the new pointer written while holding the pointer lock, so concurrent deploys and rollbacks
 * apply one after another; the write itself is atomic (temp file + rename).
 */
export async function deploy(
  registry: string,
  modelId: string,
  reason: string,
  options: PointerChangeOptions = {},
): Promise<PointerChange> {
  assertModelId(modelId);
  return underLock(registry, options, async (log) => {
    const verified = await verifyModelDir(registry, modelId);
    const outcome = await options.check?.(verified);
    const before = await readPointer(registry);
    if (before && before.model_id === modelId && before.sha256 === verified.digest)
      return { pointer: before, before, changed: false, removedTempFiles: [] };
    const pointer = bumpPointer(before, {
      model_id: modelId,
      sha256: verified.digest,
      reason: outcome?.reason ?? reason,
      deployed_at: (options.now ?? new Date()).toISOString(),
    });
    const removedTempFiles = await writePointerCleaning(registry, pointer, log);
    return { pointer, before, changed: true, removedTempFiles };
  });
}

export interface RollbackOptions extends PointerChangeOptions {
  /** Model to go back to; default: the pointer's previous_model_id. */
  to?: string;
  reason?: string;
}

/** Points the registry back at the previous model (or `to`), verified like a deploy, under the lock. */
export async function rollback(registry: string, options: RollbackOptions = {}): Promise<PointerChange> {
  if (options.to !== undefined) assertModelId(options.to);
  return underLock(registry, options, async (log) => {
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
    const outcome = await options.check?.(verified);
    const pointer = bumpPointer(before, {
      model_id: target,
      sha256: verified.digest,
      reason: outcome?.reason ?? options.reason ?? `rollback from ${before.model_id} to ${target}`,
      deployed_at: (options.now ?? new Date()).toISOString(),
    });
    const removedTempFiles = await writePointerCleaning(registry, pointer, log);
    return { pointer, before, changed: true, removedTempFiles };
  });
}

async function underLock<T>(
  registry: string,
  options: PointerChangeOptions,
  fn: (log: (message: string) => void) => Promise<T>,
): Promise<T> {
  const log = options.log ?? defaultLog;
  return withPointerLock(registry, () => fn(log), {
    ...(options.lockTimeoutMs === undefined ? {} : { timeoutMs: options.lockTimeoutMs }),
    onStale: log,
  });
}

/** Writes the pointer (the caller holds the lock), first removing temp files of killed writers. */
async function writePointerCleaning(
  registry: string,
  pointer: Pointer,
  log: (message: string) => void,
): Promise<string[]> {
  const removed = await removeStalePointerTemps(registry);
  if (removed.length > 0)
    log(`${registry}: removed ${removed.length} temp file(s) left by killed writers: ${removed.join(', ')}`);
  await writePointer(registry, pointer);
  return removed;
}

/**
 * Removes `.current.json.<pid>.<hex>.tmp` files (writeFileAtomic's temp files) older than
 * `maxAgeMs`: a killed write leaves one behind, and a live write finishes in milliseconds.
 */
export async function removeStalePointerTemps(
  registry: string,
  maxAgeMs = STALE_TEMP_MS,
  now = Date.now(),
): Promise<string[]> {
  const prefix = `.${POINTER_FILE}.`;
  let names: string[];
  try {
    names = await readdir(registry);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names.sort()) {
    if (!name.startsWith(prefix) || !/^\d+\.[0-9a-f]+\.tmp$/.test(name.slice(prefix.length))) continue;
    const path = join(registry, name);
    const stats = await lstat(path).catch(() => null);
    if (stats === null || !stats.isFile() || now - stats.mtimeMs <= maxAgeMs) continue;
    await rm(path, { force: true });
    removed.push(name);
  }
  return removed;
}

let registryLogger: Logger | undefined;
function defaultLog(message: string): void {
  registryLogger ??= createLogger('registry');
  registryLogger.info(message);
}
