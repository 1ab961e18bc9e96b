import { runDriftCheck, type DriftReport } from '../drift/index.js';

export interface DriftEngineSettings {
  /** `--metrics` spec (a file or directory, optionally `#table` for DuckDB). */
  metrics: string;
  config: string | undefined;
  registry: string;
  manifest: string;
  serviceUrl: string | undefined;
}

/** Runs the drift engine (src/drift) the way `fleetcast drift --json` does, without an events log. */
export async function runDriftEngine(settings: DriftEngineSettings): Promise<DriftReport> {
  return runDriftCheck({
    metrics: settings.metrics,
    registry: settings.registry,
    manifest: settings.manifest,
    ...(settings.config === undefined ? {} : { config: settings.config }),
    ...(settings.serviceUrl === undefined ? {} : { serviceUrl: settings.serviceUrl }),
    events: null,
  });
}
