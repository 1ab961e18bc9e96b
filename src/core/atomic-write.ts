import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A temp path beside `target`, on the same filesystem so that rename(2) is atomic. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Writes a file so readers see either the old or the new content, never half of it:
 * write a temp file beside it, fsync, rename over the target. Kept instead of write-file-atomic
 * because the temp name is part of the contract: `.<name>.<pid>.<hex>.tmp` is hidden from the
 * pointer watcher and git, and the next pointer writer removes such files a killed writer left once
 * they are an hour old (src/registry/pointer-lock.ts); write-file-atomic names it `<name>.<hash>`
 * and only cleans up on signals it sees, never after kill -9.
 */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  // the mode is set at creation, so the content is never readable more widely, even for a moment
  const handle = await open(tmp, 'wx', options.mode ?? 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(tmp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Stable JSON: two-space indent and a trailing newline, so git diffs stay small. */
export function toJsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export async function writeJsonAtomic(
  target: string,
  value: unknown,
  options: { mode?: number } = {},
): Promise<void> {
  await writeFileAtomic(target, toJsonText(value), options);
}
