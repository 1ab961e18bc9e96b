import type { Command } from 'commander';
import { ExitCode, InputError } from '../../core/errors.js';
import { printJson } from '../../core/json-output.js';
import { readGateConfig } from '../../validate/config-file.js';
import { renderReport } from '../../validate/report.js';
import { parsePeerList } from '../../validate/peer-request.js';
import { validateModelDir } from '../../validate/run-validate.js';
import { METRIC_SET_HELP, METRIC_SET_OPTION, PEERS_HELP, PEERS_OPTION, nowOption } from '../fleet-options.js';
import { rejectRenamedOptions } from '../renamed-options.js';

interface ValidateCliOptions {
  modelDir: string;
  manifest: string;
  metrics?: string;
  metricSet?: string;
  gates?: string;
  baselineModelDir?: string;
  registry?: string;
  now?: Date;
  peers?: string | boolean;
  json?: boolean;
}

export function register(program: Command): void {
  rejectRenamedOptions(program.command('validate'), {
    '--model': '--model-dir',
    '--baseline-model': '--baseline-model-dir',
    '--end': '--now',
  })
    .description('Check a model: 100% manifest coverage, convergence, accuracy gates (exit 3 on failure)')
    .requiredOption('--model-dir <dir>', 'model directory (models-registry/models/<id>)')
    .requiredOption('--manifest <path>', 'fleet manifest: the servers the model must cover')
    .option('--metrics <src>', 'metrics to forecast from (coverage) and score on (accuracy)')
    .option(METRIC_SET_OPTION, METRIC_SET_HELP)
    .option('--gates <file>', 'validation gate settings, JSON (docs/validation.md)')
    .option('--baseline-model-dir <dir>', 'compare with this model (default: the registry’s deployed model)')
    .option(
      '--registry <dir>',
      'registry whose deployed model is the baseline (default: the one holding --model-dir)',
    )
    .addOption(nowOption())
    .option(PEERS_OPTION, PEERS_HELP)
    .option('--json', 'print the report as JSON')
    .action(async (o: ValidateCliOptions) => {
      const peers = parsePeerList(o.peers);
      if (peers.length > 0 && o.metrics === undefined)
        throw new InputError('--peers needs --metrics: the peers are scored on its held-out days');
      const report = await validateModelDir({
        modelDir: o.modelDir,
        manifest: o.manifest,
        gates: await readGateConfig(o.gates),
        ...(o.metrics !== undefined ? { metrics: o.metrics } : {}),
        ...(o.metricSet !== undefined ? { metricSet: o.metricSet } : {}),
        ...(o.baselineModelDir !== undefined ? { baselineModel: o.baselineModelDir } : {}),
        ...(o.registry !== undefined ? { registry: o.registry } : {}),
        ...(o.now !== undefined ? { now: o.now } : {}),
        ...(peers.length > 0 ? { peers } : {}),
        progress: (line) => process.stderr.write(`${line}\n`),
      });
      if (o.json) printJson(report);
      else process.stdout.write(renderReport(report));
      if (!report.passed) process.exitCode = ExitCode.gateFailed;
    });
}
