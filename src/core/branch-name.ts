import { InputError } from './errors.js';

/** Longest branch name accepted (git allows more; no branch Fleetcast reads or writes needs it). */
export const BRANCH_NAME_MAX_LENGTH = 200;

/**
 * Returns why `name` is not a branch name Fleetcast accepts, or undefined when it is. The rule is
 * `git check-ref-format --branch` on a conservative alphabet: letters, digits, '.', '_', '-' and
 * '/' only (so no space, control character, '~', '^', ':', '?', '*', '[', '\\' or '@{'), starting
 * with a letter or digit; no empty component ('//' or a trailing '/'), no component starting with
 * '.' or ending with '.lock', no '..', no trailing '.', and not HEAD. Branch names reach git
 * command lines and refs, so anything git would refuse or read as an option is refused first.
 */
export function branchNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > BRANCH_NAME_MAX_LENGTH) return `it is longer than ${BRANCH_NAME_MAX_LENGTH} characters`;
  if (!/^[A-Za-z0-9]/.test(name)) return 'it must start with a letter or digit';
  if (!/^[A-Za-z0-9._/-]+$/.test(name)) return "only letters, digits, '.', '_', '-' and '/' are allowed";
  if (name.includes('..')) return "it contains '..'";
  if (name.endsWith('.')) return "it ends with '.'";
  if (name === 'HEAD') return 'HEAD is not a branch';
  for (const component of name.split('/')) {
    if (component === '') return "it has an empty component ('//' or a trailing '/')";
    if (component.startsWith('.')) return `component ${JSON.stringify(component)} starts with '.'`;
    if (component.endsWith('.lock')) return `component ${JSON.stringify(component)} ends with '.lock'`;
  }
  return undefined;
}

/** Returns `name` when it is a valid branch name, else throws an InputError naming `where`. */
export function assertBranchName(name: string, where: string): string {
  const problem = branchNameProblem(name);
  if (problem !== undefined)
    throw new InputError(`${where}: invalid branch name ${JSON.stringify(name.slice(0, 60))}: ${problem}`);
  return name;
}
