import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { writeJsonAtomic } from '../../core/atomic-write.js';
import { InputError, getErrorMessage } from '../../core/errors.js';
import { parseJsonText } from '../../core/read-json.js';
import { ModelId } from '../../registry/schemas.js';

/**
 * The local traffic switch of blue-green: `active.json` names the instance that takes traffic. A
 * client or proxy reads it before it sends (ActiveFollower); `fleetcast blue-green` replaces it in
 * one rename. It holds no credentials: the admin token stays in the environment.
 */

/** An instance's base URL: http(s), no user info, no path, query or fragment. */
const InstanceUrl = z.string().superRefine((text, ctx) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    ctx.addIssue({ code: 'custom', message: `not a URL: ${JSON.stringify(text.slice(0, 100))}` });
    return;
  }
  const problem =
    url.protocol !== 'http:' && url.protocol !== 'https:'
      ? `expected http or https, got ${url.protocol}`
      : url.username !== '' || url.password !== ''
        ? 'must not hold credentials'
        : url.pathname !== '/' || url.search !== '' || url.hash !== ''
          ? 'must be a base URL (scheme, host and port only)'
          : null;
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
});

export const ActiveInstance = z.strictObject({
  url: InstanceUrl,
  model_id: ModelId,
  /** The instance's process on this host, when `fleetcast blue-green` started it. */
  pid: z.number().int().positive().nullable(),
});
export type ActiveInstance = z.infer<typeof ActiveInstance>;

export const ActiveFile = ActiveInstance.extend({
  format_version: z.literal(1),
  switched_at: z.iso.datetime(),
  /** The instance that took traffic before this switch (drained by it). */
  previous: ActiveInstance.nullable(),
});
export type ActiveFile = z.infer<typeof ActiveFile>;

/** The switch's content, or null when the file does not exist (no instance yet). */
export async function readActive(path: string): Promise<ActiveFile | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new InputError(`${path}: cannot read: ${getErrorMessage(error)}`, { cause: error });
  }
  return parseJsonText(text, path, ActiveFile);
}

/** Switches traffic: one atomic rename, mode 0600 (only this user reads where traffic goes). */
export async function writeActive(path: string, active: ActiveFile): Promise<void> {
  await writeJsonAtomic(path, ActiveFile.parse(active), { mode: 0o600 });
}

/**
 * What a client or local proxy uses to follow the switch: `current()` before each request. It
 * re-reads the file only when its inode, size or mtime changed (a rename always changes the
 * inode), so following costs one stat per request; a file that cannot be read or parsed keeps
 * the last good target (and throws only when there never was one).
 */
export class ActiveFollower {
  private last: { key: string; active: ActiveFile } | null = null;

  constructor(private readonly path: string) {}

  async current(): Promise<ActiveFile> {
    try {
      const s = await stat(this.path, { bigint: true });
      const key = `${s.ino}:${s.size}:${s.mtimeNs}`;
      if (this.last?.key !== key) {
        const active = await readActive(this.path);
        if (active === null) throw new InputError(`${this.path}: no such file`);
        this.last = { key, active };
      }
    } catch (error) {
      if (this.last === null) throw error;
    }
    return this.last.active;
  }
}
