import { randomBytes } from 'node:crypto';
import { InputError } from '../core/errors.js';
import { MODEL_ID_PATTERN } from './schemas.js';

/**
 * A model id, `tft-YYYYMMDDTHHMMSSZ-<6 hex>`, from the UTC training start, so that ids sort by
 * time; the random suffix keeps two models started in the same second apart.
 */
export function newModelId(
  startedAt: Date = new Date(),
  suffix: string = randomBytes(3).toString('hex'),
): string {
  if (!/^[0-9a-f]{6}$/.test(suffix))
    throw new Error(`model id suffix must be 6 lowercase hex digits: ${suffix}`);
  const stamp = startedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `tft-${stamp}-${suffix}`;
}

export function isModelId(name: string): boolean {
  return MODEL_ID_PATTERN.test(name);
}

/** The training start encoded in a model id. */
export function modelIdTime(id: string): Date {
  const m = /^tft-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(id);
  if (!m) throw new Error(`not a model id: ${id}`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

/** The training start encoded in `id`, or null when `id` is not a model id or names no real time. */
export function trainingStartFromId(id: string): Date | null {
  if (!isModelId(id)) return null;
  const date = modelIdTime(id);
  if (Number.isNaN(date.getTime())) return null;
  return newModelId(date, '000000').slice(0, 20) === id.slice(0, 20) ? date : null;
}

/** Returns `id` if it is a model id, else throws an InputError (ids end up in paths). */
export function assertModelId(id: string, where = 'model id'): string {
  if (!isModelId(id))
    throw new InputError(
      `${where}: ${JSON.stringify(id.slice(0, 60))} is not a model id (tft-YYYYMMDDTHHMMSSZ-abcdef)`,
    );
  return id;
}
