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

/** The variables a network command (fetch, push, pull) may get besides: a token as a header. */
const NETWORK = [
  'GIT_CONFIG_COUNT',
  'GIT_CONFIG_KEY_0',
  'GIT_CONFIG_VALUE_0',
  'GIT_CONFIG_KEY_1',
  'GIT_CONFIG_VALUE_1',
  'GIT_TERMINAL_PROMPT',
];

/**
 * simple-git on `dir`, permitted to receive exactly the variables above through `.env()`.
 * `.env()` changes the instance it is called on: use a fresh instance for each environment.
 */
export function openGit(dir: string, options: { network?: boolean } = {}): SimpleGit {
  if (!options.network) return simpleGit({ baseDir: dir, allowEnvironment: ALLOWED });
  // GIT_CONFIG_COUNT may set any config key; here only remote-auth's headerEnv (http.<url>.extraHeader)
  return simpleGit({
    baseDir: dir,
    allowEnvironment: [...ALLOWED, ...NETWORK],
    unsafe: { allowUnsafeConfigEnvCount: true },
  });
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
