import { main } from '../../src/cli/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `fleetcast` CLI in this process, capturing what it writes to stdout and stderr
 * (logs go to fd 2 through pino and are not captured).
 */
export async function fleetcastInProcess(args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  // The CLI writes strings; the test runner's own reporting (binary chunks) passes through.
  const capture =
    (into: string[], original: typeof process.stdout.write) =>
    (chunk: string | Uint8Array, ...rest: never[]): boolean =>
      typeof chunk === 'string' ? into.push(chunk) > 0 : original(chunk, ...rest);
  process.stdout.write = capture(out, writeOut) as typeof process.stdout.write;
  process.stderr.write = capture(err, writeErr) as typeof process.stderr.write;
  let code: number;
  try {
    code = await main(['node', 'fleetcast', ...args]);
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    process.exitCode = undefined;
  }
  return { code, stdout: out.join(''), stderr: err.join('') };
}
