import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { assertBranchName } from '../../core/branch-name.js';
import { InputError } from '../../core/errors.js';

/** A remote URL with any user:password removed, for logs. */
export function redactRemote(remote: string): string {
  return remote.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1***@');
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
  ) {}

  static async create(remote: string, branch: string, dir: string): Promise<GitRegistryClone> {
    assertBranchName(branch, '--branch');
    if (!existsSync(dir)) {
      await mkdir(dirname(dir), { recursive: true });
      await simpleGit().clone(remote, dir, ['--branch', branch, '--single-branch', '--no-tags']);
      return new GitRegistryClone(simpleGit(dir), dir, branch);
    }
    const git = simpleGit(dir);
    if (!(await git.checkIsRepo()))
      throw new InputError(`--clone ${dir}: exists but is not a git repository`);
    const origin = (await git.getRemotes(true)).find((r) => r.name === 'origin');
    if (origin === undefined) await git.addRemote('origin', remote);
    else if (origin.refs.fetch !== remote) await git.remote(['set-url', 'origin', remote]);
    await git.raw(['config', 'remote.origin.fetch', `+refs/heads/${branch}:refs/remotes/origin/${branch}`]);
    const clone = new GitRegistryClone(git, dir, branch);
    await clone.sync();
    return clone;
  }

  async head(): Promise<string> {
    return (await this.git.revparse(['HEAD'])).trim();
  }

  /** Fetches and resets to origin/<branch>; true when HEAD moved. */
  async sync(): Promise<boolean> {
    const before = await this.head().catch(() => '');
    await this.git.fetch('origin', this.branch, ['--prune', '--no-tags']);
    await this.git.raw(['checkout', '-B', this.branch, `origin/${this.branch}`]);
    await this.git.reset(['--hard', `origin/${this.branch}`]);
    await this.git.clean('f', ['-d']);
    return (await this.head()) !== before;
  }
}

/** Syncs the clone every `intervalMs` and calls `onChange` when it moved. */
export class GitFollower {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

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
        // a sync that finishes after stop() reports nothing: the service is shutting down
        if ((await this.clone.sync()) && !this.stopped) this.onChange(await this.clone.head());
      } catch (error) {
        this.onError(error);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
