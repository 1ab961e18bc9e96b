import { buildDataset, DEFAULT_HELD_OUT_DAYS } from '../dataset/build.js';
import type { DatasetServerInput } from '../dataset/assemble.js';
import type { Dataset } from '../dataset/format.js';
import { modelMetrics } from '../dataset/model-metrics.js';
import type { MetricsSource } from '../metrics/source.js';
import { assignServerIndices } from '../registry/mapping.js';
import type { Encoders, ServerMapping } from '../registry/schemas.js';
import type { QualityProblem } from '../dataset/quality.js';

/**
 * Held-out data for validating an existing model from `--metrics`: the newest
 * `heldOutDays` of each manifest server, plus the lookback and one day before it (seasonal naive),
 * resampled exactly like the training data. `days` asks for more history (with --peers: the usual
 * 30 days, so the peer forecasters fit on what a trained model would have had); the held-out window
 * and the model's windows are the same either way, as they count from the end. Servers without usable data are left out of the
 * accuracy figures (coverage reports them separately).
 */
export async function buildEvaluationData(
  source: MetricsSource,
  manifest: readonly DatasetServerInput[],
  encoders: Encoders,
  mapping: ServerMapping,
  holdout: ReadonlySet<string>,
  options: { end?: Date; heldOutDays?: number; days?: number; progress?: (line: string) => void } = {},
): Promise<{ dataset: Dataset; skipped: QualityProblem[] }> {
  const heldOutDays = options.heldOutDays ?? DEFAULT_HELD_OUT_DAYS;
  const res = encoders.resolution_seconds;
  const lookbackDays = (encoders.lookback_steps * res) / 86400;
  const days = Math.max(Math.ceil(lookbackDays + 1 + heldOutDays), options.days ?? 0);
  const result = await buildDataset({
    source,
    servers: manifest,
    mapping: assignServerIndices(
      mapping,
      manifest.map((s) => s.name),
    ),
    resolutionSeconds: res,
    lookbackSteps: encoders.lookback_steps,
    horizonSteps: encoders.horizon_steps,
    metrics: modelMetrics(encoders),
    days,
    heldOutDays,
    holdoutServers: holdout,
    onProblem: 'skip',
    quality: { minHistoryDays: 0, minObservedFraction: 0 },
    ...(options.end ? { end: options.end } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
  });
  return { dataset: result.dataset, skipped: result.skipped };
}
