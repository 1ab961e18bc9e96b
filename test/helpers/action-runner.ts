import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * Runs an action's exported run() the way the runner does: INPUT_* variables, GITHUB_OUTPUT and
 * GITHUB_STEP_SUMMARY files, an event JSON at GITHUB_EVENT_PATH, GITHUB_WORKSPACE. Workflow
 * commands written to stdout (::warning::, ::error::, ::add-mask::) are captured.
 */

export interface ActionRun {
  exitCode: number;
  outputs: Record<string, string>;
  summary: string;
  stdout: string;
  warnings: string[];
  errors: string[];
}

export interface ActionRunOptions {
  /** actions/<name>/action.yml: its input defaults are set like the runner sets them. */
  action?: string;
  inputs: Record<string, string | undefined>;
  workspace: string;
  env?: Record<string, string>;
  event?: unknown;
  eventName?: string;
}

let serial = Promise.resolve();
/** @actions/core caches the summary path on first use, so every run shares one summary file. */
let summaryDir: string | undefined;

export function runAction(run: () => Promise<void>, options: ActionRunOptions): Promise<ActionRun> {
  // process.env and stdout are global: one action at a time.
  const next = serial.then(() => runOnce(run, options));
  serial = next.then(
    () => undefined,
    () => undefined,
  );
  return next;
}

/** Reads `name<<delimiter` blocks as the runner does. */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (match === null) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== match[2]; i++) value.push(lines[i]!);
    out[match[1]!] = value.join('\n');
  }
  return out;
}

async function runOnce(run: () => Promise<void>, options: ActionRunOptions): Promise<ActionRun> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetcast-runner-'));
  const outputPath = join(dir, 'output');
  if (summaryDir === undefined) {
    const made = await mkdtemp(join(tmpdir(), 'fleetcast-summary-'));
    summaryDir = made;
    // one per test process, shared by its runs: removed when the process ends
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  const summaryPath = join(summaryDir, 'step-summary.md');
  const eventPath = join(dir, 'event.json');
  await writeFile(outputPath, '');
  await writeFile(summaryPath, '');
  await writeFile(eventPath, JSON.stringify(options.event ?? {}));
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) if (key.startsWith('INPUT_')) delete process.env[key];
  Object.assign(process.env, {
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: outputPath,
    GITHUB_STEP_SUMMARY: summaryPath,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_EVENT_NAME: options.eventName ?? 'workflow_dispatch',
    GITHUB_WORKSPACE: options.workspace,
    GITHUB_SERVER_URL: 'https://github.test',
    GITHUB_RUN_ID: '4242',
    GITHUB_ACTOR: 'dana',
    GITHUB_ACTOR_ID: '7',
    ...options.env,
  });
  const inputs = { ...actionDefaults(options.action), ...options.inputs };
  for (const [name, value] of Object.entries(inputs)) {
    if (value !== undefined) process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  const previousExit = process.exitCode;
  process.exitCode = undefined;
  try {
    await run();
  } finally {
    process.stdout.write = write;
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = previousExit;
  const stdout = chunks.join('');
  const commands = (kind: string) =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith(`::${kind}`))
      .map((l) =>
        l
          .slice(l.indexOf('::', 2) + 2)
          .replace(/%0A/g, '\n')
          .replace(/%25/g, '%'),
      );
  const result: ActionRun = {
    exitCode,
    outputs: parseOutputFile(await readFile(outputPath, 'utf8')),
    summary: await readFile(summaryPath, 'utf8'),
    stdout,
    warnings: commands('warning'),
    errors: commands('error'),
  };
  await rm(dir, { recursive: true, force: true });
  return result;
}

/** Defaults from action.yml, skipping `${{ }}` expressions (only the runner can evaluate them). */
function actionDefaults(action: string | undefined): Record<string, string> {
  if (action === undefined) return {};
  const file = new URL(`../../actions/${action}/action.yml`, import.meta.url);
  const meta = parse(readFileSync(file, 'utf8')) as { inputs: Record<string, { default?: string }> };
  return Object.fromEntries(
    Object.entries(meta.inputs)
      .filter(([, input]) => input.default !== undefined && !String(input.default).includes('${{'))
      .map(([name, input]) => [name, String(input.default)]),
  );
}
