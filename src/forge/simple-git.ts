import { simpleGit, type SimpleGit } from 'simple-git';

/** The GIT_* variables Fleetcast sets on purpose (identity of a commit, a private index). */
const ALLOWED = [
  'GIT_AUTHOR_NAME',
  'GIT_AUTHOR_EMAIL',
  'GIT_COMMITTER_NAME',
  'GIT_COMMITTER_EMAIL',
  'GIT_INDEX_FILE',
  'GIT_WORK_TREE',
];

/**
 * simple-git on `dir`, permitted to receive exactly the variables above through `.env()`.
 * `.env()` changes the instance it is called on: use a fresh instance for each environment.
 */
export function openGit(dir: string): SimpleGit {
  return simpleGit({ baseDir: dir, allowEnvironment: ALLOWED });
}

/**
 * Variables that make git run a program (editor, pager, askpass); simple-git refuses an explicit
 * environment that holds them, and npm scripts set EDITOR.
 */
const UNSAFE = new Set(['EDITOR', 'VISUAL', 'PAGER', 'SSH_ASKPASS', 'PREFIX']);

/**
 * The process environment without ambient GIT_* variables (simple-git's environment guard refuses
 * those when passed explicitly, and drops them otherwise), plus `extra`.
 */
export function gitEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    const upper = key.toUpperCase();
    if (value !== undefined && !upper.startsWith('GIT_') && !UNSAFE.has(upper)) env[key] = value;
  }
  return { ...env, ...extra };
}
