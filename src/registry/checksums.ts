import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { join } from 'node:path';
import { FleetcastError } from '../core/errors.js';

/** Name of the checksum list in every model directory, in `sha256sum` format (`sha256sum -c SHA256SUMS`). */
export const CHECKSUMS_FILE = 'SHA256SUMS';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256Text(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Renders `<hex>  <name>` lines sorted by name, ending with a newline. */
export function renderChecksums(entries: ReadonlyMap<string, string>): string {
  return [...entries.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, digest]) => `${digest}  ${name}\n`)
    .join('');
}

export function parseChecksums(text: string, where: string): Map<string, string> {
  const entries = new Map<string, string>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const match = /^([0-9a-f]{64}) [ *]([A-Za-z0-9._-]+)$/.exec(line);
    if (!match) throw new FleetcastError(`${where}:${i + 1}: malformed checksum line`);
    entries.set(match[2]!, match[1]!);
  });
  return entries;
}

/** Computes the checksum list of every regular file in `dir` except SHA256SUMS itself. */
export async function computeChecksums(dir: string): Promise<Map<string, string>> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && e.name !== CHECKSUMS_FILE)
    .map((e) => e.name)
    .sort();
  const entries = new Map<string, string>();
  for (const name of names) entries.set(name, await sha256File(join(dir, name)));
  return entries;
}

export interface ChecksumVerification {
  ok: boolean;
  /** sha256 of the SHA256SUMS file: the digest a pointer pins. */
  digest: string;
  problems: string[];
}

/**
 * Verifies every file listed in SHA256SUMS, and that nothing else is there: no unlisted file, and
 * no symbolic link, sub-folder or other non-regular entry (listed or not), with the directory
 * itself not a symbolic link. Entries are inspected with lstat, so a link is never followed.
 */
export async function verifyChecksums(dir: string): Promise<ChecksumVerification> {
  const listPath = join(dir, CHECKSUMS_FILE);
  const notADir = await directoryProblem(dir);
  if (notADir !== null) return { ok: false, digest: '', problems: [notADir] };
  const irregular = await irregularEntries(dir);
  if (irregular.has(CHECKSUMS_FILE)) return { ok: false, digest: '', problems: [...irregular.values()] };
  let listText: string;
  try {
    listText = await readFile(listPath, 'utf8');
  } catch {
    return { ok: false, digest: '', problems: [`${listPath} is missing`] };
  }
  const expected = parseChecksums(listText, listPath);
  const actual = await computeChecksums(dir);
  const problems: string[] = [...irregular.values()];
  for (const [name, digest] of expected) {
    const got = actual.get(name);
    if (irregular.has(name)) continue; // already named above
    if (got === undefined) problems.push(`${name} is listed in ${CHECKSUMS_FILE} but missing`);
    else if (got !== digest)
      problems.push(`${name}: sha256 mismatch (expected ${digest.slice(0, 12)}…, got ${got.slice(0, 12)}…)`);
  }
  for (const name of actual.keys()) {
    if (!expected.has(name)) problems.push(`${name} is not listed in ${CHECKSUMS_FILE}`);
  }
  return { ok: problems.length === 0, digest: sha256Text(listText), problems };
}

/** Why `dir` cannot be a model directory (a symbolic link, not a directory), or null. */
async function directoryProblem(dir: string): Promise<string | null> {
  let stats;
  try {
    stats = await lstat(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null; // reported as a missing SHA256SUMS
    throw error;
  }
  if (stats.isSymbolicLink())
    return `${dir} is a symbolic link: a model directory must be a real directory, not a link to one`;
  if (!stats.isDirectory()) return `${dir} is not a directory`;
  return null;
}

/** Entries of `dir` that are not regular files (readdir's types come from lstat), by name. */
async function irregularEntries(dir: string): Promise<Map<string, string>> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
  const problems = new Map<string, string>();
  for (const entry of entries) {
    if (entry.isFile()) continue;
    const kind = entry.isSymbolicLink()
      ? 'a symbolic link'
      : entry.isDirectory()
        ? 'a directory'
        : 'not a regular file';
    problems.set(
      entry.name,
      `${join(dir, entry.name)} is ${kind}: a model directory holds only the regular files listed in ${CHECKSUMS_FILE}`,
    );
  }
  return problems;
}
