import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describeZodError } from '../core/read-json.js';
import { getErrorMessage } from '../core/errors.js';
import { CHECKSUMS_FILE, parseChecksums, sha256Text, verifyChecksums } from '../registry/checksums.js';
import { Encoders } from '../registry/schemas.js';
import { ModelLoadError } from './model-load-error.js';

export const MODEL_FILE = 'model.onnx';
export const INPUT_NAMES = [
  'server_idx',
  'profile_idx',
  'past_observed',
  'past_known',
  'future_known',
] as const;
export const OUTPUT_NAME = 'quantiles';

export interface LoadOptions {
  /** sha256 of SHA256SUMS that the pointer pins; the load fails on any other digest. */
  expectedDigest?: string;
  /** Threads for one session.run (default: onnxruntime's choice). */
  intraOpNumThreads?: number;
  /** Largest batch per session.run; larger requests are split. */
  maxBatch?: number;
  /**
   * Let idle intra-op threads spin for new work (onnxruntime's default). Off by default: a spinning
   * pool burns a core between requests, and during a hot swap two models' pools would spin
   * against the requests on a small machine.
   */
  spinning?: boolean;
}

/** A model directory opened for serving: its verified files and one onnxruntime session. */
export interface OpenedModel {
  modelDir: string;
  /** sha256 of SHA256SUMS. */
  digest: string;
  encoders: Encoders;
  session: ort.InferenceSession;
}

/**
 * Verifies every file of a model directory against SHA256SUMS (and the pointer's digest), reads
 * encoders.json, checks its model_id against the directory name, opens one session from the
 * bytes that were hashed, and checks the ONNX signature.
 */
export async function openModelFiles(dir: string, options: LoadOptions = {}): Promise<OpenedModel> {
  const modelDir = resolve(dir);
  const check = await verifyChecksums(modelDir);
  if (!check.ok) {
    const missing = check.problems.some((p) => p.includes(`${CHECKSUMS_FILE} is missing`));
    throw new ModelLoadError(missing ? 'missing' : 'checksum', `${modelDir}: ${check.problems.join('; ')}`);
  }
  if (options.expectedDigest !== undefined && options.expectedDigest !== check.digest) {
    throw new ModelLoadError(
      'checksum',
      `${modelDir}: ${CHECKSUMS_FILE} digest ${check.digest.slice(0, 12)}… does not match the pointer's ${options.expectedDigest.slice(0, 12)}…`,
    );
  }
  const encoders = await readEncoders(modelDir);
  if (encoders.model_id !== basename(modelDir)) {
    throw new ModelLoadError(
      'mismatch',
      `${modelDir}: encoders.json model_id ${encoders.model_id} does not match the directory name`,
    );
  }
  const bytes = await readVerified(modelDir, MODEL_FILE);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: 'all',
      ...(options.intraOpNumThreads !== undefined ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
      extra: { session: { intra_op: { allow_spinning: spinning(options) ? '1' : '0' } } },
    });
  } catch (error) {
    throw new ModelLoadError(
      'onnx',
      `${join(modelDir, MODEL_FILE)}: onnxruntime cannot load it: ${getErrorMessage(error)}`,
      { cause: error },
    );
  }
  // The exporter drops inputs a graph does not use, so a model may declare a subset of them.
  const unexpected = session.inputNames.filter((name) => !(INPUT_NAMES as readonly string[]).includes(name));
  if (
    unexpected.length > 0 ||
    !session.inputNames.includes('past_observed') ||
    !session.outputNames.includes(OUTPUT_NAME)
  ) {
    await session.release();
    throw new ModelLoadError(
      'onnx',
      `${join(modelDir, MODEL_FILE)}: expected inputs among ${INPUT_NAMES.join(', ')} and output ${OUTPUT_NAME}; got inputs ${session.inputNames.join(', ')} and outputs ${session.outputNames.join(', ')}`,
    );
  }
  return { modelDir, digest: check.digest, encoders, session };
}

/** FLEETCAST_ORT_SPINNING=1 turns spinning on for every session (benchmarks compare both). */
function spinning(options: LoadOptions): boolean {
  return options.spinning ?? process.env.FLEETCAST_ORT_SPINNING === '1';
}

async function readEncoders(modelDir: string): Promise<Encoders> {
  const path = join(modelDir, 'encoders.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ModelLoadError('format', `${path}: not valid JSON: ${getErrorMessage(error)}`, {
      cause: error,
    });
  }
  const parsed = Encoders.safeParse(raw);
  if (!parsed.success) throw new ModelLoadError('format', describeZodError(path, parsed.error));
  return parsed.data;
}

/** Reads a file and checks it against its SHA256SUMS entry, so what is loaded is what was verified. */
async function readVerified(modelDir: string, name: string): Promise<Uint8Array> {
  const list = parseChecksums(
    await readFile(join(modelDir, CHECKSUMS_FILE), 'utf8'),
    join(modelDir, CHECKSUMS_FILE),
  );
  const bytes = await readFile(join(modelDir, name));
  if (list.get(name) !== sha256Text(bytes)) {
    throw new ModelLoadError('checksum', `${join(modelDir, name)}: changed while loading (sha256 mismatch)`);
  }
  return bytes;
}
