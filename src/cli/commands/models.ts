import type { Command } from 'commander';
import { printJson } from '../../core/json-output.js';
import { describeModels } from '../../registry/list-models.js';

interface ModelsOptions {
  registry: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('models')
    .description(
      'List the models of a registry: id, training time, validation result; * marks the current one',
    )
    .requiredOption('--registry <dir>', 'model registry directory (holds current.json and models/)')
    .option('--json', 'print the list as JSON')
    .action(async (options: ModelsOptions) => {
      const summary = await describeModels(options.registry);
      if (options.json) {
        printJson(summary);
        return;
      }
      const rows = [
        ['', 'MODEL', 'TRAINED (UTC)', 'VALIDATION', ''],
        ...summary.models.map((m) => [
          m.current ? '*' : '',
          m.model_id,
          m.created_at.replace('.000Z', 'Z'),
          m.validation,
          m.current ? 'serving (named by current.json)' : '',
        ]),
      ];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      const lines = rows.map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      );
      if (summary.models.length === 0) lines.push(`(no models in ${options.registry})`);
      if (summary.current === null) lines.push('nothing is deployed (no current.json)');
      else if (summary.current_missing)
        lines.push(`current.json names ${summary.current}, which is not in ${options.registry}/models`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
