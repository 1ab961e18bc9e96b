import type { Command } from 'commander';
import { deploy } from '../../registry/pointer.js';
import { printJson } from '../../core/json-output.js';
import { rejectRenamedOptions } from '../renamed-options.js';

interface DeployOptions {
  registry: string;
  modelId: string;
  reason: string;
  json?: boolean;
}

export function register(program: Command): void {
  rejectRenamedOptions(program.command('deploy'), { '--model': '--model-id' })
    .description('Point the registry (current.json) at a verified model, atomically')
    .requiredOption('--registry <dir>', 'model registry directory (holds current.json and models/)')
    .requiredOption('--model-id <id>', 'model id, a directory under <registry>/models/')
    .option('--reason <text>', 'why this model is deployed (recorded in current.json)', 'manual deploy')
    .option('--json', 'print the resulting pointer as JSON')
    .action(async (options: DeployOptions) => {
      const result = await deploy(options.registry, options.modelId, options.reason);
      if (options.json) {
        printJson({ changed: result.changed, pointer: result.pointer });
        return;
      }
      const { pointer } = result;
      process.stdout.write(
        result.changed
          ? `deployed ${pointer.model_id} (previous: ${pointer.previous_model_id ?? 'none'}; sha256 ${pointer.sha256.slice(0, 12)}…)\n`
          : `${pointer.model_id} is already deployed; pointer unchanged\n`,
      );
    });
}
