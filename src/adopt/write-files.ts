import { lstat, mkdir, open, realpath, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { tempPathFor } from '../core/atomic-write.js';
import { FleetcastError, getErrorMessage, InputError } from '../core/errors.js';

/** A file to write, by its path relative to the target directory. */
export interface PlannedFile {
  path: string;
  content: string;
}

export interface WrittenFile {
  path: string;
  status: 'created' | 'overwritten';
}

/** `blocked`: a file stands where one of its parent directories should be. */
async function kindOf(path: string): Promise<'missing' | 'file' | 'other' | 'blocked'> {
  try {
    const stat = await lstat(path);
    return stat.isFile() || stat.isSymbolicLink() ? 'file' : 'other';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR') return 'blocked';
    throw error;
  }
}

/** The planned paths that already exist in `dir` (or have a file in their way), in plan order. */
export async function existingFiles(dir: string, files: readonly PlannedFile[]): Promise<string[]> {
  const kinds = await Promise.all(files.map((f) => kindOf(join(dir, f.path))));
  return files.flatMap((f, i) =>
    kinds[i] === 'missing'
      ? []
      : [kinds[i] === 'blocked' ? `${f.path} (one of its directories is a file)` : f.path],
  );
}

/**
 * mkdir -p inside `root` (a real path): the nearest existing ancestor, symlinks resolved, must be
 * `root` or inside it, so nothing is created elsewhere. Returns the directories it created,
 * outermost first.
 */
async function makeParentsInside(root: string, path: string, file: string): Promise<string[]> {
  const missing: string[] = [];
  let existing = path;
  for (; (await kindOf(existing)) === 'missing'; existing = dirname(existing)) missing.unshift(existing);
  const real = await realpath(existing);
  if (real !== root && !real.startsWith(`${root}${sep}`))
    throw new InputError(`${file}: its directory leads outside the repository (through a symlink)`);
  await mkdir(path, { recursive: true });
  return missing;
}

/**
 * Writes every file or none: each is first written and fsynced to a temp file beside its target
 * (parents created as needed, never outside `dir`, symlinks resolved), and only when all of them
 * are on disk are they renamed over their targets. A failure before that removes the temp files
 * and the directories it made, so `dir` is as it was. Existing files are replaced; the caller
 * decides whether that is allowed.
 */
export async function writeAllOrNothing(dir: string, files: readonly PlannedFile[]): Promise<WrittenFile[]> {
  for (const { path } of files) {
    const normal = normalize(path);
    if (isAbsolute(path) || normal.startsWith(`..${sep}`) || normal === '..')
      throw new FleetcastError(`refusing to write ${path}: outside the target directory`);
  }
  const root = await realpath(dir);
  const staged: Array<{ temp: string; target: string; file: PlannedFile; existed: boolean }> = [];
  const madeDirs: string[] = [];
  try {
    for (const file of files) {
      const target = join(root, file.path);
      const kind = await kindOf(target);
      if (kind === 'other') throw new InputError(`${file.path} exists and is not a file; move it away first`);
      if (kind === 'blocked')
        throw new InputError(`${file.path}: one of its directories is a file; move that file away first`);
      madeDirs.push(...(await makeParentsInside(root, dirname(target), file.path)));
      const temp = tempPathFor(target);
      const handle = await open(temp, 'wx', 0o644);
      staged.push({ temp, target, file, existed: kind === 'file' });
      try {
        await handle.writeFile(file.content);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  } catch (error) {
    await Promise.all(staged.map((s) => rm(s.temp, { force: true })));
    for (const made of madeDirs.reverse()) await rmdir(made).catch(() => undefined);
    throw error;
  }
  const written: WrittenFile[] = [];
  for (const [i, s] of staged.entries()) {
    try {
      await rename(s.temp, s.target);
    } catch (error) {
      await Promise.all(staged.slice(i).map((rest) => rm(rest.temp, { force: true })));
      const done = written.map((w) => w.path).join(', ') || 'none';
      throw new FleetcastError(
        `cannot move ${s.file.path} into place (${getErrorMessage(error)}); already written: ${done}`,
        { cause: error },
      );
    }
    written.push({ path: s.file.path, status: s.existed ? 'overwritten' : 'created' });
  }
  return written;
}
