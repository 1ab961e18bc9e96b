import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { FleetcastError, getErrorMessage } from '../core/errors.js';
import { pointerLockPath } from './layout.js';
import { isProcessAlive } from './process-alive.js';

/**
 * The lock that serialises writes of `<registry>/current.json`: `fleetcast deploy`, `rollback` and
 * the actions read the pointer, check the target and write the bumped pointer while holding it, so
 * two concurrent deploys cannot both name the same previous model (a lost update), and every deploy
 * that says "deployed" was the pointer's model until the next one replaced it.
 *
 * The lock is a file beside the pointer, `.current.json.lock`, created with O_EXCL (`wx`) and
 * holding its owner (pid, host, time, a random token). A lock is stale, and is removed by the next
 * writer, when its owner ran on this host and is no longer alive, or when it is older than
 * `staleMs` (a pid may be reused; holding the lock takes seconds). Removing a stale lock happens
 * under a second short-lived lock (`.current.json.lock.break`), after re-reading it, so two
 * writers that both find it stale cannot remove the lock the first of them has just taken.
 */

export interface PointerLockOptions {
  /** How long to wait for another writer before giving up (default 60 s). */
  timeoutMs?: number;
  /** A lock older than this is stale whatever its pid (default 10 min). */
  staleMs?: number;
  /** Called when a stale lock is removed, with a sentence saying whose it was. */
  onStale?: (message: string) => void;
}

const LockOwner = z.looseObject({
  pid: z.number().int().positive(),
  hostname: z.string(),
  acquired_at: z.string(),
  token: z.string(),
});
type LockOwner = z.infer<typeof LockOwner>;

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_STALE_MS = 10 * 60_000;
/** A lock file with no readable owner yet is being written; after this long it was abandoned. */
const UNREADABLE_GRACE_MS = 10_000;
/** The break lock is held for a few milliseconds; older than this it was abandoned. */
const BREAK_STALE_MS = 30_000;

/** Runs `fn` holding the registry's pointer lock; the lock is released however `fn` ends. */
export async function withPointerLock<T>(
  registry: string,
  fn: () => Promise<T>,
  options: PointerLockOptions = {},
): Promise<T> {
  const release = await acquirePointerLock(registry, options);
  try {
    return await fn();
  } finally {
    await release();
  }
}

/** Takes the pointer lock, waiting for other writers; returns the function that releases it. */
export async function acquirePointerLock(
  registry: string,
  options: PointerLockOptions = {},
): Promise<() => Promise<void>> {
  const path = pointerLockPath(registry);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const owner: LockOwner = {
    pid: process.pid,
    hostname: hostname(),
    acquired_at: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
  };
  await mkdir(registry, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (await tryCreate(path, `${JSON.stringify({ ...owner, acquired_at: new Date().toISOString() })}\n`))
      return () => releaseLock(path, owner.token);
    const held = await inspect(path);
    if (held !== null && staleness(held, staleMs) !== null) {
      const removed = await breakStaleLock(path, held, staleMs);
      if (removed !== null) options.onStale?.(removed);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new FleetcastError(
        `${path}: ${describeOwner(held)}; waited ${Math.round(timeoutMs / 1000)} s for it. If no ` +
          'fleetcast deploy or rollback is running, remove the file and try again',
      );
    }
    // Exponential backoff with jitter, up to 250 ms: contention is a handful of writers.
    const pause = Math.min(250, 10 * 2 ** Math.min(attempt, 5));
    await sleep(pause / 2 + Math.random() * (pause / 2));
  }
}

async function tryCreate(path: string, content: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
  return true;
}

interface HeldLock {
  text: string;
  owner: LockOwner | null;
  ageMs: number;
}

/** The lock as it is now, or null when it has just been released. */
async function inspect(path: string): Promise<HeldLock | null> {
  try {
    const [text, stats] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    let owner: LockOwner | null = null;
    try {
      const parsed = LockOwner.safeParse(JSON.parse(text));
      owner = parsed.success ? parsed.data : null;
    } catch {
      owner = null; // being written, or garbage
    }
    return { text, owner, ageMs: Date.now() - stats.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Why a lock is stale, or null when its owner may still be working. */
function staleness(held: HeldLock, staleMs: number): string | null {
  const age = `${Math.round(held.ageMs / 1000)} s old`;
  if (held.owner === null) return held.ageMs > UNREADABLE_GRACE_MS ? `it names no owner and is ${age}` : null;
  if (held.ageMs > staleMs) return `it is ${age} (older than ${Math.round(staleMs / 1000)} s)`;
  if (held.owner.hostname === hostname() && !isProcessAlive(held.owner.pid))
    return `its process ${held.owner.pid} is no longer running`;
  return null;
}

/**
 * Removes a stale lock under the break lock, after checking it is still the same stale lock.
 * Returns what was removed, or null when another writer dealt with it first.
 */
async function breakStaleLock(path: string, seen: HeldLock, staleMs: number): Promise<string | null> {
  const breakPath = `${path}.break`;
  if (!(await tryCreate(breakPath, `${process.pid}\n`))) {
    const age = await stat(breakPath).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > BREAK_STALE_MS) await unlink(breakPath).catch(() => undefined);
    else await sleep(10);
    return null;
  }
  try {
    const now = await inspect(path);
    if (now === null || now.text !== seen.text) return null;
    const why = staleness(now, staleMs);
    if (why === null) return null;
    await unlink(path);
    return `${path}: removed a stale lock (${describeOwner(now)}): ${why}`;
  } finally {
    await unlink(breakPath).catch(() => undefined);
  }
}

/** Removes the lock if it is still ours (a stale-lock breaker may have taken it meanwhile). */
async function releaseLock(path: string, token: string): Promise<void> {
  const held = await inspect(path).catch(() => null);
  if (held?.owner?.token !== token) return;
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new FleetcastError(`${path}: cannot release the lock: ${getErrorMessage(error)}`, {
        cause: error,
      });
  }
}

function describeOwner(held: HeldLock | null): string {
  if (held === null) return 'released meanwhile';
  if (held.owner === null) return 'held by an unknown writer (the lock names no owner)';
  const { pid, hostname: host, acquired_at } = held.owner;
  return `held by pid ${pid} on ${host} since ${acquired_at}`;
}
