import { readFileSync } from 'node:fs';
import { InputError } from '../core/errors.js';

/**
 * Where another repository's workflows take the Fleetcast actions from: `OWNER/REPO@REF`, used as
 * `uses: OWNER/REPO/actions/<name>@REF`. REF is a tag (`v1`, `v1.2.3`), a branch or a commit sha
 * (docs/releasing.md).
 */
export interface ActionsRef {
  owner: string;
  repo: string;
  ref: string;
}

// GitHub's rules for account and repository names; a ref as git allows it, minus what `uses:`
// cannot carry (spaces, `@`, `..`, a leading `-` or `/`).
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;
const REF = /^[A-Za-z0-9_][A-Za-z0-9._/-]{0,254}$/;

/** Why `ref` is not a usable git ref in `uses:` (undefined when it is). */
function refProblem(ref: string): string | undefined {
  if (!REF.test(ref)) return 'letters, digits, ".", "_", "-" and "/" only, starting with a letter or digit';
  if (ref.includes('..') || ref.includes('//') || ref.endsWith('/') || ref.endsWith('.lock'))
    return 'not a valid git ref (no "..", "//", trailing "/" or ".lock")';
  return undefined;
}

/** Parses `OWNER/REPO@REF`; the error names the flag and the part that is wrong. */
export function parseActionsRef(text: string, where = '--actions-ref'): ActionsRef {
  const match = /^([^/@\s]+)\/([^/@\s]+)@(\S+)$/.exec(text.trim());
  if (match === null)
    throw new InputError(
      `${where}: expected OWNER/REPO@REF, e.g. acme/fleetcast@v1, not ${JSON.stringify(text)}`,
    );
  const [, owner, repo, ref] = match as unknown as [string, string, string, string];
  if (!OWNER.test(owner))
    throw new InputError(`${where}: ${JSON.stringify(owner)} is not a GitHub account name`);
  if (!REPO.test(repo) || repo === '.' || repo === '..')
    throw new InputError(`${where}: ${JSON.stringify(repo)} is not a GitHub repository name`);
  const problem = refProblem(ref);
  if (problem !== undefined) throw new InputError(`${where}: ref ${JSON.stringify(ref)}: ${problem}`);
  return { owner, repo, ref };
}

export function formatActionsRef(ref: ActionsRef): string {
  return `${ref.owner}/${ref.repo}@${ref.ref}`;
}

/** The `uses:` value of one Fleetcast action. */
export function actionUses(ref: ActionsRef, action: string): string {
  return `${ref.owner}/${ref.repo}/actions/${action}@${ref.ref}`;
}

interface PackageFields {
  version?: unknown;
  repository?: unknown;
}

/**
 * The default of `--actions-ref`: the GitHub repository package.json names (`repository`), at the
 * moving major tag of package.json's version (`v1` for 1.4.2), or undefined when package.json names
 * no GitHub repository. Pure, for tests; `defaultActionsRef()` reads Fleetcast's own package.json.
 */
export function actionsRefFromPackage(pkg: PackageFields): ActionsRef | undefined {
  const repository =
    typeof pkg.repository === 'string'
      ? pkg.repository
      : typeof pkg.repository === 'object' && pkg.repository !== null
        ? (pkg.repository as { url?: unknown }).url
        : undefined;
  if (typeof repository !== 'string') return undefined;
  const match =
    /^(?:github:)?([^/:@\s]+)\/([^/:@\s]+?)$/.exec(repository) ??
    /^(?:git\+)?(?:https?|ssh|git):\/\/(?:git@)?github\.com[/:]([^/\s]+)\/([^/\s]+?)(?:\.git)?\/?$/.exec(
      repository,
    );
  const major = typeof pkg.version === 'string' ? /^(\d+)\./.exec(pkg.version)?.[1] : undefined;
  if (match === null || major === undefined) return undefined;
  try {
    return parseActionsRef(`${match[1]}/${match[2]}@v${major}`, 'package.json repository');
  } catch {
    return undefined;
  }
}

export function defaultActionsRef(): ActionsRef | undefined {
  const pkg = JSON.parse(
    readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
  ) as PackageFields;
  return actionsRefFromPackage(pkg);
}
