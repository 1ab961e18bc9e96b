import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { DatasetHeader } from '../dataset/format.js';
import { EpochRecord, type TrainingInfo } from '../registry/training-info.js';
import type { Encoders, ServerMapping } from '../registry/schemas.js';
import { packageVersion } from '../core/version.js';

/**
 * `train_report.json` as written by the trainer (trainer/fleetcast_trainer/train.py). Only the
 * fields the registry needs are checked; the rest is kept in training_info.json's `metrics`.
 */
export const TrainReport = z.looseObject({
  format_version: z.literal(1),
  trainer_version: z.string(),
  profile: z.string(),
  hyperparameters: z.record(z.string(), z.unknown()),
  seed: z.number().int(),
  targets: z.array(z.string()).min(1),
  quantiles: z.array(z.number().gt(0).lt(1)).min(1),
  observed_features: z.array(z.string()).min(1),
  known_features: z.array(z.string()).min(1),
  resolution_seconds: z.number().int().positive(),
  lookback_steps: z.number().int().positive(),
  horizon_steps: z.number().int().positive(),
  num_embeddings: z.number().int().positive(),
  torch_version: z.string(),
  device: z.string(),
  world_size: z.number().int().positive(),
  epochs: z.array(EpochRecord),
  best_epoch: z.number().int().nonnegative(),
  best_val_loss: z.number().nullable(),
  converged: z.boolean(),
  convergence: z.looseObject({
    initial_val_loss: z.number().nullable().optional(),
    stopped_by: z.string().optional(),
  }),
  durations: z.record(z.string(), z.number().nullable()),
  started_at: z.string(),
  finished_at: z.string(),
});
export type TrainReport = z.infer<typeof TrainReport>;

/** encoders.json for a model trained on `header` (docs/MODEL_FORMAT.md). */
export function buildEncoders(modelId: string, header: DatasetHeader, report: TrainReport): Encoders {
  if (report.observed_features.join() !== header.features.join())
    throw new Error(
      `train_report.json: observed_features ${report.observed_features.join(',')} differ from the dataset's ${header.features.join(',')}`,
    );
  if (report.targets.join() !== header.targets.join())
    throw new Error(
      `train_report.json: targets ${report.targets.join(',')} differ from the dataset's ${header.targets.join(',')}`,
    );
  const maxIndex = Math.max(...header.servers.map((s) => s.index));
  if (report.num_embeddings <= maxIndex)
    throw new Error(
      `train_report.json: num_embeddings ${report.num_embeddings} does not cover server index ${maxIndex}`,
    );
  const byName = [...header.servers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    format_version: 1,
    model_id: modelId,
    server_id: {
      unknown_index: 0,
      num_embeddings: report.num_embeddings,
      classes: Object.fromEntries(byName.map((s) => [s.name, s.index])),
    },
    profile: { unknown_index: 0, classes: Object.fromEntries(header.profiles.map((p, i) => [p, i + 1])) },
    server_profiles: Object.fromEntries(byName.map((s) => [s.name, s.profile])),
    observed_features: report.observed_features,
    known_features: report.known_features,
    targets: report.targets,
    metrics: header.metrics,
    quantiles: report.quantiles,
    resolution_seconds: report.resolution_seconds,
    lookback_steps: report.lookback_steps,
    horizon_steps: report.horizon_steps,
  };
}

/** The mapping stored with the model: only servers the model was trained with, plus retirees. */
export function mappingForModel(mapping: ServerMapping, header: DatasetHeader): ServerMapping {
  const inModel = new Set(header.servers.map((s) => s.name));
  const missing = Object.keys(mapping.servers).filter((n) => !inModel.has(n));
  if (missing.length) throw new Error(`the dataset lacks mapped servers ${missing.join(', ')}`);
  return mapping;
}

export interface TrainingInfoInputs {
  modelId: string;
  header: DatasetHeader;
  report: TrainReport;
  startedAt: Date;
  finishedAt: Date;
  durations: Record<string, number>;
}

export function buildTrainingInfo(i: TrainingInfoInputs): TrainingInfo {
  const { header, report } = i;
  const res = header.resolution_seconds;
  const start = Date.parse(header.start);
  const { epochs, convergence } = report;
  const initial = convergence.initial_val_loss ?? null;
  const extra = Object.fromEntries(
    Object.entries(report).filter(
      ([k]) =>
        ![
          'hyperparameters',
          'epochs',
          'durations',
          'torch_version',
          'device',
          'world_size',
          'started_at',
          'finished_at',
        ].includes(k),
    ),
  );
  return {
    format_version: 1,
    model_id: i.modelId,
    profile: report.profile,
    seed: report.seed,
    started_at: i.startedAt.toISOString(),
    finished_at: i.finishedAt.toISOString(),
    data: {
      source: header.source,
      start: header.start,
      end: new Date(start + header.n_steps * res * 1000).toISOString(),
      resolution_seconds: res,
      n_steps: header.n_steps,
      train_end_step: header.split.train_end_step,
      fleet_size: header.servers.length,
      holdout_servers: header.servers.filter((s) => s.holdout).map((s) => s.name),
      features: header.features,
    },
    hyperparameters: report.hyperparameters,
    epochs,
    best_epoch: report.best_epoch,
    best_val_loss: report.best_val_loss,
    initial_val_loss: initial,
    stopped_early: convergence.stopped_by === 'early_stopping',
    metrics: extra,
    durations_seconds: {
      ...Object.fromEntries(
        Object.entries(report.durations)
          .filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]))
          .map(([k, v]) => [`trainer_${k}`, v]),
      ),
      ...i.durations,
    },
    code: {
      package_version: packageVersion(),
      git_commit: gitCommit(),
      trainer_version: report.trainer_version,
    },
    torch_version: report.torch_version,
    device: report.device,
    world_size: report.world_size,
  };
}

let commit: string | null | undefined;

/** The checked-out commit of this code, or null outside a git checkout. */
export function gitCommit(): string | null {
  if (commit !== undefined) return commit;
  try {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const out = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    commit = /^[0-9a-f]{40}$/.test(out) ? out : null;
  } catch {
    commit = null;
  }
  return commit;
}
