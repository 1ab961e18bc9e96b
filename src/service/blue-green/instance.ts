import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { FleetcastError } from '../../core/errors.js';

/** `bin/fleetcast.js`, located from this file (as the worker pool finds its thread). */
const FLEETCAST_BIN = fileURLToPath(new URL('../../../bin/fleetcast.js', import.meta.url));

export interface StartedInstance {
  url: string;
  pid: number;
  logFile: string;
}

/** The last lines of a log, for an error message. */
export async function logTail(path: string, lines = 15): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Starts `fleetcast serve <args>` as a detached process that outlives this command, its stdout and
 * stderr appended to `logFile`, and waits until it prints the URL it listens on. The environment
 * (FLEETCAST_ADMIN_TOKEN included) is inherited, never put on the command line. If the process
 * exits first (a pinned model it refused), the error carries its exit code and the log's tail.
 */
export async function startInstance(
  serveArgs: readonly string[],
  logFile: string,
  timeoutMs: number,
): Promise<StartedInstance> {
  const log = await open(logFile, 'a', 0o600);
  const start = (await log.stat()).size;
  let exit: { code: number | null; signal: string | null } | null = null;
  let child;
  try {
    child = spawn(process.execPath, [FLEETCAST_BIN, 'serve', ...serveArgs], {
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      env: process.env,
    });
  } finally {
    await log.close(); // the child has its own copy of the descriptor
  }
  child.once('exit', (code, signal) => (exit = { code, signal }));
  const pid = child.pid;
  if (pid === undefined) throw new FleetcastError(`could not start fleetcast serve (see ${logFile})`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = (await readFile(logFile)).subarray(start).toString('utf8');
    const url = /fleetcast serve: listening on (http\S+)/.exec(text)?.[1];
    if (url !== undefined) {
      child.unref();
      return { url, pid, logFile };
    }
    const exited = exit as { code: number | null; signal: string | null } | null;
    if (exited !== null)
      throw new FleetcastError(
        `the new instance exited before listening (${exited.code !== null ? `exit code ${exited.code}` : `signal ${exited.signal}`}):\n${await logTail(logFile)}`,
      );
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new FleetcastError(
        `the new instance did not listen within ${timeoutMs / 1000} s (log: ${logFile})`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * True while a process with this pid runs on this host. An exited process that nobody reaped yet (a
 * zombie: in a container whose init does not reap) still answers kill(pid, 0), so /proc is asked first.
 */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the state follows the command name, which is in parentheses and may itself hold spaces
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
  } catch {
    // no /proc (not Linux), or no such process: kill(pid, 0) decides
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
