import { InputError } from '../core/errors.js';

/** A conservative git branch name check (a subset of git-check-ref-format). */
export function assertBranchName(name: string, where: string): string {
  const ok =
    /^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(name) &&
    !name.includes('..') &&
    !name.includes('//') &&
    !name.endsWith('/') &&
    !name.endsWith('.lock') &&
    !name.endsWith('.') &&
    name.length <= 200;
  if (!ok) throw new InputError(`${where}: ${JSON.stringify(name.slice(0, 60))} is not a valid branch name`);
  return name;
}

/** The one branch the drift bot writes, fixed per target branch so every run finds the same PR. */
export function driftBranchName(base: string): string {
  return `fleetcast/drift/${assertBranchName(base, 'base branch')}`;
}
