import type { Command } from 'commander';
import { printJson } from '../../core/json-output.js';
import { deployModel } from '../../model/deploy-check.js';
import { rejectRenamedOptions } from '../renamed-options.js';
import { forceOf } from '../force-option.js';

interface DeployOptions {
  registry: string;
  modelId: string;
  reason?: string;
  force?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  rejectRenamedOptions(program.command('deploy'), { '--model': '--model-id' })
    .description(
      'Point the registry (current.json) at a model once it loads, forecasts and passed validation, atomically',
    )
    .requiredOption('--registry <dir>', 'model registry directory (holds current.json and models/)')
    .requiredOption('--model-id <id>', 'model id, a directory under <registry>/models/')
    .option(
      '--reason <text>',
      'why this model is deployed (recorded in current.json; default "manual deploy")',
    )
    .option('--force', 'deploy although validation.json failed or is missing (needs --reason)')
    .option('--json', 'print the resulting pointer as JSON')
    .action(async (options: DeployOptions) => {
      const force = forceOf(options);
      const result = await deployModel(options.registry, options.modelId, options.reason ?? 'manual deploy', {
        ...(force === undefined ? {} : { force }),
      });
      if (options.json) {
        printJson({ changed: result.changed, pointer: result.pointer, check: result.check });
        return;
      }
      const { pointer, check } = result;
      process.stdout.write(
        result.changed
          ? `deployed ${pointer.model_id} (previous: ${pointer.previous_model_id ?? 'none'}; sha256 ${pointer.sha256.slice(0, 12)}…; ` +
              `validation ${check?.validation ?? 'unknown'}${check?.forced ? ', FORCED' : ''}; ` +
              `sample forecast of ${check?.sampleServers.length ?? 0} servers finite)\n`
          : `${pointer.model_id} is already deployed; pointer unchanged\n`,
      );
    });
}
