import { InputError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import {
  loadRetrainConfig,
  eligibilityPolicyOf,
  statusPolicyOf,
  type LoadedConfig,
} from '../config/retrain-config.js';
import { assessFleet } from '../fleet/assess.js';
import { readManifestIfExists } from '../fleet/manifest.js';
import { EventLog } from '../core/events-log.js';
import { openMetricsSource, type MetricsSource } from '../metrics/source.js';
import { summarizeServers } from '../metrics/summary.js';
import { computeDrift } from './compute.js';
import { thresholdsOf } from './levels.js';
import type { DriftReport } from './types.js';
import { FileUnknownCounts, ServiceUnknownCounts, type UnknownCountSource } from './unknown-rate.js';
import { readRegistryVocabulary, readServerList, type ModelVocabulary } from './vocabulary.js';

export interface DriftCheckOptions {
  /** A `--metrics` spec or a ready source. */
  metrics: string | MetricsSource;
  /** Exactly one of modelServers (a server list file) and registry (a registry directory). */
  modelServers?: string;
  registry?: string;
  now?: Date;
  /** A config file path, an already loaded config, or undefined for config/retrain_config.json or defaults. */
  config?: string | LoadedConfig;
  /** The current manifest to compare with. */
  manifest?: string;
  /** Unknown-prediction counts: a JSON file, the service, or any other source. */
  unknownCounts?: string;
  serviceUrl?: string;
  unknownSource?: UnknownCountSource;
  /** Events log; undefined → the config's events_log, null → no logging. */
  events?: EventLog | null;
  threads?: number;
  logger?: Logger;
  clock?: () => Date;
}

/** The I/O edge of the drift engine: reads everything, calls computeDrift, logs the events. */
export async function runDriftCheck(options: DriftCheckOptions): Promise<DriftReport> {
  const clock = options.clock ?? (() => new Date());
  const generatedAt = clock();
  const now = options.now ?? generatedAt;
  const loaded =
    typeof options.config === 'object' ? options.config : await loadRetrainConfig(options.config);
  const { config } = loaded;
  const source = typeof options.metrics === 'string' ? openMetricsSource(options.metrics) : options.metrics;

  const [vocabulary, unknownCounts, currentManifest] = await Promise.all([
    readVocabulary(options),
    readUnknownCounts(options)?.read() ?? Promise.resolve(null),
    options.manifest === undefined
      ? Promise.resolve(null)
      : readManifestIfExists(options.manifest).then((manifest) => ({ path: options.manifest!, manifest })),
  ]);
  options.logger?.debug({ source: source.description, model: vocabulary.source }, 'drift check inputs');

  const summary = await summarizeServers(
    source,
    { until: now },
    options.threads === undefined ? {} : { threads: options.threads },
  );
  const warnings: string[] = [];
  if (summary.rowsAfterUntil > 0)
    warnings.push(
      `${summary.rowsAfterUntil.toLocaleString('en-US')} samples are later than now (${now.toISOString()}) and were ignored`,
    );
  const fleet = assessFleet(summary.servers, now, {
    status: statusPolicyOf(config),
    eligibility: eligibilityPolicyOf(config),
  });
  const report = computeDrift({
    now,
    generatedAt,
    source: source.description,
    configSource: loaded.source,
    fleet,
    rejected: summary.rejected,
    model: vocabulary,
    unknownCounts,
    thresholds: thresholdsOf(config),
    currentManifest,
    warnings,
  });
  for (const warning of report.warnings) options.logger?.warn(warning);

  const events = options.events === undefined ? new EventLog(config.events_log, clock) : options.events;
  await events?.append(...driftEvents(report));
  return report;
}

/** The events a check logs: always drift_check, plus retrain_triggered when the decision says so. */
export function driftEvents(
  report: DriftReport,
): Array<{ event: 'drift_check' | 'retrain_triggered'; data: Record<string, unknown> }> {
  const data = {
    now: report.now,
    source: report.source,
    model_id: report.model.id,
    drift_pct: report.drift_pct,
    priority: report.priority,
    new_servers: report.new_servers.length,
    sunset_servers: report.sunset_servers.length,
    pending_servers: report.pending_servers.length,
    unknown_rate_pct: report.unknown_rate?.rate_pct ?? null,
    model_age_days: report.model_age_days,
    stale: report.stale,
    retrain: report.decision.retrain,
  };
  const events: Array<{ event: 'drift_check' | 'retrain_triggered'; data: Record<string, unknown> }> = [
    { event: 'drift_check', data },
  ];
  if (report.decision.retrain)
    events.push({
      event: 'retrain_triggered',
      data: { priority: report.priority, reasons: report.decision.reasons },
    });
  return events;
}

async function readVocabulary(options: DriftCheckOptions): Promise<ModelVocabulary> {
  if ((options.modelServers === undefined) === (options.registry === undefined))
    throw new InputError('drift: give exactly one of --model-servers FILE and --registry DIR');
  return options.modelServers !== undefined
    ? readServerList(options.modelServers)
    : readRegistryVocabulary(options.registry!);
}

function readUnknownCounts(options: DriftCheckOptions): UnknownCountSource | undefined {
  const given = [options.unknownCounts, options.serviceUrl, options.unknownSource].filter(
    (x) => x !== undefined,
  );
  if (given.length > 1) throw new InputError('drift: give at most one of --unknown-counts and --service-url');
  if (options.unknownSource) return options.unknownSource;
  if (options.unknownCounts !== undefined) return new FileUnknownCounts(options.unknownCounts);
  if (options.serviceUrl !== undefined) return new ServiceUnknownCounts(options.serviceUrl);
  return undefined;
}
