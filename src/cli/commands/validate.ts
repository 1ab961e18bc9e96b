import type { Command } from 'commander';
import { ExitCode, InputError } from '../../core/errors.js';
import { printJson } from '../../core/json-output.js';
import { readGateConfig } from '../../validate/config-file.js';
import { renderReport } from '../../validate/report.js';
import { validateModelDir } from '../../validate/run-validate.js';

interface ValidateCliOptions {
  model: string;
  manifest: string;
  metrics?: string;
  gates?: string;
  baselineModel?: string;
  registry?: string;
  end?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('Check a model: 100% manifest coverage, convergence, accuracy gates (exit 3 on failure)')
    .requiredOption('--model <dir>', 'model directory (models-registry/models/<id>)')
    .requiredOption('--manifest <path>', 'fleet manifest: the servers the model must cover')
    .option('--metrics <src>', 'metrics to forecast from (coverage) and score on (accuracy)')
    .option('--gates <file>', 'validation gate settings, JSON (docs/validation.md)')
    .option('--baseline-model <dir>', 'compare with this model (default: the registry’s deployed model)')
    .option(
      '--registry <dir>',
      'registry whose deployed model is the baseline (default: the one holding --model)',
    )
    .option('--end <iso>', 'only use metrics before this instant')
    .option('--json', 'print the report as JSON')
    .action(async (o: ValidateCliOptions) => {
      const end = o.end === undefined ? undefined : parseEnd(o.end);
      const report = await validateModelDir({
        modelDir: o.model,
        manifest: o.manifest,
        gates: await readGateConfig(o.gates),
        ...(o.metrics !== undefined ? { metrics: o.metrics } : {}),
        ...(o.baselineModel !== undefined ? { baselineModel: o.baselineModel } : {}),
        ...(o.registry !== undefined ? { registry: o.registry } : {}),
        ...(end ? { end } : {}),
        progress: (line) => process.stderr.write(`${line}\n`),
      });
      if (o.json) printJson(report);
      else process.stdout.write(renderReport(report));
      if (!report.passed) process.exitCode = ExitCode.gateFailed;
    });
}

function parseEnd(text: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new InputError(`--end: not a date: ${JSON.stringify(text)}`);
  return date;
}
