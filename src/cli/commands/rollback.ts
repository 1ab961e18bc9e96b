import type { Command } from 'commander';
import { rollback } from '../../registry/pointer.js';
import { printJson } from '../../core/json-output.js';

interface RollbackCliOptions {
  registry: string;
  to?: string;
  reason?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('rollback')
    .description('Point the registry back at the previous model (or --to ID), verified like a deploy')
    .requiredOption('--registry <dir>', 'model registry directory (holds current.json and models/)')
    .option('--to <id>', 'model id to go back to (default: previous_model_id in current.json)')
    .option('--reason <text>', 'why (default: "rollback from X to Y")')
    .option('--json', 'print the resulting pointer as JSON')
    .action(async (options: RollbackCliOptions) => {
      const result = await rollback(options.registry, { to: options.to, reason: options.reason });
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
