import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { getErrorMessage } from '../core/errors.js';
import { MODEL_FILES } from './model-files.js';

/**
 * What a model directory's validation.json says, read leniently (the report's shape belongs to
 * src/validate; only the verdict and whose report it is matter here): `passed`, `failed`, `missing`
 * (no validation.json: never validated), or `invalid` (unreadable, or without a boolean `passed`).
 */
export type ValidationVerdict = 'passed' | 'failed' | 'missing' | 'invalid';

export interface ValidationStatus {
  verdict: ValidationVerdict;
  path: string;
  /** The model the report is about (null when missing or invalid). */
  modelId: string | null;
  validatedAt: string | null;
  /** Why the report is invalid. */
  problem?: string;
}

const ValidationHeader = z.looseObject({
  model_id: z.string(),
  passed: z.boolean(),
  validated_at: z.string().optional(),
});

export async function readValidationStatus(dir: string): Promise<ValidationStatus> {
  const path = join(dir, MODEL_FILES.validation);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { verdict: 'missing', path, modelId: null, validatedAt: null };
    return { verdict: 'invalid', path, modelId: null, validatedAt: null, problem: getErrorMessage(error) };
  }
  let parsed;
  try {
    parsed = ValidationHeader.safeParse(JSON.parse(text));
  } catch (error) {
    return {
      verdict: 'invalid',
      path,
      modelId: null,
      validatedAt: null,
      problem: `not JSON: ${getErrorMessage(error)}`,
    };
  }
  if (!parsed.success)
    return {
      verdict: 'invalid',
      path,
      modelId: null,
      validatedAt: null,
      problem: 'expected a report with model_id and a boolean passed',
    };
  return {
    verdict: parsed.data.passed ? 'passed' : 'failed',
    path,
    modelId: parsed.data.model_id,
    validatedAt: parsed.data.validated_at ?? null,
  };
}
