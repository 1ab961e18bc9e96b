import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** `fleetcast serve` (or another command) as a real child process, as an operator runs it. */

export const cli = fileURLToPath(new URL('../../bin/fleetcast.js', import.meta.url));
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ServeProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:PORT` once it listens. */
  url: string;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

export async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Runs `fleetcast <args>` with `env` added; waits for "listening on" unless it exits first. */
export async function startServe(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { ...process.env, FLEETCAST_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const url = await waitFor(
    async () => {
      if (exitCode !== undefined) return '';
      return /listening on (http:\/\/\S+)/.exec(out)?.[1];
    },
    `fleetcast ${args[0]} to listen`,
    60_000,
  );
  return { child, url, output: () => out, exited };
}

/** Kills a process left running by a failed test. */
export function killIfRunning(p: ServeProcess | undefined): void {
  if (p && p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}
