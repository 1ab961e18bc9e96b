import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { GateError, InputError } from '../core/errors.js';
import { CHECKSUMS_FILE, verifyChecksums } from './checksums.js';
import { MODEL_FILES } from './model-files.js';
import { readJsonFile } from '../core/read-json.js';
import { Encoders, Normalization, ServerMapping } from './schemas.js';
import { TrainingInfo } from './training-info.js';

/** Everything in a model directory except the ONNX graph, validated. */
export interface ModelMetadata {
  id: string;
  dir: string;
  /** sha256 of SHA256SUMS (what a pointer pins); empty when not verified. */
  digest: string;
  encoders: Encoders;
  mapping: ServerMapping;
  normalization: Normalization;
  trainingInfo: TrainingInfo;
  /**
   * The validation report the model passed (its shape belongs to src/validate); null for a
   * candidate that has not been validated yet (a train work dir).
   */
  validation: Record<string, unknown> | null;
}

export interface ReadModelOptions {
  /** Verify SHA256SUMS first (default true); a mismatch is a GateError naming the file. */
  verify?: boolean;
}

/** Reads a model directory's metadata; every error names the file and field. */
export async function readModelMetadata(dir: string, options: ReadModelOptions = {}): Promise<ModelMetadata> {
  if (!existsSync(dir)) throw new InputError(`model directory not found: ${dir}`);
  let digest = '';
  if (options.verify ?? true) digest = await assertChecksums(dir);
  const encoders = await readJsonFile(join(dir, MODEL_FILES.encoders), Encoders);
  const mapping = await readJsonFile(join(dir, MODEL_FILES.mapping), ServerMapping);
  const normalization = await readJsonFile(join(dir, MODEL_FILES.normalization), Normalization);
  const trainingInfo = await readJsonFile(join(dir, MODEL_FILES.trainingInfo), TrainingInfo);
  const validationPath = join(dir, MODEL_FILES.validation);
  const validation = existsSync(validationPath)
    ? await readJsonFile(validationPath, z.record(z.string(), z.unknown()))
    : null;
  const id = encoders.model_id;
  if (trainingInfo.model_id !== id)
    throw new InputError(
      `${join(dir, MODEL_FILES.trainingInfo)}: model_id ${trainingInfo.model_id} differs from encoders.json (${id})`,
    );
  if (basename(dir) !== id && /^tft-/.test(basename(dir)))
    throw new InputError(`${dir}: directory name differs from encoders.json model_id ${id}`);
  for (const [name, index] of Object.entries(encoders.server_id.classes)) {
    if (mapping.servers[name] !== index)
      throw new InputError(
        `${join(dir, MODEL_FILES.mapping)}: servers.${name} is ${mapping.servers[name] ?? 'missing'} but encoders.json has ${index}`,
      );
  }
  return { id, dir, digest, encoders, mapping, normalization, trainingInfo, validation };
}

/** Verifies SHA256SUMS and returns its digest; throws a GateError listing every problem. */
export async function assertChecksums(dir: string): Promise<string> {
  const result = await verifyChecksums(dir);
  if (!result.ok)
    throw new GateError(
      `${join(dir, CHECKSUMS_FILE)}: model files failed verification:\n  ${result.problems.join('\n  ')}`,
    );
  return result.digest;
}
