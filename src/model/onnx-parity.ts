// parity.json (written by the trainer's export): fixed inputs and the PyTorch outputs for them at
// several batch sizes. Checking them in onnxruntime-node proves the exported graph is the trained one.
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { FleetcastError } from '../core/errors.js';

const ParityTensor = z.object({
  dtype: z.enum(['int32', 'float32']),
  shape: z.array(z.number().int().nonnegative()),
  data: z.array(z.number()),
});
export type ParityTensor = z.infer<typeof ParityTensor>;

const ParityCase = z.object({
  batch: z.number().int().positive(),
  inputs: z.record(z.string(), ParityTensor),
  output: z.object({ name: z.string(), shape: z.array(z.number().int()), data: z.array(z.number()) }),
});
export type ParityCase = z.infer<typeof ParityCase>;

export const ParityFile = z.looseObject({
  format_version: z.literal(1),
  input_names: z.array(z.string()).min(1),
  output_names: z.array(z.string()).min(1),
  tolerance: z.number().positive(),
  cases: z.array(ParityCase).min(1),
});
export type ParityFile = z.infer<typeof ParityFile>;

export async function readParityFile(path: string): Promise<ParityFile> {
  const parsed = ParityFile.safeParse(JSON.parse(await readFile(path, 'utf8')));
  if (!parsed.success) throw new FleetcastError(`${path}: not a parity file: ${parsed.error.message}`);
  return parsed.data;
}

export function parityFeeds(parity: ParityFile, c: ParityCase): Record<string, ort.Tensor> {
  return Object.fromEntries(
    parity.input_names.map((name) => {
      const t = c.inputs[name];
      if (!t) throw new FleetcastError(`parity case batch ${c.batch}: no input ${name}`);
      const tensor =
        t.dtype === 'int32'
          ? new ort.Tensor('int32', Int32Array.from(t.data), t.shape)
          : new ort.Tensor('float32', Float32Array.from(t.data), t.shape);
      return [name, tensor];
    }),
  );
}

export interface ParityResult {
  batch: number;
  /** Largest |onnx − torch| / max(1, |torch|): absolute below 1, relative above (latency is in ms). */
  maxError: number;
  shapeMatches: boolean;
  finite: boolean;
}

export async function checkParityCase(
  session: ort.InferenceSession,
  parity: ParityFile,
  c: ParityCase,
): Promise<ParityResult> {
  const outputName = parity.output_names[0] ?? 'quantiles';
  const out = (await session.run(parityFeeds(parity, c)))[outputName];
  if (!out) throw new FleetcastError(`model has no ${outputName} output`);
  const got = out.data as Float32Array;
  let maxError = 0;
  let finite = true;
  got.forEach((value, i) => {
    const expected = c.output.data[i] ?? Number.NaN;
    if (!Number.isFinite(value)) finite = false;
    maxError = Math.max(maxError, Math.abs(value - expected) / Math.max(1, Math.abs(expected)));
  });
  const shapeMatches = got.length === c.output.data.length && out.dims.join() === c.output.shape.join();
  return { batch: c.batch, maxError, shapeMatches, finite };
}
