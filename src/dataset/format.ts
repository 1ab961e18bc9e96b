import { endianness } from 'node:os';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { parseJsonText } from '../core/read-json.js';
import { MetricRecord, ServerName } from '../registry/schemas.js';
import { toJsonText } from '../core/atomic-write.js';
import { InputError } from '../core/errors.js';
import { pathExists } from '../core/path-exists.js';

/** The training dataset directory (docs/MODEL_FORMAT.md): dataset.json + dataset.f32. */
export const DATASET_HEADER = 'dataset.json';
export const DATASET_VALUES = 'dataset.f32';

const IsoUtc = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'ISO-8601 UTC with milliseconds');

export const DatasetServer = z.strictObject({
  name: ServerName,
  index: z.number().int().positive(),
  profile: z.string().min(1),
  profile_index: z.number().int().positive(),
  holdout: z.boolean(),
});
export type DatasetServer = z.infer<typeof DatasetServer>;

export const DatasetHeader = z
  .strictObject({
    format_version: z.literal(1),
    created_at: IsoUtc,
    source: z.string(),
    start: IsoUtc,
    resolution_seconds: z.number().int().positive(),
    n_steps: z.number().int().positive(),
    fill_limit_steps: z.number().int().nonnegative(),
    features: z.array(z.string().min(1)).min(1),
    /** What the model forecasts: some of `features`. */
    targets: z.array(z.string().min(1)).min(1),
    metrics: z.record(z.string(), MetricRecord),
    profiles: z.array(z.string().min(1)),
    servers: z.array(DatasetServer).min(1),
    split: z.strictObject({
      train_end_step: z.number().int().positive(),
      valid_end_step: z.number().int().positive(),
    }),
  })
  .superRefine((h, ctx) => {
    h.targets.forEach((t, i) => {
      if (!h.features.includes(t))
        ctx.addIssue({ code: 'custom', path: ['targets', i], message: `${t} is not a feature` });
    });
    for (const f of h.features)
      if (h.metrics[f] === undefined)
        ctx.addIssue({ code: 'custom', path: ['metrics'], message: `has no entry for feature ${f}` });
    if (h.split.train_end_step > h.split.valid_end_step || h.split.valid_end_step > h.n_steps)
      ctx.addIssue({
        code: 'custom',
        path: ['split'],
        message: 'needs train_end_step ≤ valid_end_step ≤ n_steps',
      });
    h.servers.forEach((s, i) => {
      if (h.profiles[s.profile_index - 1] !== s.profile)
        ctx.addIssue({
          code: 'custom',
          path: ['servers', i, 'profile_index'],
          message: `does not match profile ${s.profile}`,
        });
    });
  });
export type DatasetHeader = z.infer<typeof DatasetHeader>;

export interface Dataset {
  header: DatasetHeader;
  /** [n_servers, n_steps, n_features] row-major. */
  values: Float32Array;
}

/** Epoch seconds of step 0. */
export function datasetStartEpoch(header: DatasetHeader): number {
  return Date.parse(header.start) / 1000;
}

/** One server's [n_steps, n_features] block (a view, not a copy). */
export function serverValues(dataset: Dataset, row: number): Float32Array {
  const size = dataset.header.n_steps * dataset.header.features.length;
  return dataset.values.subarray(row * size, (row + 1) * size);
}

/**
 * Writes the dataset directory atomically: both files go into a temp dir beside `dir`, are fsynced,
 * and the temp dir replaces `dir` by rename, so a reader never sees a header without its values.
 */
export async function writeDataset(dir: string, dataset: Dataset): Promise<void> {
  const { header, values } = dataset;
  const expected = header.servers.length * header.n_steps * header.features.length;
  if (values.length !== expected)
    throw new Error(`dataset values have ${values.length} floats, header implies ${expected}`);
  DatasetHeader.parse(header);
  await mkdir(dirname(dir), { recursive: true });
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    await writeSynced(join(tmp, DATASET_VALUES), littleEndianBytes(values));
    await writeSynced(join(tmp, DATASET_HEADER), toJsonText(header));
    const old = join(dirname(dir), `.${basename(dir)}.old-${process.pid}`);
    const existed = await pathExists(dir);
    if (existed) await rename(dir, old);
    await rename(tmp, dir);
    if (existed) await rm(old, { recursive: true, force: true });
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

export async function readDataset(dir: string): Promise<Dataset> {
  const headerPath = join(dir, DATASET_HEADER);
  let text: string;
  try {
    text = await readFile(headerPath, 'utf8');
  } catch {
    throw new InputError(`${headerPath}: not found`);
  }
  const header = parseJsonText(text, headerPath, DatasetHeader);
  const valuesPath = join(dir, DATASET_VALUES);
  const bytes = await readFile(valuesPath).catch(() => {
    throw new InputError(`${valuesPath}: not found`);
  });
  const expected = header.servers.length * header.n_steps * header.features.length * 4;
  if (bytes.length !== expected)
    throw new InputError(
      `${valuesPath}: ${bytes.length} bytes, expected ${expected} for the shape in ${DATASET_HEADER}`,
    );
  const values = new Float32Array(expected / 4);
  new Uint8Array(values.buffer).set(bytes);
  if (endianness() !== 'LE') swapBytes(new Uint8Array(values.buffer));
  return { header, values };
}

function littleEndianBytes(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (endianness() === 'LE') return bytes;
  const copy = Uint8Array.from(bytes);
  swapBytes(copy);
  return copy;
}

function swapBytes(bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i += 4) {
    const [a, b, c, d] = [bytes[i]!, bytes[i + 1]!, bytes[i + 2]!, bytes[i + 3]!];
    bytes[i] = d;
    bytes[i + 1] = c;
    bytes[i + 2] = b;
    bytes[i + 3] = a;
  }
}

async function writeSynced(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
