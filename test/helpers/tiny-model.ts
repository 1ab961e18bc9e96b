import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHECKSUMS_FILE, computeChecksums, renderChecksums } from '../../src/registry/checksums.js';
import { resolvePython } from '../../src/core/python.js';
import { validationJson } from './model-fixture.js';

export interface TinyModelSpec {
  servers: Array<{ name: string; profile: string }>;
  /** Defaults to a fresh tft-…Z-xxxxxx id. */
  modelId?: string;
  /** Every forecast is NaN (a model that must never be swapped in). */
  nan?: boolean;
  /** NaN only for servers forecast through the unknown index 0 (known servers are fine). */
  nanUnknown?: boolean;
  /** `no_quantile_axis`: the output is [B, H, targets], not [B, H, targets, quantiles]. */
  output?: 'ok' | 'no_quantile_axis';
  resolutionSeconds?: number;
  lookbackSteps?: number;
  horizonSteps?: number;
  seed?: number;
  trainedAt?: string;
  /** Also write a validation.json with this verdict (listed in SHA256SUMS); default: none. */
  validation?: { passed: boolean };
}

const script = fileURLToPath(new URL('../fixtures/tiny_model.py', import.meta.url));
let sequence = 0;

/** A fresh model id; ids made later sort later. */
export function tinyModelId(date = new Date(Date.UTC(2026, 0, 1, 0, 0, sequence++))): string {
  const stamp = date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `tft-${stamp}-${randomBytes(3).toString('hex')}`;
}

/**
 * Writes small but real ONNX model directories (docs/MODEL_FORMAT.md, with SHA256SUMS) under
 * `modelsDir`, one Python call for all of them. Returns their ids in order.
 */
export async function makeTinyModels(modelsDir: string, specs: TinyModelSpec[]): Promise<string[]> {
  const models = specs.map((spec) => {
    const modelId = spec.modelId ?? tinyModelId();
    return {
      dir: join(modelsDir, modelId),
      model_id: modelId,
      servers: spec.servers,
      nan: spec.nan ?? false,
      nan_unknown: spec.nanUnknown ?? false,
      output: spec.output ?? 'ok',
      resolution_seconds: spec.resolutionSeconds ?? 3600,
      lookback_steps: spec.lookbackSteps ?? 24,
      horizon_steps: spec.horizonSteps ?? 6,
      seed: spec.seed ?? 0,
      trained_at: spec.trainedAt ?? new Date().toISOString(),
      validation: spec.validation,
    };
  });
  const result = spawnSync(resolvePython(), [script], {
    input: JSON.stringify({ models }),
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`tiny_model.py failed (${result.status}): ${result.stderr}`);
  for (const model of models) {
    if (model.validation !== undefined) {
      const names = model.servers.map((s) => s.name);
      const report = validationJson(model.model_id, names, model.validation);
      await writeFile(join(model.dir, 'validation.json'), `${JSON.stringify(report, null, 2)}\n`);
    }
    await resumModelDir(model.dir);
  }
  return models.map((m) => m.model_id);
}

export async function makeTinyModel(modelsDir: string, spec: TinyModelSpec): Promise<string> {
  const [id] = await makeTinyModels(modelsDir, [spec]);
  return id!;
}

/** Rewrites a model directory's SHA256SUMS after a test changed its files on purpose. */
export async function resumModelDir(dir: string): Promise<void> {
  await writeFile(join(dir, CHECKSUMS_FILE), renderChecksums(await computeChecksums(dir)));
}
