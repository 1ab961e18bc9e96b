import type { SimpleGit } from 'simple-git';
import { headerEnv, tokenHeader } from './remote-auth.js';
import { gitEnv, openGit } from './simple-git.js';
import { parseLog } from './git-store.js';
import type { CommitAuthor, CommitInfo, FileChanges, FileContent } from './types.js';

/** What one commit changed against its only parent, as a forge can commit it elsewhere. */
export interface CommitChanges {
  parent: string;
  message: string;
  files: FileChanges;
}

/** What the deploy, verify and rollback steps need from a checked-out repository. */
export interface Workspace {
  readonly dir: string;
  head(): Promise<string>;
  /** Commits that touched `path`, newest first, with full messages. */
  history(path: string, limit?: number): Promise<CommitInfo[]>;
  /** Full message of one commit. */
  message(sha: string): Promise<string>;
  /** Stages `paths` (additions, changes and deletions) and commits; returns the new sha. */
  commit(paths: string[], message: string, author: CommitAuthor, committer?: CommitAuthor): Promise<string>;
  /** Reverts one commit as a new commit with `message`; returns the new sha. */
  revert(sha: string, message: string, author: CommitAuthor, committer?: CommitAuthor): Promise<string>;
  /** Pushes HEAD to `branch` on origin, rebasing (as `committer`) on what others pushed meanwhile. */
  push(branch: string, committer: CommitAuthor): Promise<void>;
  /** The files one (non-merge) commit changed, with their new bytes; deletions are null. */
  changes(sha: string): Promise<CommitChanges>;
  /** Fetches `branch` from origin and makes it the checked-out state (after a forge moved it). */
  syncTo(branch: string): Promise<string>;
}

const FIELD = '\x1f';
const RECORD = '\x1e';

/** A commit's author and committer, as git reads them from the environment. */
function identityEnv(author: CommitAuthor, committer: CommitAuthor = author): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: committer.name,
    GIT_COMMITTER_EMAIL: committer.email,
  };
}

/** A git work tree driven through simple-git (private constructor; use `create`). */
export class GitWorkspace implements Workspace {
  private constructor(
    private readonly git: SimpleGit,
    readonly dir: string,
    private readonly pushAttempts: number,
    /** GIT_CONFIG_* for fetch, push and pull: the token as a header; empty without one. */
    private readonly networkEnv: Record<string, string>,
  ) {}

  /**
   * `token` (a GitHub token) authenticates fetch, push and pull against an HTTP(S) origin, in the
   * environment of each of those commands only: the checkout can then drop its credentials
   * (`persist-credentials: false`), so no later step (an `npm ci` install script) finds a token
   * in .git/config.
   */
  static async create(
    dir: string,
    options: { pushAttempts?: number; token?: string | undefined } = {},
  ): Promise<GitWorkspace> {
    const git = openGit(dir);
    const inside = (await git.raw(['rev-parse', '--is-inside-work-tree'])).trim();
    if (inside !== 'true') throw new Error(`${dir} is not a git work tree`);
    let networkEnv: Record<string, string> = {};
    if (options.token) {
      // no origin: nothing to authenticate (a fetch then fails on its own, naming origin)
      const origin = await git.raw(['remote', 'get-url', 'origin']).then(
        (url) => url.trim(),
        () => '',
      );
      const header = tokenHeader(origin, options.token);
      if (header) networkEnv = headerEnv(header);
    }
    return new GitWorkspace(git, dir, options.pushAttempts ?? 3, networkEnv);
  }

  /** simple-git for a command that talks to origin, with `extra` variables and the token header. */
  private network(extra: Record<string, string> = {}): SimpleGit {
    const env = { ...extra, ...this.networkEnv };
    if (Object.keys(env).length === 0) return this.git;
    return openGit(this.dir, { network: true }).env(gitEnv(env));
  }

  async head(): Promise<string> {
    return (await this.git.raw(['rev-parse', 'HEAD'])).trim();
  }

  async history(path: string, limit = 500): Promise<CommitInfo[]> {
    const out = await this.git.raw([
      'log',
      `--max-count=${limit}`,
      `--format=%H${FIELD}%an${FIELD}%ae${FIELD}%B${RECORD}`,
      '--',
      path,
    ]);
    return parseLog(out);
  }

  async message(sha: string): Promise<string> {
    return (await this.git.raw(['show', '-s', '--format=%B', `${sha}^{commit}`])).trimEnd();
  }

  private withIdentity(author: CommitAuthor, committer: CommitAuthor = author): SimpleGit {
    return openGit(this.dir).env(gitEnv(identityEnv(author, committer)));
  }

  async commit(
    paths: string[],
    message: string,
    author: CommitAuthor,
    committer?: CommitAuthor,
  ): Promise<string> {
    await this.git.raw(['add', '--all', '--', ...paths]);
    await this.withIdentity(author, committer).raw(['commit', '--no-verify', '--quiet', '-m', message]);
    return this.head();
  }

  async revert(
    sha: string,
    message: string,
    author: CommitAuthor,
    committer?: CommitAuthor,
  ): Promise<string> {
    try {
      await this.git.raw(['revert', '--no-commit', sha]);
    } catch (error) {
      await this.git.raw(['revert', '--abort']).catch(() => undefined);
      throw new Error(`git revert ${sha.slice(0, 12)} does not apply cleanly; resolve it by hand`, {
        cause: error,
      });
    }
    await this.withIdentity(author, committer).raw(['commit', '--no-verify', '--quiet', '-m', message]);
    return this.head();
  }

  async push(branch: string, committer: CommitAuthor): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.network().raw(['push', 'origin', `HEAD:refs/heads/${branch}`]);
        return;
      } catch (error) {
        if (attempt >= this.pushAttempts) throw new Error(`git push to ${branch} failed`, { cause: error });
        // Someone pushed meanwhile: replay our commit on theirs and try again.
        await this.network(identityEnv(committer)).raw(['pull', '--rebase', '--quiet', 'origin', branch]);
      }
    }
  }

  async changes(sha: string): Promise<CommitChanges> {
    const parents = (await this.git.raw(['show', '-s', '--format=%P', `${sha}^{commit}`])).trim().split(' ');
    if (parents.length !== 1 || parents[0] === '')
      throw new Error(`${sha.slice(0, 12)} is not a commit with exactly one parent`);
    const parent = parents[0]!;
    // -z: paths verbatim; --no-renames: a rename is a deletion and an addition.
    const raw = await this.git.raw(['diff-tree', '-r', '-z', '--no-renames', '--no-commit-id', parent, sha]);
    const fields = raw.split('\0').filter((f) => f !== '');
    const files: Record<string, FileContent | null> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) {
      // ":<old mode> <new mode> <old blob> <new blob> <status>", then the path
      const [, newMode, , , status] = fields[i]!.slice(1).split(' ');
      const path = fields[i + 1]!;
      if (status === 'D') {
        files[path] = null;
        continue;
      }
      if (newMode !== '100644')
        throw new Error(
          `${path} in ${sha.slice(0, 12)} has mode ${newMode}; only regular files (100644) are supported`,
        );
      files[path] = await this.git.binaryCatFile(['blob', `${sha}:${path}`]);
    }
    return { parent, message: await this.message(sha), files };
  }

  async syncTo(branch: string): Promise<string> {
    await this.network().raw(['fetch', '--quiet', 'origin', `refs/heads/${branch}`]);
    await this.git.raw(['reset', '--quiet', '--hard', 'FETCH_HEAD']);
    return this.head();
  }
}
