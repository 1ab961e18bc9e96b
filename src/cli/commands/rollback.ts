import type { Command } from 'commander';
import { rollback } from '../../registry/pointer.js';
import { printJson } from '../../core/json-output.js';
import { rejectRenamedOptions } from '../renamed-options.js';

interface RollbackCliOptions {
  registry: string;
  modelId?: string;
  reason?: string;
  json?: boolean;
}

export function register(program: Command): void {
  rejectRenamedOptions(program.command('rollback'), { '--to': '--model-id' })
    .description('Point the registry back at the previous model (or --model-id ID), verified like a deploy')
    .requiredOption('--registry <dir>', 'model registry directory (holds current.json and models/)')
    .option('--model-id <id>', 'model id to go back to (default: previous_model_id in current.json)')
    .option('--reason <text>', 'why (default: "rollback from X to Y")')
    .option('--json', 'print the resulting pointer as JSON')
    .action(async (options: RollbackCliOptions) => {
      const result = await rollback(options.registry, { to: options.modelId, reason: options.reason });
      if (options.json) {
        printJson({
          changed: result.changed,
          from: result.before?.model_id ?? null,
          pointer: result.pointer,
        });
        return;
      }
      process.stdout.write(`rolled back from ${result.before?.model_id} to ${result.pointer.model_id}\n`);
    });
}
