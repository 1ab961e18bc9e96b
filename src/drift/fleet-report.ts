import {
  eligibilityPolicyOf,
  loadRetrainConfig,
  statusPolicyOf,
  type LoadedConfig,
} from '../config/retrain-config.js';
import { openMetricsSource, type MetricsSource } from '../metrics/source.js';
import { summarizeServers, type FleetSummary } from '../metrics/summary.js';
import {
  assessFleet,
  boundedValue,
  collectionState,
  type CollectionState,
  countStatuses,
  round2,
  type FleetServer,
  type StatusCounts,
} from '../fleet/assess.js';

/** `fleetcast fleet --json`: every server's status and eligibility at `now`. */
export interface FleetReport {
  now: string;
  source: string;
  config_source: string;
  counts: StatusCounts & { eligible: number; pending: number; rejected: number };
  servers: Array<{
    name: string;
    profile: string;
    status: FleetServer['status'];
    first_seen: string;
    last_seen: string;
    days_silent: number;
    samples: number;
    history_days: number;
    eligible: boolean;
    eligible_at: string | null;
  }>;
  rejected_servers: Array<{ value: string | null; problem: string; samples: number }>;
  /** The source as a whole: 'stale' when even its newest sample is offline_hours old. */
  collection: {
    status: CollectionState['status'];
    newest_sample: string | null;
    silent_hours: number;
    as_of: string;
  };
  warnings: string[];
}

export interface FleetStatusOptions {
  metrics: string | MetricsSource;
  now?: Date;
  config?: string | LoadedConfig;
  threads?: number;
}

export interface FleetStatusResult {
  report: FleetReport;
  fleet: FleetServer[];
  summary: FleetSummary;
  config: LoadedConfig;
}

export async function runFleetStatus(options: FleetStatusOptions): Promise<FleetStatusResult> {
  const now = options.now ?? new Date();
  const loaded =
    typeof options.config === 'object' ? options.config : await loadRetrainConfig(options.config);
  const source = typeof options.metrics === 'string' ? openMetricsSource(options.metrics) : options.metrics;
  const summary = await summarizeServers(
    source,
    { until: now },
    options.threads === undefined ? {} : { threads: options.threads },
  );
  const status = statusPolicyOf(loaded.config);
  const fleet = assessFleet(summary.servers, now, {
    status,
    eligibility: eligibilityPolicyOf(loaded.config),
  });
  const collection = collectionState(summary.servers, now, status);
  return {
    report: renderFleetReport(fleet, summary, now, loaded.source, collection),
    fleet,
    summary,
    config: loaded,
  };
}

/** Pure: the report object for a fleet assessment. */
export function renderFleetReport(
  fleet: readonly FleetServer[],
  summary: FleetSummary,
  now: Date,
  configSource: string,
  collection: CollectionState = { status: 'reporting', newest: null, silentHours: 0, asOf: now },
): FleetReport {
  const eligible = fleet.filter((s) => s.eligible).length;
  const warnings: string[] = [];
  if (collection.status === 'stale')
    warnings.push(
      `the source is stale: its newest sample (${collection.newest!.toISOString()}) is ${round2(collection.silentHours)} h old, ` +
        `so collection stopped; statuses are as of that sample, not now (servers silent before it are still offline)`,
    );
  if (summary.rowsAfterUntil > 0)
    warnings.push(
      `${summary.rowsAfterUntil} samples are later than now (${now.toISOString()}) and were ignored`,
    );
  if (summary.rejected.length > 0)
    warnings.push(
      `${summary.rejected.length} server names failed validation and were left out (see rejected_servers)`,
    );
  return {
    now: now.toISOString(),
    source: summary.source,
    config_source: configSource,
    counts: {
      ...countStatuses(fleet),
      eligible,
      pending: fleet.length - eligible,
      rejected: summary.rejected.length,
    },
    servers: fleet.map((s) => ({
      name: s.name,
      profile: s.profile,
      status: s.status,
      first_seen: s.firstSeen.toISOString(),
      last_seen: s.lastSeen.toISOString(),
      days_silent: round2(s.daysSilent),
      samples: s.samples,
      history_days: round2(s.historyDays),
      eligible: s.eligible,
      eligible_at: s.eligibleAt?.toISOString() ?? null,
    })),
    rejected_servers: summary.rejected.map((r) => ({
      value: boundedValue(r.value),
      problem: r.problem,
      samples: r.samples,
    })),
    collection: {
      status: collection.status,
      newest_sample: collection.newest?.toISOString() ?? null,
      silent_hours: round2(collection.silentHours),
      as_of: collection.asOf.toISOString(),
    },
    warnings,
  };
}

/** The human table: one line per server, then the counts. */
export function renderFleetText(report: FleetReport): string {
  const header = [
    'SERVER',
    'PROFILE',
    'STATUS',
    'LAST SEEN',
    'SILENT(d)',
    'SAMPLES',
    'HISTORY(d)',
    'ELIGIBLE',
  ];
  const rows = report.servers.map((s) => [
    s.name,
    s.profile,
    s.status,
    s.last_seen.slice(0, 16).replace('T', ' '),
    s.days_silent.toFixed(2),
    String(s.samples),
    s.history_days.toFixed(2),
    s.eligible ? 'yes' : `no${s.eligible_at ? ` (${s.eligible_at.slice(0, 10)})` : ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const c = report.counts;
  const out = [line(header), ...rows.map(line), ''];
  out.push(
    `${c.total} servers at ${report.collection.status === 'stale' ? `${report.collection.as_of} (the newest sample; the source is stale at ${report.now})` : report.now}: ${c.active} active, ${c.offline} offline, ${c.sunset_candidate} sunset candidate, ` +
      `${c.sunset_confirmed} sunset confirmed; ${c.eligible} eligible for training, ${c.pending} pending`,
  );
  for (const w of report.warnings) out.push(`warning: ${w}`);
  return `${out.join('\n')}\n`;
}
