import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { parseJsonText } from '../core/read-json.js';
import { InputError } from '../core/errors.js';

import { TRAINER_DIR } from '../core/python.js';

/** The trainer package directory (cwd and PYTHONPATH of the trainer process): core/python.ts. */
export { TRAINER_DIR };
export const PROFILES_PATH = `${TRAINER_DIR}profiles.json`;

/**
 * The parts of trainer/profiles.json the TypeScript side needs (the trainer validates the rest):
 * the tensor layout the dataset must match and the quantiles. What to forecast is not here: it is
 * the deployment's metric set (src/metrics/metric-set.ts), carried by the dataset.
 */
const TrainingProfile = z.looseObject({
  resolution_seconds: z.number().int().positive(),
  lookback_steps: z.number().int().positive(),
  horizon_steps: z.number().int().positive(),
  max_epochs: z.number().int().positive(),
});
export type TrainingProfile = z.infer<typeof TrainingProfile>;

const ProfilesFile = z.looseObject({
  format_version: z.literal(1),
  quantiles: z.array(z.number()).min(1),
  known_features: z.array(z.string()).min(1),
  profiles: z.record(z.string(), TrainingProfile),
});
export type ProfilesFile = z.infer<typeof ProfilesFile>;

export async function readProfiles(path = PROFILES_PATH): Promise<ProfilesFile> {
  return parseJsonText(await readFile(path, 'utf8'), path, ProfilesFile);
}

export async function getProfile(
  name: string,
  path = PROFILES_PATH,
): Promise<{ doc: ProfilesFile; profile: TrainingProfile }> {
  const doc = await readProfiles(path);
  const profile = doc.profiles[name];
  if (!profile)
    throw new InputError(
      `--profile: unknown profile ${JSON.stringify(name)}; ${path} has ${Object.keys(doc.profiles).join(', ')}`,
    );
  return { doc, profile };
}
