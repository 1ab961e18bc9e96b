import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buildDatasetDir, type BuildDatasetResult } from '../dataset/build.js';
import { readManifest } from '../fleet/manifest.js';
import { ContractView } from '../metrics/contract-view.js';
import { loadMetricSetConfig } from '../metrics/metric-set.js';
import { openMetricsSource } from '../metrics/source.js';
import { asOf, ignoredRowsNote, rowsAfter } from '../metrics/as-of.js';
import { assignServerIndices } from '../registry/mapping.js';
import { newModelId } from '../registry/model-id.js';
import type { TrainingInfo } from '../registry/training-info.js';
import { FleetcastError, getErrorMessage } from '../core/errors.js';
import type { Manifest } from '../fleet/manifest.js';
import type { MetricsSource } from '../metrics/source.js';
import type { ServerMapping } from '../registry/schemas.js';
import type { GateConfig } from '../validate/gates.js';
import type { PeerName } from '../validate/peer-request.js';
import type { ValidationReport } from '../validate/report.js';
import { previousMapping } from '../model/deployed.js';
import { publishModel, trainedModel, validateCandidate, writeCandidate } from './candidate.js';
import { getProfile, type TrainingProfile } from './profiles.js';
import { adoptTrainerOutput, readTrainerOutput, runTrainerWithProgress } from './trainer-output.js';
import { createWorkDir, removeStaleWorkDirs } from './work-dirs.js';

export interface TrainOptions {
  /** `--metrics` spec (openMetricsSource). */
  metrics: string;
  /** The metric set file (default config/metric_set.json when present; metric-set.ts). */
  metricSet?: string;
  manifest: string;
  registry: string;
  profile: string;
  seed: number;
  epochs?: number;
  days?: number;
  /**
   * As of (`--now`): samples after it are ignored and the window (its held-out days last) ends at
   * it. Default: the wall clock, a later sample being a data error, and the window ends at the
   * newest sample.
   */
  now?: Date;
  /** Keep intermediate files here (default: a temp dir, removed after a successful run). */
  work?: string;
  validate: boolean;
  gates: GateConfig;
  /** Peer forecasters to fit and score beside the candidate (`--peers`, docs/peers.md). */
  peers?: readonly PeerName[];
  baselineModel?: string;
  device?: 'auto' | 'cpu' | 'cuda';
  /**
   * Use this trainer output directory (model.onnx, train_report.json, normalization.json) instead of
   * running the trainer: a model trained elsewhere (a GPU runner) on the same dataset build.
   */
  trainerOutput?: string;
  progress: (line: string) => void;
}

export interface TrainOutcome {
  modelId: string;
  /** The registry directory, or null when validation failed and nothing was written. */
  modelDir: string | null;
  /** Where the dataset, trainer output and candidate model are (kept when validation failed). */
  workDir: string;
  workKept: boolean;
  passed: boolean;
  validation: ValidationReport | null;
  trainingInfo: TrainingInfo;
  datasetSeconds: number;
}

/**
 * `fleetcast train`: dataset → trainer (trainer-output.ts) → candidate model dir → validation →
 * registry (candidate.ts). The registry only ever receives a complete, validated model (atomic
 * rename). On failed gates the candidate and its report stay in the work dir for inspection.
 */
export async function trainModel(options: TrainOptions): Promise<TrainOutcome> {
  const startedAt = new Date();
  const modelId = newModelId(startedAt);
  const { progress } = options;
  const workKeptByUser = options.work !== undefined;
  // What killed runs left in the temp dir (work-dirs.ts); a --work dir is the user's own.
  if (!workKeptByUser) await removeStaleWorkDirs({ log: progress });
  const allRows = openMetricsSource(options.metrics);
  const source = new ContractView(asOf(allRows, options.now), await loadMetricSetConfig(options.metricSet));
  const manifest = await readManifest(options.manifest);
  const { profile } = await getProfile(options.profile);
  const prev = await previousMapping(options.registry);
  const mapping = assignServerIndices(
    prev.mapping,
    manifest.servers.map((s) => s.name),
  );
  progress(
    `train: model ${modelId}, ${manifest.servers.length} manifest servers; server indices ${prev.from ? `continue from ${prev.from}` : 'start fresh'}`,
  );

  const workDir = options.work ? resolve(options.work) : await createWorkDir();
  await mkdir(workDir, { recursive: true });
  const datasetDir = join(workDir, 'dataset');

  let built: BuildDatasetResult;
  try {
    if (options.now !== undefined) {
      const note = ignoredRowsNote(await rowsAfter(allRows, options.now), options.now);
      if (note !== null) progress(`train: ${note}`);
    }
    built = await buildDatasetDir(datasetDir, {
      source,
      servers: manifest.servers,
      mapping,
      resolutionSeconds: profile.resolution_seconds,
      lookbackSteps: profile.lookback_steps,
      horizonSteps: profile.horizon_steps,
      ...(options.days !== undefined ? { days: options.days } : {}),
      ...(options.now !== undefined ? { end: options.now } : {}),
      progress,
    });
  } catch (error) {
    // Bad data stops here, before training: nothing worth keeping in a temp work dir.
    if (!workKeptByUser) await rm(workDir, { recursive: true, force: true });
    throw error;
  }
  try {
    return await trainOnDataset(options, {
      startedAt,
      modelId,
      source,
      manifest,
      mapping,
      built,
      workDir,
      workKeptByUser,
      profile,
    });
  } catch (error) {
    throw withWorkDir(error, workDir);
  }
}

interface Prepared {
  startedAt: Date;
  modelId: string;
  source: MetricsSource;
  manifest: Manifest;
  mapping: ServerMapping;
  built: BuildDatasetResult;
  workDir: string;
  workKeptByUser: boolean;
  profile: TrainingProfile;
}

async function trainOnDataset(options: TrainOptions, p: Prepared): Promise<TrainOutcome> {
  const { startedAt, modelId, built, workDir, workKeptByUser } = p;
  const { progress } = options;
  const trainerOut = join(workDir, 'trainer');
  const header = built.dataset.header;

  await rm(trainerOut, { recursive: true, force: true });
  const run = options.trainerOutput
    ? await adoptTrainerOutput(options.trainerOutput, trainerOut, header, progress)
    : await runTrainerWithProgress(options, p.profile, join(workDir, 'dataset'), trainerOut);
  const output = await readTrainerOutput(trainerOut);
  const model = trainedModel({
    modelId,
    header,
    mapping: p.mapping,
    ...output,
    startedAt,
    durations: { dataset: built.seconds, trainer: run.seconds },
  });

  const candidateInfo = model.trainingInfoAt(new Date(), {});
  const candidateDir = await writeCandidate(workDir, model, candidateInfo);
  const validationStarted = Date.now();
  const validation = options.validate
    ? await validateCandidate({
        registry: options.registry,
        baselineModel: options.baselineModel,
        gates: options.gates,
        progress,
        workDir,
        candidateDir,
        trainingInfo: candidateInfo,
        report: output.report,
        manifest: p.manifest,
        source: p.source,
        built,
        peers: options.peers ?? [],
      })
    : null;
  const finishedAt = new Date();
  const trainingInfo = model.trainingInfoAt(finishedAt, {
    validation: (Date.now() - validationStarted) / 1000,
    total: (finishedAt.getTime() - startedAt.getTime()) / 1000,
  });
  const outcome = { modelId, workDir, validation, trainingInfo, datasetSeconds: built.seconds };
  if (validation && !validation.passed) return { ...outcome, modelDir: null, workKept: true, passed: false };

  const modelDir = await publishModel(options.registry, model, trainingInfo, validation);
  progress(`train: wrote ${modelDir}`);
  if (!workKeptByUser && existsSync(workDir)) await rm(workDir, { recursive: true, force: true });
  return { ...outcome, modelDir, workKept: workKeptByUser, passed: true };
}

/** The same error, with where the work files were kept appended for inspection. */
function withWorkDir(error: unknown, workDir: string): FleetcastError {
  const message = `${getErrorMessage(error)}\n(work files kept in ${workDir})`;
  return new FleetcastError(message, {
    exitCode: error instanceof FleetcastError ? error.exitCode : 1,
    cause: error,
  });
}
