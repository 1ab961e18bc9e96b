import type { Command } from 'commander';
import { defaultActionsRef, parseActionsRef } from '../../adopt/actions-ref.js';
import { initRepository } from '../../adopt/init.js';
import { InputError } from '../../core/errors.js';
import { printJson } from '../../core/json-output.js';
import { packageVersion } from '../../core/version.js';

interface InitCommandOptions {
  dir: string;
  actionsRef?: string;
  force?: boolean;
  workflowsOnly?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('init')
    .description(
      'Set up Fleetcast in another repository: the drift, retrain and rollback workflows (using the published actions), config/retrain_config.json, an empty fleet/manifest.json, models-registry/ and FLEETCAST.md with the next steps',
    )
    .option('--dir <path>', 'top directory of the git repository to write into', '.')
    .option(
      '--actions-ref <owner/repo@ref>',
      'where the workflows take the Fleetcast actions from, e.g. acme/fleetcast@v1 (default: the repository in package.json at its major version tag)',
    )
    .option('--force', 'overwrite files that already exist (otherwise nothing is written)')
    .option('--workflows-only', 'write only the workflows, leaving config, manifest and registry alone')
    .option('--json', 'print what was written as JSON')
    .action(async (options: InitCommandOptions) => {
      const ref =
        options.actionsRef === undefined ? defaultActionsRef() : parseActionsRef(options.actionsRef);
      if (ref === undefined)
        throw new InputError(
          '--actions-ref OWNER/REPO@REF is required (e.g. acme/fleetcast@v1): the repository that hosts the Fleetcast actions, since package.json names none',
        );
      const result = await initRepository({
        dir: options.dir,
        ref,
        version: packageVersion(),
        force: options.force === true,
        workflowsOnly: options.workflowsOnly === true,
      });
      if (options.json) {
        printJson(result);
        return;
      }
      const lines = result.written.map((w) => `${w.status.padEnd(11)} ${w.path}`);
      lines.push(`actions: ${result.actions_ref}`);
      if (result.next_steps !== null) lines.push(`next steps: ${result.next_steps}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
