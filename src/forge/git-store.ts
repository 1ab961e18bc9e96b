import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimpleGit } from 'simple-git';
import { gitEnv, openGit } from './simple-git.js';
import type { CommitAuthor, CommitInfo, DatedCommit } from './types.js';

export type TreeEntry =
  | {
      path: string;
      /** New content (text or bytes), or null to delete the path. */
      content: string | Uint8Array | null;
    }
  | {
      path: string;
      /** An existing blob of this repository (written by writeBlob). */
      blob: string;
    };

const FIELD = '\x1f';
const RECORD = '\x1e';

/**
 * Git object plumbing on one repository (bare or not), through simple-git: read files at a ref,
 * build trees and commits without a work tree, move refs with compare-and-swap. Backs LocalForge
 * (and the test suite's fake GitHub server), never touches a checked-out work tree.
 */
export class GitStore {
  private constructor(
    private readonly git: SimpleGit,
    readonly dir: string,
  ) {}

  static async create(dir: string): Promise<GitStore> {
    const git = openGit(dir);
    await git.raw(['rev-parse', '--git-dir']);
    return new GitStore(git, dir);
  }

  /** Commit sha a ref or sha resolves to, or undefined. */
  async resolve(ref: string): Promise<string | undefined> {
    try {
      const out = await this.git.raw([
        'rev-parse',
        '--verify',
        '--quiet',
        '--end-of-options',
        `${ref}^{commit}`,
      ]);
      return out.trim() || undefined;
    } catch {
      return undefined;
    }
  }

  async branchSha(branch: string): Promise<string | undefined> {
    return this.resolve(`refs/heads/${branch}`);
  }

  async readFile(ref: string, path: string): Promise<string | undefined> {
    try {
      return await this.git.raw(['cat-file', 'blob', `${ref}:${path}`]);
    } catch {
      return undefined; // no such ref, or no such file at it
    }
  }

  async fileId(ref: string, path: string): Promise<string | undefined> {
    try {
      return (await this.git.raw(['rev-parse', '--verify', '--quiet', `${ref}:${path}`])).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** Tree, parents, author and message of one commit. */
  async readCommit(sha: string): Promise<CommitInfo & { tree: string; parents: string[]; date: string }> {
    const out = await this.git.raw([
      'show',
      '-s',
      `--format=%H${FIELD}%T${FIELD}%P${FIELD}%an${FIELD}%ae${FIELD}%aI${FIELD}%B`,
      `${sha}^{commit}`,
    ]);
    const [full, tree, parents, name, email, date, message] = out.split(FIELD);
    return {
      sha: full!.trim(),
      tree: tree!,
      parents: parents!.split(' ').filter((p) => p !== ''),
      author: { name: name!, email: email! },
      date: date!,
      message: (message ?? '').trimEnd(),
    };
  }

  async treeOf(commit: string): Promise<string> {
    return (await this.git.raw(['rev-parse', '--verify', `${commit}^{tree}`])).trim();
  }

  async writeBlob(content: string | Uint8Array): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'fleetcast-blob-'));
    try {
      const file = join(dir, 'blob');
      await writeFile(file, content);
      return (await this.git.raw(['hash-object', '-w', '--no-filters', file])).trim();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** A tree equal to `baseTree` (or empty) with `entries` written or deleted; nested paths allowed. */
  async writeTree(baseTree: string | undefined, entries: readonly TreeEntry[]): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'fleetcast-index-'));
    const git = openGit(this.dir).env(gitEnv({ GIT_INDEX_FILE: join(dir, 'index') }));
    try {
      if (baseTree !== undefined) await git.raw(['read-tree', baseTree]);
      else await git.raw(['read-tree', '--empty']);
      for (const entry of entries) {
        if ('blob' in entry) {
          await git.raw(['update-index', '--add', '--cacheinfo', `100644,${entry.blob},${entry.path}`]);
        } else if (entry.content === null) {
          // --remove drops paths missing from the work tree; an empty one works for bare repositories.
          const empty = join(dir, 'empty-work-tree');
          await mkdir(empty, { recursive: true });
          await openGit(this.dir)
            .env(gitEnv({ GIT_INDEX_FILE: join(dir, 'index'), GIT_WORK_TREE: empty }))
            .raw(['update-index', '--remove', '--', entry.path]);
        } else {
          const blob = await this.writeBlob(entry.content);
          await git.raw(['update-index', '--add', '--cacheinfo', `100644,${blob},${entry.path}`]);
        }
      }
      return (await git.raw(['write-tree'])).trim();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async commitTree(
    tree: string,
    parents: readonly string[],
    message: string,
    author: CommitAuthor,
  ): Promise<string> {
    const git = openGit(this.dir).env(
      gitEnv({
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_COMMITTER_NAME: author.name,
        GIT_COMMITTER_EMAIL: author.email,
      }),
    );
    const args = ['commit-tree', tree, ...parents.flatMap((p) => ['-p', p]), '-m', message];
    return (await git.raw(args)).trim();
  }

  /**
   * Points `refs/heads/<branch>` at `sha` only if it still points at `expected` (null: must not
   * exist); returns false when the branch moved meanwhile.
   */
  async moveBranch(branch: string, sha: string, expected: string | null): Promise<boolean> {
    const ref = `refs/heads/${branch}`;
    try {
      await this.git.raw(['update-ref', ref, sha, expected ?? '0'.repeat(40)]);
      return true;
    } catch {
      return false;
    }
  }

  async deleteBranch(branch: string): Promise<void> {
    if ((await this.branchSha(branch)) === undefined) return;
    await this.git.raw(['update-ref', '-d', `refs/heads/${branch}`]);
  }

  /** Commits in `head` but not in `base`, oldest first. */
  async commitsBetween(base: string, head: string): Promise<CommitInfo[]> {
    const out = await this.git.raw([
      'log',
      '--reverse',
      `--format=%H${FIELD}%an${FIELD}%ae${FIELD}%B${RECORD}`,
      `${base}..${head}`,
      '--',
    ]);
    return parseLog(out);
  }

  /** Commits on `ref` that changed `path`, newest first, with committer dates. */
  async fileHistory(ref: string, path: string, limit: number): Promise<DatedCommit[]> {
    if ((await this.resolve(ref)) === undefined) return [];
    const out = await this.git.raw([
      'log',
      `--max-count=${limit}`,
      `--format=%H${FIELD}%an${FIELD}%ae${FIELD}%cI${FIELD}%B${RECORD}`,
      ref,
      '--',
      path,
    ]);
    return out
      .split(RECORD)
      .map((record) => record.replace(/^\n/, ''))
      .filter((record) => record.trim() !== '')
      .map((record) => {
        const [sha, name, email, date, message] = record.split(FIELD);
        return {
          sha: sha!,
          author: { name: name!, email: email! },
          date: date!,
          message: (message ?? '').trimEnd(),
        };
      });
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    // Not `merge-base --is-ancestor`: it answers by exit status alone, which simple-git does not
    // report as an error when stderr is empty.
    const [a, d] = await Promise.all([this.resolve(ancestor), this.resolve(descendant)]);
    if (a === undefined || d === undefined) return false;
    try {
      return (await this.git.raw(['merge-base', a, d])).trim() === a;
    } catch {
      return false; // no common history
    }
  }

  /** A merge commit of `head` into `base` built without a work tree; throws on conflicts. */
  async mergeCommit(base: string, head: string, message: string, author: CommitAuthor): Promise<string> {
    let tree: string;
    try {
      tree = (await this.git.raw(['merge-tree', '--write-tree', base, head])).split('\n')[0]!.trim();
    } catch (error) {
      throw new Error(`cannot merge ${head} into ${base}: conflicts`, { cause: error });
    }
    return this.commitTree(tree, [base, head], message, author);
  }
}

export function parseLog(out: string): CommitInfo[] {
  return out
    .split(RECORD)
    .map((record) => record.replace(/^\n/, ''))
    .filter((record) => record.trim() !== '')
    .map((record) => {
      const [sha, name, email, message] = record.split(FIELD);
      return { sha: sha!, author: { name: name!, email: email! }, message: (message ?? '').trimEnd() };
    });
}
