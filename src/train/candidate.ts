import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildDatasetResult } from '../dataset/build.js';
import type { DatasetHeader } from '../dataset/format.js';
import type { Manifest } from '../fleet/manifest.js';
import type { MetricsSource } from '../metrics/source.js';
import { loadBaseline } from '../model/deployed.js';
import { loadModel } from '../model/loaded-model.js';
import { MODEL_FILES } from '../registry/model-files.js';
import type { Normalization, ServerMapping } from '../registry/schemas.js';
import type { TrainingInfo } from '../registry/training-info.js';
import { writeCandidateDir, writeModelDir } from '../registry/write-model.js';
import { toJsonText } from '../core/atomic-write.js';
import type { GateConfig } from '../validate/gates.js';
import type { PeerName } from '../validate/peer-request.js';
import type { ValidationReport } from '../validate/report.js';
import { validateModel } from '../validate/validate-model.js';
import { buildEncoders, buildTrainingInfo, type TrainReport } from './artifacts.js';

/**
 * A trained model on its way to the registry: its files (encoders, mapping, normalization and the
 * graph), written first as a candidate in the work dir and, once validated, into the registry,
 * both times through the registry's writer (src/registry/write-model.ts).
 */
export interface TrainedModel {
  modelId: string;
  /** The JSON files every copy of the model holds, except training_info.json and validation.json. */
  json: Record<string, unknown>;
  /** The ONNX graph in the trainer output. */
  modelPath: string;
  /** training_info.json as of `finishedAt`, with extra durations (validation, total). */
  trainingInfoAt(finishedAt: Date, extra: Record<string, number>): TrainingInfo;
}

export interface TrainedModelInputs {
  modelId: string;
  header: DatasetHeader;
  mapping: ServerMapping;
  report: TrainReport;
  normalization: Normalization;
  modelPath: string;
  startedAt: Date;
  /** Seconds of the dataset build and the trainer. */
  durations: Record<string, number>;
}

export function trainedModel(i: TrainedModelInputs): TrainedModel {
  return {
    modelId: i.modelId,
    json: {
      [MODEL_FILES.encoders]: buildEncoders(i.modelId, i.header, i.report),
      [MODEL_FILES.mapping]: i.mapping,
      [MODEL_FILES.normalization]: i.normalization,
    },
    modelPath: i.modelPath,
    trainingInfoAt: (finishedAt, extra) =>
      buildTrainingInfo({
        modelId: i.modelId,
        header: i.header,
        report: i.report,
        startedAt: i.startedAt,
        finishedAt,
        durations: { ...i.durations, ...extra },
      }),
  };
}

/** `<work>/candidate/<id>/`: every file but validation.json, checksummed like a registry model. */
export async function writeCandidate(
  workDir: string,
  model: TrainedModel,
  info: TrainingInfo,
): Promise<string> {
  const written = await writeCandidateDir(join(workDir, 'candidate'), model.modelId, {
    json: { ...model.json, [MODEL_FILES.trainingInfo]: info },
    copies: { [MODEL_FILES.model]: model.modelPath },
  });
  return written.dir;
}

/** Writes the validated model into the registry (atomic rename); returns its directory. */
export async function publishModel(
  registry: string,
  model: TrainedModel,
  info: TrainingInfo,
  validation: ValidationReport | null,
): Promise<string> {
  const written = await writeModelDir(registry, model.modelId, {
    json: {
      ...model.json,
      [MODEL_FILES.trainingInfo]: info,
      [MODEL_FILES.validation]: validation ?? {
        format_version: 1,
        model_id: model.modelId,
        passed: null,
        skipped: true,
        reason: 'trained with --no-validate: run `fleetcast validate` before deploying',
      },
    },
    copies: { [MODEL_FILES.model]: model.modelPath },
  });
  return written.dir;
}

export interface CandidateValidation {
  registry: string;
  baselineModel?: string | undefined;
  gates: GateConfig;
  progress: (line: string) => void;
  workDir: string;
  candidateDir: string;
  trainingInfo: TrainingInfo;
  report: TrainReport;
  manifest: Manifest;
  source: MetricsSource;
  built: BuildDatasetResult;
  /** Peer forecasters scored beside the candidate; they read `<work>/dataset`, write `<work>/peers`. */
  peers?: readonly PeerName[];
}

/**
 * Validates the candidate as the service will load it, against the deployed model when one is
 * comparable, and writes the report to `<work>/validation.json`.
 */
export async function validateCandidate(v: CandidateValidation): Promise<ValidationReport> {
  const header = v.built.dataset.header;
  const model = await loadModel(v.candidateDir);
  const baseline = await loadBaseline(v.registry, v.baselineModel ?? null);
  if (baseline.note) v.progress(`validate: ${baseline.note}`);
  let validation: ValidationReport;
  try {
    validation = await validateModel({
      model,
      trainingInfo: v.trainingInfo,
      trainerConvergence: { converged: v.report.converged, ...v.report.convergence },
      manifestServers: v.manifest.servers.map((s) => s.name),
      source: v.source,
      evaluation: {
        dataset: v.built.dataset,
        holdout: new Set(header.servers.filter((s) => s.holdout).map((s) => s.name)),
      },
      deployed: baseline.model,
      peers: v.peers?.length
        ? {
            peers: v.peers,
            datasetDir: join(v.workDir, 'dataset'),
            outDir: join(v.workDir, 'peers'),
            progress: v.progress,
          }
        : null,
      gates: v.gates,
      progress: v.progress,
    });
    if (baseline.note && validation.accuracy) validation.accuracy.deployed.note = baseline.note;
  } finally {
    await model.release();
    await baseline.model?.release();
  }
  await writeFile(join(v.workDir, MODEL_FILES.validation), toJsonText(validation));
  return validation;
}
