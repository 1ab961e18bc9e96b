// `npm run bench -- parity --dir TRAINER_OUT [--json]`
// Checks a trainer output's model.onnx in onnxruntime-node against the PyTorch outputs the trainer
// stored in parity.json (fixed inputs at several batch sizes). Use it on a model exported elsewhere,
// e.g. by torch 2.x on the GPU runner (scripts/gpu-runner-check.sh), to confirm the service's runtime
// computes what the trainer's torch computed. Exits non-zero when any batch exceeds the tolerance.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { checkParityCase, readParityFile } from '../src/model/onnx-parity.js';

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { dir: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (!values.dir) throw new Error('--dir TRAINER_OUT is required');
  const parity = await readParityFile(join(values.dir, 'parity.json'));
  const report = JSON.parse(await readFile(join(values.dir, 'train_report.json'), 'utf8')) as {
    torch_version?: string;
    device?: string;
  };
  const session = await ort.InferenceSession.create(join(values.dir, 'model.onnx'));
  try {
    const results = [];
    for (const c of parity.cases) results.push(await checkParityCase(session, parity, c));
    const passed = results.every((r) => r.finite && r.shapeMatches && r.maxError <= parity.tolerance);
    const summary = {
      torch_version: report.torch_version ?? null,
      trained_on: report.device ?? null,
      tolerance: parity.tolerance,
      cases: results,
      passed,
    };
    if (values.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else
      for (const r of results)
        process.stdout.write(
          `batch ${r.batch}: max error ${r.maxError.toExponential(2)} (tolerance ${parity.tolerance}) ${r.finite && r.shapeMatches && r.maxError <= parity.tolerance ? 'ok' : 'FAIL'}\n`,
        );
    if (!passed) process.exitCode = 1;
  } finally {
    await session.release();
  }
}
