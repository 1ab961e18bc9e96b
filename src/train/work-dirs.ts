import { lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { getErrorMessage } from '../core/errors.js';

/**
 * `fleetcast train`'s temporary work dirs (`$TMPDIR/fleetcast-train-XXXXXX`): the dataset, the
 * trainer output and the candidate model. A run removes its own on success; a killed run cannot,
 * so every train run first removes the stale ones: older than STALE_WORK_DIR_HOURS and not owned
 * by a running process of this host (the owner file each run writes when it creates its dir).
 */
export const WORK_DIR_PREFIX = 'fleetcast-train-';
export const WORK_DIR_OWNER_FILE = '.fleetcast-owner.json';
export const STALE_WORK_DIR_HOURS = 24;

/** mkdtemp's six characters after the prefix: nothing else of ours, nothing of anyone else. */
const WORK_DIR_NAME = new RegExp(`^${WORK_DIR_PREFIX}[A-Za-z0-9]{6}$`);

interface Owner {
  pid: number;
  host: string;
  started_at: string;
}

/** A fresh private work dir (mode 0700) with an owner file naming this process. */
export async function createWorkDir(dir: string = tmpdir()): Promise<string> {
  const workDir = await mkdtemp(join(dir, WORK_DIR_PREFIX));
  const owner: Owner = { pid: process.pid, host: hostname(), started_at: new Date().toISOString() };
  await writeFile(join(workDir, WORK_DIR_OWNER_FILE), `${JSON.stringify(owner)}\n`, { mode: 0o600 });
  return workDir;
}

export interface StaleWorkDirOptions {
  /** Where to look (default: the OS temp dir, where createWorkDir puts them). */
  dir?: string;
  maxAgeHours?: number;
  now?: Date;
  /** One line per removed dir (and per dir that could not be removed). */
  log?: (line: string) => void;
}

/**
 * Removes the stale work dirs under `dir` and returns their paths. A dir is stale when it is a
 * real directory (not a link) of this user named like ours, last modified more than
 * `maxAgeHours` ago, and its owner file names no running process of this host (or there is none:
 * dirs of older versions). A dir whose owner is alive, or on another host, is left alone.
 */
export async function removeStaleWorkDirs(options: StaleWorkDirOptions = {}): Promise<string[]> {
  const dir = options.dir ?? tmpdir();
  const maxAgeMs = (options.maxAgeHours ?? STALE_WORK_DIR_HOURS) * 3_600_000;
  const now = (options.now ?? new Date()).getTime();
  const log = options.log ?? (() => {});
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names.filter((n) => WORK_DIR_NAME.test(n))) {
    const path = join(dir, name);
    try {
      const stats = await lstat(path);
      if (!stats.isDirectory() || (process.getuid !== undefined && stats.uid !== process.getuid())) continue;
      const ageMs = now - stats.mtimeMs;
      if (ageMs <= maxAgeMs) continue;
      const owner = await readOwner(path);
      if (owner !== null && (owner.host !== hostname() || isRunning(owner.pid))) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(path);
      const who = owner === null ? 'no owner file' : `pid ${owner.pid}, not running`;
      log(`train: removed stale work dir ${path} (${who}; ${(ageMs / 3_600_000).toFixed(1)} h old)`);
    } catch (error) {
      log(`train: could not remove stale work dir ${path}: ${getErrorMessage(error)}`);
    }
  }
  return removed;
}

async function readOwner(dir: string): Promise<Owner | null> {
  let text: string;
  try {
    text = await readFile(join(dir, WORK_DIR_OWNER_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const value = JSON.parse(text) as Partial<Owner>;
    if (typeof value.pid === 'number' && Number.isInteger(value.pid) && typeof value.host === 'string')
      return { pid: value.pid, host: value.host, started_at: String(value.started_at) };
  } catch {
    // unreadable: treat as no owner
  }
  return null;
}

/** Whether `pid` is a running process (one of another user counts: EPERM). */
function isRunning(pid: number): boolean {
  if (pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
