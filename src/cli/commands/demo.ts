import type { Command } from 'commander';
import { DEMO_DEFAULTS, runDemo } from '../../demo/run-demo.js';
import { InputError } from '../../core/errors.js';
import { printJson } from '../../core/json-output.js';

interface DemoCliOptions {
  servers: string;
  add: string;
  sunset: string;
  profile: string;
  seed: string;
  port: string;
  keepServing?: boolean;
  workDir?: string;
  keepWorkDir?: boolean;
  json?: boolean;
}

function count(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new InputError(`${flag} must be an integer ≥ ${min}, got ${value}`);
  return n;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'Run the whole loop locally: generate, train, serve, drift PR, merge, retrain, hot swap, rollback',
    )
    .option('--servers <n>', 'servers in the initial fleet', String(DEMO_DEFAULTS.servers))
    .option('--add <n>', 'servers that join the fleet after the first model', String(DEMO_DEFAULTS.add))
    .option('--sunset <n>', 'servers that stop reporting after the first model', String(DEMO_DEFAULTS.sunset))
    .option('--profile <name>', 'training profile (trainer/profiles.json)', DEMO_DEFAULTS.profile)
    .option('--seed <n>', 'random seed for metrics and training', String(DEMO_DEFAULTS.seed))
    .option('--port <n>', 'port of the inference service (0: any free port)', String(DEMO_DEFAULTS.port))
    .option('--keep-serving', 'leave the service and dashboard running until Ctrl-C')
    .option('--work-dir <dir>', 'work in this directory (kept) instead of a temporary one')
    .option('--keep-work-dir', 'keep the temporary directory (repositories, metrics, models, logs)')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      '\nEverything happens in a temporary directory: a bare git repository plays the GitOps remote, so the\n' +
        'checkout you run from stays clean. Exit codes: 0 the loop completed, 1 a step failed, 2 bad options.',
    )
    .action(async (o: DemoCliOptions) => {
      const servers = count(o.servers, '--servers', 4);
      const result = await runDemo(
        {
          servers,
          add: count(o.add, '--add', 0),
          sunset: count(o.sunset, '--sunset', 0),
          profile: o.profile,
          seed: count(o.seed, '--seed', 0),
          port: count(o.port, '--port', 0),
          keepServing: o.keepServing === true,
          keepWorkDir: o.keepWorkDir === true,
          ...(o.workDir !== undefined ? { workDir: o.workDir } : {}),
        },
        {
          progress: (line) => process.stderr.write(`${line}\n`),
          show: (text) => {
            if (!o.json) process.stdout.write(`${text}\n`);
          },
        },
      );
      if (o.json) printJson(result.facts);
      else process.stdout.write(`${result.summary}\n`);
      if (o.keepServing && result.service) {
        process.stdout.write(`\nDashboard: ${result.service.server.url}/   (Ctrl-C to stop)\n`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
      }
      await result.service?.close();
      if (o.keepWorkDir || o.workDir !== undefined)
        process.stderr.write(`work files kept in ${result.workspace.root}\n`);
      else await result.workspace.remove();
    });
}
