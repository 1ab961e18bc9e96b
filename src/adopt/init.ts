import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError } from '../core/errors.js';
import { formatActionsRef, type ActionsRef } from './actions-ref.js';
import { NEXT_STEPS_FILE, scaffoldFiles } from './scaffold.js';
import { existingFiles, writeAllOrNothing, type WrittenFile } from './write-files.js';

export interface InitOptions {
  /** The repository's top directory. */
  dir: string;
  ref: ActionsRef;
  version: string;
  /** Overwrite files that exist (otherwise their existence refuses the whole init). */
  force: boolean;
  workflowsOnly: boolean;
}

export interface InitResult {
  directory: string;
  actions_ref: string;
  written: WrittenFile[];
  /** FLEETCAST.md, when it was written. */
  next_steps: string | null;
}

async function assertRepositoryTop(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => null);
  if (info === null || !info.isDirectory()) throw new InputError(`${dir}: no such directory`);
  // .git is a directory in a clone and a file in a worktree or submodule
  if ((await stat(join(dir, '.git')).catch(() => null)) === null)
    throw new InputError(
      `${dir} is not the top directory of a git repository (it has no .git): run fleetcast init there, or pass --dir`,
    );
}

/**
 * `fleetcast init`: writes the workflows and the GitOps skeleton into a repository. Refuses, writing
 * nothing, when any of those files exists, unless `force`.
 */
export async function initRepository(options: InitOptions): Promise<InitResult> {
  const dir = resolve(options.dir);
  await assertRepositoryTop(dir);
  const files = await scaffoldFiles({
    ref: options.ref,
    version: options.version,
    workflowsOnly: options.workflowsOnly,
  });
  const existing = await existingFiles(dir, files);
  if (existing.length > 0 && !options.force)
    throw new InputError(
      `${dir}: ${existing.length} of the files fleetcast init writes already exist, so nothing was written:\n` +
        existing.map((p) => `  ${p}`).join('\n') +
        '\nrerun with --force to overwrite them' +
        (options.workflowsOnly ? '' : ' (or --workflows-only to refresh only the workflows)'),
    );
  const written = await writeAllOrNothing(dir, files);
  return {
    directory: dir,
    actions_ref: formatActionsRef(options.ref),
    written,
    next_steps: written.some((w) => w.path === NEXT_STEPS_FILE) ? NEXT_STEPS_FILE : null,
  };
}
