import { assertBranchName } from '../core/branch-name.js';

/** The one branch the drift bot writes, fixed per target branch so every run finds the same PR. */
export function driftBranchName(base: string): string {
  return `fleetcast/drift/${assertBranchName(base, 'base branch')}`;
}
