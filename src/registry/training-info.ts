import { z } from 'zod';
import { ModelId, ServerName } from './schemas.js';

/**
 * `training_info.json`: what a model was trained on and how (docs/MODEL_FORMAT.md). Written by
 * `fleetcast train` from the dataset header and the trainer's `train_report.json`.
 */

const Finite = z.number().refine(Number.isFinite, 'must be a finite number');
/** Losses may legitimately be NaN in a failed run; JSON has no NaN, so the trainer writes null. */
const Loss = z.number().nullable();

export const EpochRecord = z.looseObject({
  epoch: z.number().int().nonnegative(),
  train_loss: Loss,
  val_loss: Loss,
  seconds: z.number().nonnegative().optional(),
});
export type EpochRecord = z.infer<typeof EpochRecord>;

export const TrainingInfo = z
  .object({
    format_version: z.literal(1),
    model_id: ModelId,
    profile: z.string().min(1),
    seed: z.number().int(),
    started_at: z.iso.datetime(),
    finished_at: z.iso.datetime(),
    data: z.strictObject({
      source: z.string(),
      start: z.iso.datetime(),
      end: z.iso.datetime(),
      resolution_seconds: z.number().int().positive(),
      n_steps: z.number().int().positive(),
      train_end_step: z.number().int().positive(),
      fleet_size: z.number().int().nonnegative(),
      holdout_servers: z.array(ServerName),
      features: z.array(z.string()).min(1),
    }),
    hyperparameters: z.record(z.string(), z.unknown()),
    epochs: z.array(EpochRecord),
    best_epoch: z.number().int().nonnegative().nullable(),
    best_val_loss: Loss,
    /** Validation loss of the untrained model: the reference for the convergence check. */
    initial_val_loss: Loss,
    stopped_early: z.boolean(),
    metrics: z.record(z.string(), z.unknown()),
    durations_seconds: z.record(z.string(), Finite),
    code: z.strictObject({
      package_version: z.string(),
      git_commit: z.string().nullable(),
      trainer_version: z.string().nullable(),
    }),
    torch_version: z.string().nullable(),
    device: z.string().nullable(),
    world_size: z.number().int().positive(),
  })
  .strict();
export type TrainingInfo = z.infer<typeof TrainingInfo>;

/**
 * The time fields of training_info.json alone, read leniently: enough to date a deployed model
 * even when the rest of its training_info.json is from another format version. `data.end` (the
 * end of the data the model was trained on) is what a model's age is measured from; a model
 * whose file lacks it is dated by when it was made.
 */
export const TrainingTimes = z.looseObject({
  trained_at: z.iso.datetime({ offset: true }).optional(),
  finished_at: z.iso.datetime({ offset: true }).optional(),
  started_at: z.iso.datetime({ offset: true }).optional(),
  data: z
    .looseObject({
      end: z.iso.datetime({ offset: true }).optional(),
      resolution_seconds: z.number().int().positive().optional(),
    })
    .optional()
    .catch(undefined),
});
export type TrainingTimes = z.infer<typeof TrainingTimes>;
