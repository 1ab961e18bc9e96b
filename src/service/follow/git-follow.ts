import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GitPluginError, simpleGit, type SimpleGit } from 'simple-git';
import { FleetcastError, InputError, getErrorMessage } from '../../core/errors.js';

/** A remote URL with any user:password removed, for logs. */
export function redactRemote(remote: string): string {
  return remote.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1***@');
}

/** Text (a git error message) with the user info of every URL in it removed. */
export function redactUrls(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@/\s'"]*@/gi, '$1***@');
}

/**
 * A git command that got no answer for this long is killed: a remote that accepts the connection
 * and never answers would otherwise hold every sync (and the service's startup) indefinitely.
 * Progress output counts as an answer, so a long but moving fetch is not cut.
 */
export const DEFAULT_GIT_TIMEOUT_MS = 20_000;

export interface GitCloneOptions {
  /** No output from git for this long ends the command (default DEFAULT_GIT_TIMEOUT_MS). */
  timeoutMs?: number;
}

export function assertBranchName(branch: string): string {
  if (
    !/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(branch) ||
    branch.includes('..') ||
    branch.endsWith('.lock') ||
    branch.length > 200
  )
    throw new InputError(`--branch: invalid branch name ${JSON.stringify(branch.slice(0, 60))}`);
  return branch;
}

/**
 * The service's own clone of the GitOps repository, kept equal to `origin/<branch>`: fetch, then
 * hard reset, so merges and reverts (even force-pushes) arrive as they are on the remote. The
 * clone is the service's alone; local edits in it are discarded.
 */
export class GitRegistryClone {
  private constructor(
    private readonly git: SimpleGit,
    readonly dir: string,
    readonly branch: string,
    private readonly timeoutMs: number,
  ) {}

  static async create(
    remote: string,
    branch: string,
    dir: string,
    options: GitCloneOptions = {},
  ): Promise<GitRegistryClone> {
    assertBranchName(branch);
    const timeoutMs = options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
    const gitIn = (baseDir?: string): SimpleGit =>
      simpleGit({ ...(baseDir !== undefined ? { baseDir } : {}), timeout: { block: timeoutMs } });
    if (!existsSync(dir)) {
      await mkdir(dirname(dir), { recursive: true });
      await withTimeout('git clone', timeoutMs, () =>
        gitIn().clone(remote, dir, ['--branch', branch, '--single-branch', '--no-tags', '--progress']),
      );
      return new GitRegistryClone(gitIn(dir), dir, branch, timeoutMs);
    }
    const git = gitIn(dir);
    if (!(await git.checkIsRepo()))
      throw new InputError(`--clone ${dir}: exists but is not a git repository`);
    const origin = (await git.getRemotes(true)).find((r) => r.name === 'origin');
    if (origin === undefined) await git.addRemote('origin', remote);
    else if (origin.refs.fetch !== remote) await git.remote(['set-url', 'origin', remote]);
    await git.raw(['config', 'remote.origin.fetch', `+refs/heads/${branch}:refs/remotes/origin/${branch}`]);
    const clone = new GitRegistryClone(git, dir, branch, timeoutMs);
    await clone.sync();
    return clone;
  }

  async head(): Promise<string> {
    return (await this.git.revparse(['HEAD'])).trim();
  }

  /** Fetches and resets to origin/<branch>; true when HEAD moved. */
  async sync(): Promise<boolean> {
    const before = await this.head().catch(() => '');
    await withTimeout('git fetch', this.timeoutMs, () =>
      this.git.fetch('origin', this.branch, ['--prune', '--no-tags', '--progress']),
    );
    await this.git.raw(['checkout', '-B', this.branch, `origin/${this.branch}`]);
    await this.git.reset(['--hard', `origin/${this.branch}`]);
    await this.git.clean('f', ['-d']);
    return (await this.head()) !== before;
  }
}

/** Runs a git command; a block timeout becomes an error that says so (with no credentials). */
async function withTimeout<T>(what: string, timeoutMs: number, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof GitPluginError && error.plugin === 'timeout')
      throw new FleetcastError(
        `${what} timed out after ${timeoutMs / 1000} s: the remote accepted the connection but sent nothing`,
        { cause: error },
      );
    throw new FleetcastError(redactUrls(getErrorMessage(error)), { cause: error });
  }
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
        const moved = await this.clone.sync();
        this.head = await this.clone.head();
        this.lastSyncAt = new Date().toISOString();
        this.lastError = null;
        // a sync that finishes after stop() reports nothing: the service is shutting down
        if (moved && !this.stopped) this.onChange(this.head);
      } catch (error) {
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
