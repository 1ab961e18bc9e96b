import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { buildDatasetDir, type BuildDatasetResult } from '../dataset/build.js';
import type { DatasetHeader } from '../dataset/format.js';
import { readManifest } from '../fleet/manifest.js';
import { openMetricsSource } from '../metrics/source.js';
import { loadModel } from '../model/loaded-model.js';
import { CHECKSUMS_FILE, computeChecksums, renderChecksums } from '../registry/checksums.js';
import { assignServerIndices } from '../registry/mapping.js';
import { MODEL_FILES } from '../registry/model-files.js';
import { newModelId } from '../registry/model-id.js';
import { parseJsonText, readJsonFile } from '../core/read-json.js';
import { Normalization } from '../registry/schemas.js';
import type { TrainingInfo } from '../registry/training-info.js';
import { writeModelDir } from '../registry/write-model.js';
import { toJsonText } from '../core/atomic-write.js';
import { FleetcastError, getErrorMessage } from '../core/errors.js';
import type { Manifest } from '../fleet/manifest.js';
import type { MetricsSource } from '../metrics/source.js';
import type { ServerMapping } from '../registry/schemas.js';
import type { GateConfig } from '../validate/gates.js';
import type { ValidationReport } from '../validate/report.js';
import { validateModel } from '../validate/validate-model.js';
import { buildEncoders, buildTrainingInfo, TrainReport } from './artifacts.js';
import { loadBaseline, previousMapping } from '../model/deployed.js';
import { getProfile, type TrainingProfile } from './profiles.js';
import { describeEvent, runTrainer } from './trainer-process.js';

export interface TrainOptions {
  /** `--metrics` spec (openMetricsSource). */
  metrics: string;
  manifest: string;
  registry: string;
  profile: string;
  seed: number;
  epochs?: number;
  days?: number;
  /** Keep intermediate files here (default: a temp dir, removed after a successful run). */
  work?: string;
  validate: boolean;
  gates: GateConfig;
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
 * `fleetcast train`: dataset → trainer → candidate model dir → validation → registry.
 * The registry only ever receives a complete, validated model (atomic rename). On failed gates the
 * candidate and its report stay in the work dir for inspection.
 */
export async function trainModel(options: TrainOptions): Promise<TrainOutcome> {
  const startedAt = new Date();
  const modelId = newModelId(startedAt);
  const { progress } = options;
  const source = openMetricsSource(options.metrics);
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

  const workKeptByUser = options.work !== undefined;
  const workDir = options.work ? resolve(options.work) : await mkdtemp(join(tmpdir(), 'fleetcast-train-'));
  await mkdir(workDir, { recursive: true });
  const datasetDir = join(workDir, 'dataset');

  let built: BuildDatasetResult;
  try {
    built = await buildDatasetDir(datasetDir, {
      source,
      servers: manifest.servers,
      mapping,
      resolutionSeconds: profile.resolution_seconds,
      lookbackSteps: profile.lookback_steps,
      horizonSteps: profile.horizon_steps,
      ...(options.days !== undefined ? { days: options.days } : {}),
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
  const { startedAt, modelId, source, manifest, mapping, built, workDir, workKeptByUser } = p;
  const { progress } = options;
  const datasetDir = join(workDir, 'dataset');
  const trainerOut = join(workDir, 'trainer');
  const candidateDir = join(workDir, 'candidate', modelId);
  const header = built.dataset.header;

  await rm(trainerOut, { recursive: true, force: true });
  const run = options.trainerOutput
    ? await adoptTrainerOutput(options.trainerOutput, trainerOut, header, progress)
    : await runTrainerWithProgress(options, p, datasetDir, trainerOut);

  const report = await readJsonFile(join(trainerOut, 'train_report.json'), TrainReport);
  const normalization = parseJsonText(
    await readFile(join(trainerOut, 'normalization.json'), 'utf8'),
    join(trainerOut, 'normalization.json'),
    Normalization,
  );
  const encoders = buildEncoders(modelId, header, report);
  const durations: Record<string, number> = { dataset: built.seconds, trainer: run.seconds };
  const infoAt = (finishedAt: Date, extra: Record<string, number>) =>
    buildTrainingInfo({
      modelId,
      header,
      report,
      startedAt,
      finishedAt,
      durations: { ...durations, ...extra },
    });

  // The candidate: every file but validation.json, with its own SHA256SUMS, so validation loads it
  // exactly as the service will.
  const json: Record<string, unknown> = {
    [MODEL_FILES.encoders]: encoders,
    [MODEL_FILES.mapping]: mapping,
    [MODEL_FILES.normalization]: normalization,
    [MODEL_FILES.trainingInfo]: infoAt(new Date(), {}),
  };
  await rm(candidateDir, { recursive: true, force: true });
  await mkdir(candidateDir, { recursive: true });
  await copyFile(join(trainerOut, MODEL_FILES.model), join(candidateDir, MODEL_FILES.model));
  for (const [name, value] of Object.entries(json))
    await writeFile(join(candidateDir, name), toJsonText(value));
  await writeFile(join(candidateDir, CHECKSUMS_FILE), renderChecksums(await computeChecksums(candidateDir)));

  let validation: ValidationReport | null = null;
  const validationStarted = Date.now();
  if (options.validate) {
    const model = await loadModel(candidateDir);
    const baseline = await loadBaseline(options.registry, options.baselineModel ?? null);
    if (baseline.note) progress(`validate: ${baseline.note}`);
    try {
      validation = await validateModel({
        model,
        trainingInfo: json[MODEL_FILES.trainingInfo] as TrainingInfo,
        trainerConvergence: { converged: report.converged, ...report.convergence },
        manifestServers: manifest.servers.map((s) => s.name),
        source,
        evaluation: {
          dataset: built.dataset,
          holdout: new Set(header.servers.filter((s) => s.holdout).map((s) => s.name)),
        },
        deployed: baseline.model,
        gates: options.gates,
        progress,
      });
      if (baseline.note && validation.accuracy) validation.accuracy.deployed.note = baseline.note;
    } finally {
      await model.release();
      await baseline.model?.release();
    }
    await writeFile(join(workDir, MODEL_FILES.validation), toJsonText(validation));
  }
  const validationSeconds = (Date.now() - validationStarted) / 1000;
  const finishedAt = new Date();
  const trainingInfo = infoAt(finishedAt, {
    validation: validationSeconds,
    total: (finishedAt.getTime() - startedAt.getTime()) / 1000,
  });

  if (validation && !validation.passed) {
    return {
      modelId,
      modelDir: null,
      workDir,
      workKept: true,
      passed: false,
      validation,
      trainingInfo,
      datasetSeconds: built.seconds,
    };
  }
  const written = await writeModelDir(options.registry, modelId, {
    json: {
      ...json,
      [MODEL_FILES.trainingInfo]: trainingInfo,
      [MODEL_FILES.validation]: validation ?? {
        format_version: 1,
        model_id: modelId,
        passed: null,
        skipped: true,
        reason: 'trained with --no-validate: run `fleetcast validate` before deploying',
      },
    },
    copies: { [MODEL_FILES.model]: join(trainerOut, MODEL_FILES.model) },
  });
  progress(`train: wrote ${written.dir}`);
  if (!workKeptByUser && existsSync(workDir)) await rm(workDir, { recursive: true, force: true });
  return {
    modelId,
    modelDir: written.dir,
    workDir,
    workKept: workKeptByUser,
    passed: true,
    validation,
    trainingInfo,
    datasetSeconds: built.seconds,
  };
}

async function runTrainerWithProgress(
  options: TrainOptions,
  p: Prepared,
  datasetDir: string,
  trainerOut: string,
): Promise<{ seconds: number }> {
  // The trainer's ETA counts every remaining epoch; its time budget usually ends training sooner.
  const budget = typeof p.profile.max_train_seconds === 'number' ? p.profile.max_train_seconds : undefined;
  let loopStarted: number | null = null;
  return runTrainer(
    {
      dataset: datasetDir,
      out: trainerOut,
      profile: options.profile,
      seed: options.seed,
      ...(options.epochs !== undefined ? { epochs: options.epochs } : {}),
      ...(options.device ? { device: options.device } : {}),
    },
    (event) => {
      if (event.event === 'start') loopStarted = Date.now();
      const left =
        budget !== undefined && loopStarted !== null ? budget - (Date.now() - loopStarted) / 1000 : undefined;
      const line = describeEvent(event, left);
      if (line) options.progress(line);
    },
  );
}

/** What a trainer output says about the dataset it was trained on (train_report.json). */
const TrainedOn = z.object({
  dataset: z.object({ n_servers: z.number(), n_steps: z.number(), train_end_step: z.number() }),
  holdout_indices: z.array(z.number()),
});

/**
 * Copies a finished trainer output into the work dir; its own report gives the trainer's time.
 * Refuses one trained on another dataset build (server count, steps, split or holdout differ):
 * its encoders would silently describe the wrong model.
 */
async function adoptTrainerOutput(
  from: string,
  trainerOut: string,
  header: DatasetHeader,
  progress: (line: string) => void,
): Promise<{ seconds: number }> {
  for (const name of [MODEL_FILES.model, 'train_report.json', 'normalization.json'])
    if (!existsSync(join(from, name)))
      throw new FleetcastError(`${join(from, name)}: missing from the trainer output directory`);
  const reportPath = join(from, 'train_report.json');
  const trainedOn = await readJsonFile(reportPath, TrainReport.extend(TrainedOn.shape));
  const holdout = header.servers
    .filter((s) => s.holdout)
    .map((s) => s.index)
    .sort((a, b) => a - b);
  const expected = {
    n_servers: header.servers.length,
    n_steps: header.n_steps,
    train_end_step: header.split.train_end_step,
    holdout: holdout.join(','),
  };
  const actual = {
    ...trainedOn.dataset,
    holdout: [...trainedOn.holdout_indices].sort((a, b) => a - b).join(','),
  };
  for (const key of Object.keys(expected) as Array<keyof typeof expected>)
    if (String(actual[key]) !== String(expected[key]))
      throw new FleetcastError(
        `${reportPath}: trained on another dataset (${key} ${String(actual[key])}, this build has ${String(expected[key])})`,
      );
  await cp(from, trainerOut, { recursive: true });
  progress(
    `train: using the trainer output in ${from} (${trainedOn.device}, torch ${trainedOn.torch_version})`,
  );
  return { seconds: trainedOn.durations.total_seconds ?? 0 };
}

/** The same error, with where the work files were kept appended for inspection. */
function withWorkDir(error: unknown, workDir: string): FleetcastError {
  const message = `${getErrorMessage(error)}\n(work files kept in ${workDir})`;
  return new FleetcastError(message, {
    exitCode: error instanceof FleetcastError ? error.exitCode : 1,
    cause: error,
  });
}
