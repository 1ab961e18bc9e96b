import { copyFile, mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toJsonText } from '../core/atomic-write.js';
import { FleetcastError } from '../core/errors.js';
import { CHECKSUMS_FILE, computeChecksums, renderChecksums, verifyChecksums } from './checksums.js';
import { TEMP_PREFIX, modelsDir } from './layout.js';
import { CANDIDATE_MODEL_FILES, REQUIRED_MODEL_FILES } from './model-files.js';
import { assertModelId } from './model-id.js';
import { pathExists } from '../core/path-exists.js';
import { isProcessAlive } from './process-alive.js';

export interface ModelDirContents {
  /** Files written from memory: JSON values are rendered with toJsonText. */
  json: Record<string, unknown>;
  /** Files copied from disk (the ONNX graph): name in the model dir → source path. */
  copies: Record<string, string>;
}

/** A temp dir older than this with a dead or unknown writer is stale. */
const STALE_AFTER_MS = 6 * 3600 * 1000;

/**
 * Writes `<registry>/models/<id>/` atomically: the files are assembled and fsynced in
 * `models/.tmp-<id>-<pid>/`, SHA256SUMS is written last and checked, then the directory is renamed
 * into place. A crash leaves at most a `.tmp-*` directory, which readers ignore and the next writer
 * removes. Returns the final directory and the SHA256SUMS digest.
 */
export async function writeModelDir(
  registry: string,
  id: string,
  contents: ModelDirContents,
): Promise<{ dir: string; digest: string }> {
  assertModelId(id);
  return assembleModelDir(modelsDir(registry), id, contents, REQUIRED_MODEL_FILES, { replace: false });
}

/**
 * Writes a candidate model, `<parent>/<id>/`, the same way: every file but validation.json, with
 * its own SHA256SUMS, so validation loads it exactly as the service will load the registry's copy.
 * A candidate left by an earlier run with the same id is replaced.
 */
export async function writeCandidateDir(
  parent: string,
  id: string,
  contents: ModelDirContents,
): Promise<{ dir: string; digest: string }> {
  assertModelId(id);
  return assembleModelDir(parent, id, contents, CANDIDATE_MODEL_FILES, { replace: true });
}

async function assembleModelDir(
  root: string,
  id: string,
  contents: ModelDirContents,
  required: readonly string[],
  options: { replace: boolean },
): Promise<{ dir: string; digest: string }> {
  const names = [...Object.keys(contents.json), ...Object.keys(contents.copies)];
  const missing = required.filter((name) => !names.includes(name));
  if (missing.length)
    throw new FleetcastError(`model ${id}: refusing to write without ${missing.join(', ')}`);
  for (const name of names) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name === CHECKSUMS_FILE)
      throw new FleetcastError(`model ${id}: invalid file name ${JSON.stringify(name)}`);
  }

  await mkdir(root, { recursive: true });
  await removeStaleTempDirs(root);
  const target = join(root, id);
  if (options.replace) await rm(target, { recursive: true, force: true });
  else if (await pathExists(target)) throw new FleetcastError(`model ${id} already exists at ${target}`);

  const tmp = join(root, `${TEMP_PREFIX}${id}-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    for (const [name, value] of Object.entries(contents.json))
      await writeSynced(join(tmp, name), toJsonText(value));
    for (const [name, source] of Object.entries(contents.copies)) {
      await copyFile(source, join(tmp, name));
      await fsyncPath(join(tmp, name));
    }
    await writeSynced(join(tmp, CHECKSUMS_FILE), renderChecksums(await computeChecksums(tmp)));
    const check = await verifyChecksums(tmp);
    if (!check.ok)
      throw new FleetcastError(`model ${id}: checksum self-check failed: ${check.problems.join('; ')}`);
    await fsyncPath(tmp);
    await rename(tmp, target);
    await fsyncPath(root);
    return { dir: target, digest: check.digest };
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Removes `.tmp-*` directories left by crashed writers: those whose pid is not running, or that
 * are older than STALE_AFTER_MS (the pid may have been reused).
 */
export async function removeStaleTempDirs(root: string, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch {
    return removed;
  }
  for (const entry of entries) {
    if (!entry.isDirectory() || !entry.name.startsWith(TEMP_PREFIX)) continue;
    const pid = Number(/-(\d+)$/.exec(entry.name)?.[1]);
    const path = join(root, entry.name);
    const age = now - (await stat(path)).mtimeMs;
    if (pid === process.pid) continue;
    if (!Number.isInteger(pid) || !isProcessAlive(pid) || age > STALE_AFTER_MS) {
      await rm(path, { recursive: true, force: true });
      removed.push(entry.name);
    }
  }
  return removed;
}

async function writeSynced(path: string, data: string): Promise<void> {
  await writeFile(path, data, { flag: 'wx', mode: 0o644 });
  await fsyncPath(path);
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
