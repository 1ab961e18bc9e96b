import { spawn } from 'node:child_process';
import { chmod, lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { assertBranchName } from '../../core/branch-name.js';
import { FleetcastError, InputError, getErrorMessage } from '../../core/errors.js';

/** A remote URL with any user:password removed, for logs. */
export function redactRemote(remote: string): string {
  return remote.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1***@');
}

/**
 * An HTTP(S) remote split into the URL git stores (no user:password) and the credentials, which
 * travel only as an `Authorization` header in the environment of each network command
 * (GIT_CONFIG_COUNT/KEY/VALUE: not in argv, where `ps` shows it, nor in .git/config), scoped to
 * the remote's host so a redirect elsewhere does not get it. Other remotes pass unchanged.
 */
interface RemoteAuth {
  url: string;
  header?: { key: string; value: string };
}

function remoteAuth(remote: string): RemoteAuth {
  const match = /^(https?:\/\/)([^@/]*)@(.*)$/i.exec(remote);
  if (match === null) return { url: remote };
  const scheme = match[1]!;
  const userinfo = match[2]!;
  const rest = match[3]!;
  const url = `${scheme}${rest}`;
  const colon = userinfo.indexOf(':');
  const user = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
  const password = colon < 0 ? '' : decodeURIComponent(userinfo.slice(colon + 1));
  const host = /^[^/?#]*/.exec(rest)![0];
  return {
    url,
    header: {
      key: `http.${scheme}${host}/.extraHeader`,
      value: `Authorization: Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    },
  };
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
/** A clone or fetch still running after this long is stopped, however chatty (retried next sync). */
const NETWORK_LIMIT_MS = 10 * 60_000;

export interface GitCloneOptions {
  /** No output from git for this long ends the command (default DEFAULT_GIT_TIMEOUT_MS). */
  timeoutMs?: number;
}

/** The operator's transport settings (deploy/kubernetes/inference.yaml sets GIT_SSH_COMMAND). */
const NETWORK_GIT_ENV = new Set(['GIT_SSH_COMMAND', 'GIT_SSH', 'GIT_SSL_CAINFO', 'GIT_SSL_CAPATH']);

function networkEnv(auth: RemoteAuth): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!/^GIT_/i.test(name) || NETWORK_GIT_ENV.has(name)) env[name] = value;
  env.GIT_TERMINAL_PROMPT = '0';
  if (auth.header) {
    env.GIT_CONFIG_COUNT = '1';
    env.GIT_CONFIG_KEY_0 = auth.header.key;
    env.GIT_CONFIG_VALUE_0 = auth.header.value;
  }
  return env;
}

/**
 * Runs a network git command (clone, fetch; give it `--progress`) with the credentials header in
 * its environment. Ambient GIT_* variables other than the transport settings above are left out,
 * as simple-git does for the local commands, and git never prompts for a password: a bad token
 * fails instead of hanging. No output for `idleMs` kills it, as does NETWORK_LIMIT_MS in all.
 */
function gitNetwork(
  args: readonly string[],
  cwd: string | undefined,
  auth: RemoteAuth,
  idleMs: number,
): Promise<void> {
  const what = `git ${args[0]} ${redactRemote(auth.url)}`;
  return new Promise((resolve, reject) => {
    // Its own process group: git runs helpers (git-remote-http, ssh) that must die with it.
    const child = spawn('git', args, {
      cwd,
      env: networkEnv(auth),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stderr = '';
    let timedOut: string | null = null;
    const kill = (why: string) => {
      timedOut = why;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    let idle = setTimeout(() => kill(`after ${idleMs / 1000} s`), idleMs);
    const total = setTimeout(() => kill(`after ${NETWORK_LIMIT_MS / 60_000} min in all`), NETWORK_LIMIT_MS);
    const answered = () => {
      clearTimeout(idle);
      idle = setTimeout(() => kill(`after ${idleMs / 1000} s`), idleMs);
    };
    child.stdout.on('data', answered);
    child.stderr.on('data', (chunk: Buffer) => {
      answered();
      stderr = (stderr + chunk.toString('utf8')).slice(-4096);
    });
    const done = (error: Error | null) => {
      clearTimeout(idle);
      clearTimeout(total);
      if (error === null) resolve();
      else reject(error);
    };
    child.on('error', (error) =>
      done(new FleetcastError(`${what} failed: ${error.message}`, { cause: error })),
    );
    // 'exit', not 'close': a helper that outlived git would hold the pipes open
    child.on('exit', (code) => {
      child.stdout.destroy();
      child.stderr.destroy();
      if (timedOut !== null)
        done(
          new FleetcastError(
            `git ${args[0]} timed out ${timedOut}: the remote accepted the connection but sent nothing (${redactRemote(auth.url)})`,
          ),
        );
      else if (code !== 0)
        done(new FleetcastError(`${what} failed: ${redactUrls(stderr.trim()) || `exit code ${code}`}`));
      else done(null);
    });
  });
}

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

  /** Fetches and resets to origin/<branch>; true when HEAD moved. */
  async sync(): Promise<boolean> {
    const before = await this.head().catch(() => '');
    await gitNetwork(
      ['fetch', '--prune', '--no-tags', '--progress', 'origin', this.branch],
      this.dir,
      this.auth,
      this.timeoutMs,
    );
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
