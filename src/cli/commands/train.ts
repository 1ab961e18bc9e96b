import { METRIC_SET_HELP, METRIC_SET_OPTION, PEERS_HELP, PEERS_OPTION } from '../fleet-options.js';
import type { Command } from 'commander';
import { trainModel } from '../../train/pipeline.js';
import { InputError } from '../../core/errors.js';
import { ExitCode } from '../../core/errors.js';
import { printJson } from '../../core/json-output.js';
import { readGateConfig } from '../../validate/config-file.js';
import { parsePeerList } from '../../validate/peer-request.js';
import { renderReport } from '../../validate/report.js';
import { rejectRenamedOptions } from '../renamed-options.js';
import { nowOption } from '../fleet-options.js';

interface TrainCliOptions {
  metrics: string;
  metricSet?: string;
  manifest: string;
  registry: string;
  epochs?: string;
  profile: string;
  seed: string;
  days?: string;
  now?: Date;
  workDir?: string;
  gates?: string;
  baselineModelDir?: string;
  device: string;
  json?: boolean;
  validate: boolean;
  peers?: string | boolean;
}

export function register(program: Command): void {
  rejectRenamedOptions(program.command('train'), {
    '--work': '--work-dir',
    '--baseline-model': '--baseline-model-dir',
  })
    .description(
      'Build the dataset, train the TFT, validate it and write it to the registry (only if it passes)',
    )
    .requiredOption('--metrics <src>', 'metrics: file.parquet, dir, glob, or file.duckdb[#table]')
    .option(METRIC_SET_OPTION, METRIC_SET_HELP)
    .requiredOption('--manifest <path>', 'fleet manifest: the servers the model must cover')
    .requiredOption('--registry <dir>', 'model registry directory (models/ and current.json)')
    .option('--epochs <n>', "override the profile's epoch budget")
    .option('--profile <name>', 'training profile in trainer/profiles.json (smoke | default)', 'default')
    .option('--seed <n>', 'random seed', '0')
    .option(
      '--days <n>',
      'days of history to train on; the window ends at --now, else at the newest sample',
      '30',
    )
    .addOption(nowOption())
    .option('--work-dir <dir>', 'keep dataset, trainer output and candidate model here (default: a temp dir)')
    .option('--gates <file>', 'validation gate settings, JSON (docs/validation.md)')
    .option('--baseline-model-dir <dir>', 'compare with this model instead of the deployed one')
    .option('--device <device>', 'auto | cpu | cuda', 'auto')
    .option('--no-validate', 'skip validation (the model is written with a "skipped" validation.json)')
    .option(PEERS_OPTION, PEERS_HELP)
    .option('--json', 'print the result as JSON')
    .action(async (o: TrainCliOptions) => {
      if (!['auto', 'cpu', 'cuda'].includes(o.device))
        throw new InputError(`--device must be auto, cpu or cuda, got ${o.device}`);
      const gates = await readGateConfig(o.gates);
      const peers = parsePeerList(o.peers);
      if (peers.length > 0 && !o.validate)
        throw new InputError(
          '--peers needs validation: the peers are scored beside the candidate (drop --no-validate)',
        );
      const outcome = await trainModel({
        metrics: o.metrics,
        ...(o.metricSet !== undefined ? { metricSet: o.metricSet } : {}),
        manifest: o.manifest,
        registry: o.registry,
        profile: o.profile,
        seed: positiveInt(o.seed, '--seed', true),
        ...(o.epochs !== undefined ? { epochs: positiveInt(o.epochs, '--epochs') } : {}),
        ...(o.days !== undefined ? { days: positiveInt(o.days, '--days') } : {}),
        ...(o.now !== undefined ? { now: o.now } : {}),
        ...(o.workDir !== undefined ? { work: o.workDir } : {}),
        validate: o.validate,
        gates,
        ...(peers.length > 0 ? { peers } : {}),
        ...(o.baselineModelDir !== undefined ? { baselineModel: o.baselineModelDir } : {}),
        device: o.device as 'auto' | 'cpu' | 'cuda',
        progress: (line) => process.stderr.write(`${line}\n`),
      });
      if (o.json) {
        printJson({
          model_id: outcome.modelId,
          model_dir: outcome.modelDir,
          passed: outcome.passed,
          work_dir: outcome.workKept ? outcome.workDir : null,
          validation: outcome.validation,
          training_info: outcome.trainingInfo,
        });
      } else {
        // On success stdout is just the model id (MODEL_ID=$(fleetcast train …)); the report goes
        // to stderr with the rest of the progress. A failure prints the report as the result.
        const report = outcome.validation ? renderReport(outcome.validation) : '';
        if (outcome.passed) {
          process.stderr.write(report);
          process.stdout.write(`${outcome.modelId}\n`);
        } else {
          process.stdout.write(
            `${report}model ${outcome.modelId} failed validation and was NOT written to the registry; work files kept in ${outcome.workDir}\n`,
          );
        }
      }
      if (!outcome.passed) process.exitCode = ExitCode.gateFailed;
    });
}

function positiveInt(text: string, flag: string, allowZero = false): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1))
    throw new InputError(
      `${flag} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(text)}`,
    );
  return n;
}
