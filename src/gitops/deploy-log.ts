import { readFile } from 'node:fs/promises';
import { InputError } from '../core/errors.js';
import { pathExists } from '../core/path-exists.js';
import { openGit } from '../forge/simple-git.js';
import { join } from 'node:path';
import { MODELS_DIR, POINTER_FILE, pointerPath } from '../registry/layout.js';
import { headlineQRisk, p50QRisk, quantileQRisk, ValidationFigures } from './validation-summary.js';
import { liveRecordInMessage, type LiveRecord } from './live-record.js';
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
  /**
   * The model's held-out accuracy from its validation.json, as committed with the pointer (so a
   * model whose directory was removed later still shows it): accuracy over time, version by
   * version. Null when the model has no readable validation.json.
   */
  held_out: HeldOutRecord | null;
  /**
   * The live accuracy the model reached while serving, as the commit that replaced it recorded
   * from the service's /status (live-record.ts); null with `live_missing` saying why otherwise.
   */
  live: LiveRecord | null;
  live_missing: string | null;
}

export interface HeldOutRecord {
  passed: boolean;
  /** Mean q-risk over every target and quantile (the deploy commit's figure). */
  q_risk: number | null;
  /** P50 q-risk per target. */
  p50: Record<string, number>;
  /** P90 q-risk per target. */
  p90: Record<string, number>;
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
      `--format=%H${FIELD}%cI${FIELD}%an${FIELD}%s${FIELD}%B${RECORD}`,
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
      const [sha = '', at = '', author = '', subject = '', message = ''] = record.split(FIELD);
      return { sha, at, author, subject, message };
    });
  if (commits.length === 0)
    return fromPointer(registry, `${path} has no commits in the git repository ${top}`);

  const entries: PointerHistoryEntry[] = [];
  const working = await readFile(path, 'utf8').catch(() => null);
  const committed = await git.raw(['show', `HEAD:./${POINTER_FILE}`]).catch(() => null);
  if (working !== null && working !== committed) {
    const entry = fromText(working, path);
    entries.push({
      ...entry,
      ...NO_COMMIT,
      uncommitted: true,
      held_out: await heldOutOnDisk(registry, entry.model_id),
      ...STILL_SERVING,
    });
  }
  for (const [i, c] of commits.entries()) {
    const text = await git.raw(['show', `${c.sha}:./${POINTER_FILE}`]).catch(() => null);
    const where = `${c.sha.slice(0, 12)}:${POINTER_FILE}`;
    const entry =
      text === null ? { ...EMPTY, problem: 'current.json deleted in this commit' } : fromText(text, where);
    const validation =
      entry.model_id === null
        ? null
        : await git
            .raw(['show', `${c.sha}:./${MODELS_DIR}/${entry.model_id}/validation.json`])
            .catch(() => null);
    entries.push({
      ...entry,
      commit: c.sha,
      committed_at: c.at,
      author: c.author,
      subject: c.subject,
      held_out: heldOutOf(validation),
      ...liveOf(entry.model_id, commits[i - 1]?.message),
    });
  }
  return {
    source: 'git',
    pointer: path,
    note: `git log of ${path} in ${top}, newest first (at most ${limit} commits)`,
    entries,
  };
}

type PointerFields = Omit<PointerHistoryEntry, keyof typeof NO_COMMIT | 'held_out' | 'live' | 'live_missing'>;

const STILL_SERVING = {
  live: null,
  live_missing: 'still serving: the service reports its live accuracy (/status, fleetcast live-check)',
} as const;

/** The live record the commit that replaced `modelId` carries (`replacedBy`: that commit's message). */
function liveOf(
  modelId: string | null,
  replacedBy: string | undefined,
): Pick<PointerHistoryEntry, 'live' | 'live_missing'> {
  if (modelId === null) return { live: null, live_missing: null };
  if (replacedBy === undefined) return STILL_SERVING;
  const result = liveRecordInMessage(replacedBy, modelId);
  if (result === undefined)
    return { live: null, live_missing: 'the commit that replaced it recorded no live accuracy' };
  return 'record' in result
    ? { live: result.record, live_missing: null }
    : { live: null, live_missing: result.none };
}

const NO_COMMIT = { commit: null, committed_at: null, author: null, subject: null } as const;
const EMPTY = {
  model_id: null,
  previous_model_id: null,
  deployed_at: null,
  reason: null,
  sha256: null,
} as const;

function fromText(text: string, where: string): PointerFields {
  try {
    return fromPointerValue(parsePointer(text, where));
  } catch (error) {
    return { ...EMPTY, problem: error instanceof Error ? error.message : String(error) };
  }
}

function fromPointerValue(p: Pointer): PointerFields {
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
    entries.push({
      ...fromPointerValue(pointer),
      ...NO_COMMIT,
      held_out: await heldOutOnDisk(registry, pointer.model_id),
      ...STILL_SERVING,
    });
    if (pointer.previous_model_id !== null)
      entries.push({
        ...EMPTY,
        model_id: pointer.previous_model_id,
        ...NO_COMMIT,
        held_out: await heldOutOnDisk(registry, pointer.previous_model_id),
        live: null,
        live_missing: 'outside git no live record is kept',
      });
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

async function heldOutOnDisk(registry: string, modelId: string | null): Promise<HeldOutRecord | null> {
  if (modelId === null) return null;
  return heldOutOf(
    await readFile(join(registry, MODELS_DIR, modelId, 'validation.json'), 'utf8').catch(() => null),
  );
}

function heldOutOf(text: string | null): HeldOutRecord | null {
  if (text === null) return null;
  try {
    const figures = ValidationFigures.parse(JSON.parse(text));
    return {
      passed: figures.passed,
      q_risk: headlineQRisk(figures),
      p50: p50QRisk(figures),
      p90: quantileQRisk(figures, 0.9),
    };
  } catch {
    return null; // an unreadable validation.json: the pointer history still stands
  }
}
