import { readFile } from 'node:fs/promises';
import { InputError } from '../core/errors.js';
import { pathExists } from '../core/path-exists.js';
import { openGit } from '../forge/simple-git.js';
import { POINTER_FILE, pointerPath } from '../registry/layout.js';
import { parsePointer, readPointer } from '../registry/pointer.js';
import type { Pointer } from '../registry/schemas.js';

/**
 * The deploy history of a registry (`fleetcast history`): what current.json named over time.
 * Inside a git repository that is the git log of current.json, one entry per commit (a deploy,
 * rollback or revert), newest first, preceded by an uncommitted change of the pointer if there
 * is one. Outside git, the pointer records only itself and its previous_model_id, so the history
 * is those two, labelled as such.
 */

export interface PointerHistoryEntry {
  /** The model the pointer named; null when this commit deleted current.json or it is unreadable. */
  model_id: string | null;
  previous_model_id: string | null;
  deployed_at: string | null;
  reason: string | null;
  sha256: string | null;
  /** git only: the commit, its time, author and subject. */
  commit: string | null;
  committed_at: string | null;
  author: string | null;
  subject: string | null;
  /** The working tree's current.json differs from the last commit's. */
  uncommitted?: boolean;
  /** Why the entry's pointer could not be read. */
  problem?: string;
}

export interface PointerHistory {
  source: 'git' | 'pointer';
  pointer: string;
  /** One sentence saying where the history comes from and what it can miss. */
  note: string;
  entries: PointerHistoryEntry[];
}

const FIELD = '\x1f';
const RECORD = '\x1e';

export async function pointerHistory(
  registry: string,
  options: { limit?: number } = {},
): Promise<PointerHistory> {
  if (!(await pathExists(registry))) throw new InputError(`${registry}: registry directory not found`);
  const limit = options.limit ?? 50;
  const path = pointerPath(registry);
  const git = openGit(registry);
  let top: string;
  try {
    top = (await git.raw(['rev-parse', '--show-toplevel'])).trim();
  } catch {
    return fromPointer(registry, `${path} is not in a git repository`);
  }
  let log: string;
  try {
    log = await git.raw([
      'log',
      `--max-count=${limit}`,
      `--format=%H${FIELD}%cI${FIELD}%an${FIELD}%s${RECORD}`,
      '--',
      POINTER_FILE,
    ]);
  } catch {
    log = ''; // a repository without commits
  }
  const commits = log
    .split(RECORD)
    .map((record) => record.trim())
    .filter((record) => record !== '')
    .map((record) => {
      const [sha = '', at = '', author = '', subject = ''] = record.split(FIELD);
      return { sha, at, author, subject };
    });
  if (commits.length === 0)
    return fromPointer(registry, `${path} has no commits in the git repository ${top}`);

  const entries: PointerHistoryEntry[] = [];
  const working = await readFile(path, 'utf8').catch(() => null);
  const committed = await git.raw(['show', `HEAD:./${POINTER_FILE}`]).catch(() => null);
  if (working !== null && working !== committed) {
    entries.push({ ...fromText(working, path), ...NO_COMMIT, uncommitted: true });
  }
  for (const c of commits) {
    const text = await git.raw(['show', `${c.sha}:./${POINTER_FILE}`]).catch(() => null);
    const where = `${c.sha.slice(0, 12)}:${POINTER_FILE}`;
    entries.push({
      ...(text === null
        ? { ...EMPTY, problem: 'current.json deleted in this commit' }
        : fromText(text, where)),
      commit: c.sha,
      committed_at: c.at,
      author: c.author,
      subject: c.subject,
    });
  }
  return {
    source: 'git',
    pointer: path,
    note: `git log of ${path} in ${top}, newest first (at most ${limit} commits)`,
    entries,
  };
}

const NO_COMMIT = { commit: null, committed_at: null, author: null, subject: null } as const;
const EMPTY = {
  model_id: null,
  previous_model_id: null,
  deployed_at: null,
  reason: null,
  sha256: null,
} as const;

function fromText(text: string, where: string): Omit<PointerHistoryEntry, keyof typeof NO_COMMIT> {
  try {
    return fromPointerValue(parsePointer(text, where));
  } catch (error) {
    return { ...EMPTY, problem: error instanceof Error ? error.message : String(error) };
  }
}

function fromPointerValue(p: Pointer): Omit<PointerHistoryEntry, keyof typeof NO_COMMIT> {
  return {
    model_id: p.model_id,
    previous_model_id: p.previous_model_id,
    deployed_at: p.deployed_at,
    reason: p.reason,
    sha256: p.sha256,
  };
}

async function fromPointer(registry: string, why: string): Promise<PointerHistory> {
  const pointer = await readPointer(registry);
  const entries: PointerHistoryEntry[] = [];
  if (pointer !== null) {
    entries.push({ ...fromPointerValue(pointer), ...NO_COMMIT });
    if (pointer.previous_model_id !== null)
      entries.push({ ...EMPTY, model_id: pointer.previous_model_id, ...NO_COMMIT });
  }
  return {
    source: 'pointer',
    pointer: pointerPath(registry),
    note:
      `${why}: this is only current.json and the previous_model_id it records (one step back); ` +
      'earlier deploys are not recorded outside git',
    entries,
  };
}
