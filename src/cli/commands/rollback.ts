import type { Command } from 'commander';
import { printJson } from '../../core/json-output.js';
import { rollbackModel } from '../../model/deploy-check.js';
import { rejectRenamedOptions } from '../renamed-options.js';
import { forceOf } from '../force-option.js';

interface RollbackCliOptions {
  registry: string;
  modelId?: string;
  reason?: string;
  force?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  rejectRenamedOptions(program.command('rollback'), { '--to': '--model-id' })
    .description('Point the registry back at the previous model (or --model-id ID), checked like a deploy')
    .requiredOption('--registry <dir>', 'model registry directory (holds current.json and models/)')
    .option('--model-id <id>', 'model id to go back to (default: previous_model_id in current.json)')
    .option('--reason <text>', 'why (default: "rollback from X to Y")')
    .option('--force', 'roll back although validation.json failed or is missing (needs --reason)')
    .option('--json', 'print the resulting pointer as JSON')
    .action(async (options: RollbackCliOptions) => {
      const force = forceOf(options);
      const result = await rollbackModel(options.registry, {
        ...(options.modelId === undefined ? {} : { to: options.modelId }),
        ...(options.reason === undefined ? {} : { reason: options.reason }),
        ...(force === undefined ? {} : { force }),
      });
      if (options.json) {
        printJson({
          changed: result.changed,
          from: result.before?.model_id ?? null,
          pointer: result.pointer,
          check: result.check,
        });
        return;
      }
      process.stdout.write(
        `rolled back from ${result.before?.model_id} to ${result.pointer.model_id}` +
          `${result.check?.forced ? ' (FORCED past validation)' : ''}\n`,
      );
    });
}
