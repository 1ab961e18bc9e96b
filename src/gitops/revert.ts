import type { Workspace } from '../forge/git-workspace.js';
import type { CommitAuthor } from '../forge/types.js';
import { revertCommitMessage, type RollbackFacts } from './deploy-commit.js';

/**
 * `git revert` of a deploy commit in the workspace, with a message that says who rolled back and
 * why; returns the local commit, which the caller lands through the forge (land-commit.ts).
 */
export async function revertDeployCommit(
  git: Workspace,
  deploySha: string,
  facts: RollbackFacts,
  author: CommitAuthor,
  committer: CommitAuthor,
): Promise<string> {
  const subject = (await git.message(deploySha)).split('\n')[0] ?? deploySha;
  return git.revert(deploySha, revertCommitMessage(subject, deploySha, facts), author, committer);
}
