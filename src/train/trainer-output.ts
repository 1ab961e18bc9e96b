import { existsSync } from 'node:fs';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { DatasetHeader } from '../dataset/format.js';
import { MODEL_FILES } from '../registry/model-files.js';
import { Normalization } from '../registry/schemas.js';
import { parseJsonText, readJsonFile } from '../core/read-json.js';
import { FleetcastError } from '../core/errors.js';
import { TrainReport } from './artifacts.js';
import type { TrainingProfile } from './profiles.js';
import { describeEvent, runTrainer } from './trainer-process.js';

/**
 * The trainer's output directory (model.onnx, train_report.json, normalization.json): made by
 * running the trainer here, or adopted from a run elsewhere (a GPU runner) on the same dataset.
 */

export const TRAIN_REPORT_FILE = 'train_report.json';
const NORMALIZATION_FILE = 'normalization.json';

export interface TrainerRunOptions {
  profile: string;
  seed: number;
  epochs?: number | undefined;
  device?: 'auto' | 'cpu' | 'cuda' | undefined;
  progress: (line: string) => void;
}

/** Runs the trainer on `datasetDir` into `trainerOut`, turning its events into progress lines. */
export async function runTrainerWithProgress(
  options: TrainerRunOptions,
  profile: TrainingProfile,
  datasetDir: string,
  trainerOut: string,
): Promise<{ seconds: number }> {
  // The trainer's ETA counts every remaining epoch; its time budget usually ends training sooner.
  const budget = typeof profile.max_train_seconds === 'number' ? profile.max_train_seconds : undefined;
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
export async function adoptTrainerOutput(
  from: string,
  trainerOut: string,
  header: DatasetHeader,
  progress: (line: string) => void,
): Promise<{ seconds: number }> {
  for (const name of [MODEL_FILES.model, TRAIN_REPORT_FILE, NORMALIZATION_FILE])
    if (!existsSync(join(from, name)))
      throw new FleetcastError(`${join(from, name)}: missing from the trainer output directory`);
  const reportPath = join(from, TRAIN_REPORT_FILE);
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

/** The trainer output's report and normalization, validated; the graph stays a file to copy. */
export async function readTrainerOutput(
  trainerOut: string,
): Promise<{ report: TrainReport; normalization: Normalization; modelPath: string }> {
  const report = await readJsonFile(join(trainerOut, TRAIN_REPORT_FILE), TrainReport);
  const normalizationPath = join(trainerOut, NORMALIZATION_FILE);
  const normalization = parseJsonText(
    await readFile(normalizationPath, 'utf8'),
    normalizationPath,
    Normalization,
  );
  return { report, normalization, modelPath: join(trainerOut, MODEL_FILES.model) };
}
