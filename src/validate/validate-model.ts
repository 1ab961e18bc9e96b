import type { Dataset } from '../dataset/format.js';
import type { LoadedModel } from '../model/loaded-model.js';
import type { MetricsSource } from '../metrics/source.js';
import type { TrainingInfo } from '../registry/training-info.js';
import { checkConvergence } from './convergence.js';
import { checkCoverage } from './coverage-check.js';
import { evaluateGates, gatesPassed, type GateConfig } from './gates.js';
import { evaluateHeldOut, type HeldOutEvaluation } from './heldout.js';
import { peerRunner, type PeerRunOptions } from './peer-run.js';
import type { ValidationReport } from './report.js';

export interface ValidateModelOptions {
  model: LoadedModel;
  trainingInfo: TrainingInfo | null;
  /** train_report.json's `convergence` block, kept in the report for reference. */
  trainerConvergence?: unknown;
  manifestServers: readonly string[];
  source: MetricsSource | null;
  /** Held-out data: the training dataset (train), or one built from --metrics (validate). */
  evaluation: { dataset: Dataset; holdout: ReadonlySet<string>; fromStep?: number } | null;
  /** Why there is no evaluation data, for the report. */
  evaluationNote?: string;
  deployed?: LoadedModel | null;
  /**
   * Also fit and score the peer forecasters on the held-out windows (`--peers`): the evaluation
   * dataset must be written in `peers.datasetDir`. Ignored without evaluation data.
   */
  peers?: PeerRunOptions | null;
  gates: GateConfig;
  end?: Date;
  progress?: (line: string) => void;
  now?: () => Date;
}

/** Runs every check (coverage, convergence, accuracy on the held-out window) and the gates. */
export async function validateModel(options: ValidateModelOptions): Promise<ValidationReport> {
  const started = Date.now();
  const { model, gates } = options;
  const coverage = await checkCoverage(model, options.manifestServers, options.source, {
    ...(options.end ? { end: options.end } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
  });
  const info = options.trainingInfo;
  const convergence = info
    ? checkConvergence(info.epochs, {
        minImprovement: gates.convergence.min_improvement,
        minEpochs: gates.convergence.min_epochs,
        initialValLoss: info.initial_val_loss,
        stoppedBy: stoppedByOf(info.metrics),
        plannedEpochs:
          typeof info.hyperparameters.max_epochs === 'number' ? info.hyperparameters.max_epochs : undefined,
      })
    : null;
  let accuracy: HeldOutEvaluation | null = null;
  if (options.evaluation) {
    accuracy = await evaluateHeldOut({
      dataset: options.evaluation.dataset,
      model,
      deployed: options.deployed ?? null,
      holdout: options.evaluation.holdout,
      ...(options.evaluation.fromStep !== undefined ? { fromStep: options.evaluation.fromStep } : {}),
      ...(options.peers && options.peers.peers.length > 0
        ? { peers: peerRunner(options.peers, options.evaluation.dataset, model.encoders) }
        : {}),
      ...(options.progress ? { progress: options.progress } : {}),
    });
  }
  const results = evaluateGates(gates, {
    coverage,
    convergence,
    scores: accuracy?.scores ?? [],
    targets: model.encoders.targets,
    quantiles: model.encoders.quantiles,
    deployedScored: accuracy?.deployed.scored ?? false,
    peers: accuracy?.peers ?? [],
    unknownVsKnown: accuracy?.unknown_vs_known ?? [],
  });
  return {
    format_version: 1,
    model_id: model.id,
    validated_at: (options.now?.() ?? new Date()).toISOString(),
    passed: gatesPassed(results),
    manifest_servers: new Set(options.manifestServers).size,
    targets: [...model.encoders.targets],
    quantiles: [...model.encoders.quantiles],
    coverage,
    convergence,
    trainer_convergence: options.trainerConvergence ?? null,
    accuracy,
    accuracy_note: accuracy ? null : (options.evaluationNote ?? 'no held-out data'),
    gates: results,
    gate_config: gates,
    duration_seconds: (Date.now() - started) / 1000,
  };
}

/** The trainer's `convergence.stopped_by`, kept in training_info.json's `metrics`. */
function stoppedByOf(metrics: Record<string, unknown>): string | undefined {
  const convergence = metrics.convergence;
  if (typeof convergence !== 'object' || convergence === null) return undefined;
  const stoppedBy = (convergence as { stopped_by?: unknown }).stopped_by;
  return typeof stoppedBy === 'string' ? stoppedBy : undefined;
}
