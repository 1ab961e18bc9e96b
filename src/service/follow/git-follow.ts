import { chmod, lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { assertBranchName } from '../../core/branch-name.js';
import { InputError, getErrorMessage } from '../../core/errors.js';
import { redactRemote, redactUrls, remoteAuth, type RemoteAuth } from '../../forge/remote-auth.js';
import { DEFAULT_GIT_TIMEOUT_MS, gitNetwork, type GitCloneOptions } from './git-network.js';

export { DEFAULT_GIT_TIMEOUT_MS, redactRemote, redactUrls, type GitCloneOptions };

/**
 * The service's own clone of the GitOps repository, kept equal to `origin/<branch>`: fetch, then
 * hard reset, so merges and reverts (even force-pushes) arrive as they are on the remote. The
 * clone is the service's alone (mode 0700, .git/config 0600, no credentials stored); local edits
 * in it are discarded. A directory that is not its clone of that remote is refused, never adopted.
 */
export class GitRegistryClone {
  private constructor(
    private readonly git: SimpleGit,
    readonly dir: string,
    readonly branch: string,
    private readonly auth: RemoteAuth,
    private readonly timeoutMs: number,
  ) {}

  static async create(
    remote: string,
    branch: string,
    dir: string,
    options: GitCloneOptions = {},
  ): Promise<GitRegistryClone> {
    assertBranchName(branch, '--branch');
    const timeoutMs = options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
    const auth = remoteAuth(remote);
    const created = await makePrivateDir(dir);
    if (created || (await isOwnEmptyDir(dir))) {
      try {
        await gitNetwork(
          ['clone', '--branch', branch, '--single-branch', '--no-tags', '--progress', '--', auth.url, dir],
          undefined,
          auth,
          timeoutMs,
        );
      } catch (error) {
        // An empty directory left behind would be refused by the next start.
        if (created) await rm(dir, { recursive: true, force: true });
        throw error;
      }
      await chmod(dir, 0o700);
      await chmod(join(dir, '.git', 'config'), 0o600);
      return new GitRegistryClone(simpleGit(dir), dir, branch, auth, timeoutMs);
    }
    const git = await ownClone(dir, remote, auth.url);
    await git.raw(['config', 'remote.origin.fetch', `+refs/heads/${branch}:refs/remotes/origin/${branch}`]);
    const clone = new GitRegistryClone(git, dir, branch, auth, timeoutMs);
    await clone.sync();
    return clone;
  }

  async head(): Promise<string> {
    return (await this.git.revparse(['HEAD'])).trim();
  }

  /**
   * Fetches and resets to origin/<branch>; true when HEAD moved. `onFetched` learns the commit
   * before the work tree changes: a pointer watcher may swap models as soon as the files do, and
   * /health must not name the old commit beside the new model.
   */
  async sync(onFetched?: (head: string) => void): Promise<boolean> {
    const before = await this.head().catch(() => '');
    await gitNetwork(
      ['fetch', '--prune', '--no-tags', '--progress', 'origin', this.branch],
      this.dir,
      this.auth,
      this.timeoutMs,
    );
    onFetched?.((await this.git.revparse([`origin/${this.branch}`])).trim());
    await this.git.raw(['checkout', '-B', this.branch, `origin/${this.branch}`]);
    await this.git.reset(['--hard', `origin/${this.branch}`]);
    await this.git.clean('f', ['-d']);
    return (await this.head()) !== before;
  }
}

/** Creates `dir` (mode 0700) and returns true, or returns false when it already exists. */
async function makePrivateDir(dir: string): Promise<boolean> {
  await mkdir(dirname(dir), { recursive: true });
  try {
    await mkdir(dir, { mode: 0o700 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** An empty directory of this user that no one else can write to: a clone target as good as new. */
async function isOwnEmptyDir(dir: string): Promise<boolean> {
  const stats = await lstat(dir).catch(() => null);
  if (stats === null || !stats.isDirectory() || (stats.mode & 0o022) !== 0) return false;
  if (process.getuid !== undefined && stats.uid !== process.getuid()) return false;
  return (await readdir(dir)).length === 0;
}

/**
 * Checks that an existing `dir` is this service's clone of `url` before any git command runs in
 * it: a real directory of this user that no one else can write to, with its own `.git` (not a
 * directory inside another repository), whose origin is `url`. Then takes any credentials out of
 * the stored origin URL (clones of older versions) and makes the clone private.
 */
async function ownClone(dir: string, remote: string, url: string): Promise<SimpleGit> {
  const refuse = (why: string): InputError =>
    new InputError(
      `clone directory ${dir}: exists but is not this service's clone of ${redactRemote(remote)}: ${why}; ` +
        'remove it or choose another directory (--clone)',
    );
  const uid = process.getuid?.();
  for (const path of [dir, join(dir, '.git')]) {
    const stats = await lstat(path).catch(() => null);
    if (stats === null || !stats.isDirectory())
      throw refuse('not a git clone (no .git directory of its own)');
    if (uid !== undefined && stats.uid !== uid)
      throw refuse(`${path} belongs to another user (uid ${stats.uid})`);
    if ((stats.mode & 0o022) !== 0) throw refuse(`${path} is writable by other users`);
  }
  const git = simpleGit(dir);
  const origin = (await git.getRemotes(true)).find((r) => r.name === 'origin');
  if (origin === undefined) throw refuse('it has no origin remote');
  if (remoteAuth(origin.refs.fetch).url !== url)
    throw refuse(`its origin is ${redactRemote(origin.refs.fetch)}`);
  if (origin.refs.fetch !== url) await git.remote(['set-url', 'origin', url]);
  await chmod(dir, 0o700);
  await chmod(join(dir, '.git', 'config'), 0o600);
  return git;
}

/** The follower's state for /health. */
export interface FollowStatus {
  branch: string;
  head: string | null;
  /** Last successful sync (ISO 8601). */
  lastSyncAt: string | null;
  /** While syncs fail: the last error, and when the failures began. */
  lastError: { at: string; message: string; since: string } | null;
}

/** Syncs the clone every `intervalMs` and calls `onChange` when it moved. */
export class GitFollower {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private head: string | null = null;
  private lastSyncAt: string | null = null;
  private lastError: FollowStatus['lastError'] = null;

  constructor(
    private readonly clone: GitRegistryClone,
    private readonly intervalMs: number,
    private readonly onChange: (head: string) => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  tick(): Promise<void> {
    this.running ??= (async () => {
      try {
        const moved = await this.clone.sync((next) => {
          this.head = next;
        });
        this.head = await this.clone.head();
        this.lastSyncAt = new Date().toISOString();
        this.lastError = null;
        // a sync that finishes after stop() reports nothing: the service is shutting down
        if (moved && !this.stopped) this.onChange(this.head);
      } catch (error) {
        // the fetched commit may not have been checked out: report the one that was
        this.head = await this.clone.head().catch(() => this.head);
        const at = new Date().toISOString();
        this.lastError = {
          at,
          message: redactUrls(getErrorMessage(error)),
          since: this.lastError?.since ?? at,
        };
        this.onError(error);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  status(): FollowStatus {
    return {
      branch: this.clone.branch,
      head: this.head,
      lastSyncAt: this.lastSyncAt,
      lastError: this.lastError,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
