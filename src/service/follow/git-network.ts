import { spawn } from 'node:child_process';
import { FleetcastError } from '../../core/errors.js';
import { headerEnv, redactRemote, redactUrls, type RemoteAuth } from '../../forge/remote-auth.js';

/**
 * Network git for the follower (clone and fetch): credentials only in the environment of each
 * command, never in argv or .git/config; an idle timeout; errors without credentials.
 */

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
  return auth.header ? { ...env, ...headerEnv(auth.header) } : env;
}

/**
 * Runs a network git command (clone, fetch; give it `--progress`) with the credentials header in
 * its environment. Ambient GIT_* variables other than the transport settings above are left out,
 * as simple-git does for the local commands, and git never prompts for a password: a bad token
 * fails instead of hanging. No output for `idleMs` kills it, as does NETWORK_LIMIT_MS in all.
 */
export function gitNetwork(
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
