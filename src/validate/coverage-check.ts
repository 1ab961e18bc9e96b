import { vocabularyCoverage } from '../fleet/coverage.js';
import type { LoadedModel } from '../model/loaded-model.js';
import { loadRecentWindows } from '../features/windows.js';
import type { MetricsSource } from '../metrics/source.js';
import { computeCoverage, type CoverageReport } from './coverage.js';

export interface CoverageCheck extends CoverageReport {
  /** False when no metrics were given: only the vocabulary was checked. */
  forecasts_checked: boolean;
}

/**
 * Coverage of the manifest by a loaded model: vocabulary membership, plus (with a metrics source)
 * a forecast from the ONNX model for every manifest server on its own newest data, which must be
 * finite everywhere. Without a source only the vocabulary is checked, and the report says so.
 */
export async function checkCoverage(
  model: LoadedModel,
  manifestServers: readonly string[],
  source: MetricsSource | null,
  options: { end?: Date; progress?: (line: string) => void } = {},
): Promise<CoverageCheck> {
  if (source === null) {
    const all = new Map(manifestServers.map((s) => [s, true]));
    const report = computeCoverage(manifestServers, model.vocabulary, all);
    return {
      ...report,
      message: `${report.message} (vocabulary only: no --metrics to forecast from)`,
      forecasts_checked: false,
    };
  }
  const { windows } = await loadRecentWindows(
    source,
    manifestServers,
    model.encoders,
    options.end ? { end: options.end } : {},
  );
  // only servers the vocabulary covers get a forecast: the others already fail the rule
  const { covered } = vocabularyCoverage(manifestServers, model.vocabulary);
  const inputs = covered.flatMap((server) => windows.get(server)?.input ?? []);
  const results = await model.forecast(inputs);
  const ok = new Map<string, boolean>();
  for (const r of results) ok.set(r.server, r.known && r.values.every((v) => Number.isFinite(v)));
  const imputed = [...windows.values()].filter((w) => w.imputed.length > 0);
  options.progress?.(
    `validate: forecast ${results.length} of ${manifestServers.length} manifest servers from their recent data` +
      (imputed.length > 0
        ? `; ${imputed.length} with a metric absent from the window, read as its minimum (${imputed
            .slice(0, 3)
            .map((w) => `${w.input.server}: ${w.imputed.join(', ')}`)
            .join('; ')}${imputed.length > 3 ? '; …' : ''})`
        : ''),
  );
  return { ...computeCoverage(manifestServers, model.vocabulary, ok), forecasts_checked: true };
}
