import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHECKSUMS_FILE, computeChecksums, renderChecksums } from '../../src/registry/checksums.js';

/** A model directory that passes checksum and encoders checks (the ONNX bytes are a placeholder: nothing loads them). */
export async function writeModelFixture(
  dir: string,
  modelId: string,
  servers: readonly string[],
  options: { passed?: boolean } = {},
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const classes = Object.fromEntries(servers.map((s, i) => [s, i + 1]));
  const files: Record<string, unknown> = {
    'encoders.json': {
      format_version: 1,
      model_id: modelId,
      server_id: { unknown_index: 0, num_embeddings: servers.length + 1, classes },
      profile: { unknown_index: 0, classes: { web: 1 } },
      server_profiles: Object.fromEntries(servers.map((s) => [s, 'web'])),
      observed_features: ['cpu_pct'],
      known_features: ['tod_sin'],
      targets: ['cpu_pct'],
      quantiles: [0.1, 0.5, 0.9],
      resolution_seconds: 900,
      lookback_steps: 8,
      horizon_steps: 4,
    },
    'validation.json': validationJson(modelId, servers, options),
  };
  for (const [name, value] of Object.entries(files))
    await writeFile(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
  await writeFile(join(dir, 'model.onnx'), `placeholder onnx bytes for ${modelId}\n`);
  await writeFile(join(dir, CHECKSUMS_FILE), renderChecksums(await computeChecksums(dir)));
}

/** A validation.json (src/validate's report, the fields deploy and its commit message read). */
export function validationJson(
  modelId: string,
  servers: readonly string[],
  options: { passed?: boolean } = {},
): Record<string, unknown> {
  return {
    format_version: 1,
    model_id: modelId,
    validated_at: '2026-11-26T05:00:00.000Z',
    passed: options.passed ?? true,
    manifest_servers: servers.length,
    coverage: {
      intended: servers.length,
      covered: servers.length,
      percent: 100,
      missing: [],
      passed: true,
      message: 'ok',
    },
    accuracy: {
      scores: [
        { model: 'model', group: 'all', target: 'cpu_pct', quantile: 0.5, q_risk: 0.1, points: 10 },
        { model: 'model', group: 'all', target: 'cpu_pct', quantile: 0.9, q_risk: 0.2, points: 10 },
        {
          model: 'seasonal_naive',
          group: 'all',
          target: 'cpu_pct',
          quantile: 0.5,
          q_risk: 0.5,
          points: 10,
        },
      ],
    },
    gates: [],
  };
}
