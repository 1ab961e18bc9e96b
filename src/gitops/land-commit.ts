import { BranchMovedError, ForgeError } from '../forge/errors.js';
import type { Workspace } from '../forge/git-workspace.js';
import type { Forge } from '../forge/types.js';

export interface LandOptions {
  /** Tries when someone else moves the branch meanwhile; then it fails loudly. */
  attempts?: number;
}

/**
 * Lands the workspace's HEAD commit (made with local git, unsigned, never pushed) on `branch`
 * through the forge: the same files and message as one new commit on the branch's current head,
 * which moves only by a fast-forward. On GitHub the commit is made through the API without a
 * custom author, so GitHub signs it (what "require signed commits" and a ruleset bypass for the
 * App accept). When the branch moved since the checkout, the change is replayed on the new head
 * if nobody touched the same files (otherwise it is a conflict, reported, nothing written); a head
 * that keeps moving is retried `attempts` times. Returns the landed commit; the workspace is reset
 * to the branch afterwards, so its HEAD is that commit (or a later one someone pushed).
 */
export async function landCommit(
  forge: Forge,
  git: Workspace,
  branch: string,
  options: LandOptions = {},
): Promise<string> {
  const attempts = options.attempts ?? 3;
  const op = `land commit on ${branch} through the ${forge.kind} forge`;
  const local = await git.head();
  const { parent: base, message, files } = await git.changes(local);
  const paths = Object.keys(files);
  let head = await forge.getBranchSha(branch);
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (head === undefined) throw new ForgeError(op, `branch ${branch} does not exist`);
    if (head !== base) await assertUntouched(forge, op, base, head, paths);
    try {
      const sha = await forge.commitFiles({ branch, parentSha: head, expectedHeadSha: head, files, message });
      await git.syncTo(branch);
      return sha;
    } catch (error) {
      if (!(error instanceof BranchMovedError)) throw error;
      head = await forge.getBranchSha(branch);
    }
  }
  throw new ForgeError(
    op,
    `${branch} moved during each of ${attempts} attempts (others are pushing); nothing was committed, run it again`,
  );
}

/** Refuses to replay a change when the branch changed one of its files since `base` (compared by blob id: bytes, not text). */
async function assertUntouched(
  forge: Forge,
  op: string,
  base: string,
  head: string,
  paths: readonly string[],
): Promise<void> {
  for (const path of paths) {
    const [before, now] = await Promise.all([forge.fileId(base, path), forge.fileId(head, path)]);
    if (before !== now)
      throw new ForgeError(
        op,
        `${path} changed between ${base.slice(0, 12)} and the branch head ${head.slice(0, 12)} ` +
          '(someone deployed or rolled back meanwhile); not overwriting it',
        { status: 409 },
      );
  }
}
