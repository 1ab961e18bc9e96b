import { assessUnprofiled, boundedValue, type FleetServer } from '../fleet/assess.js';
import type { RejectedServer } from '../metrics/summary.js';
import { classifyServers, fleetCounts } from './classify.js';
import { decide } from './decision.js';
import { driftPercent, driftPriority, unknownRate } from './levels.js';
import { modelAge } from './model-age.js';
import { proposeManifestFile, type CurrentManifest } from './manifest-proposal.js';
import type { DriftReport, DriftThresholds } from './types.js';
import type { UnknownCounts } from './unknown-rate.js';
import type { ModelVocabulary } from './vocabulary.js';

/**
 * The drift engine's pure core: which servers are new, sunset, silent or pending (classify.ts),
 * how much the fleet drifted and at what level (levels.ts), the proposed manifest
 * (manifest-proposal.ts) and the retrain decision with its reasons (decision.ts), in one report.
 */

export interface DriftInput {
  now: Date;
  generatedAt: Date;
  source: string;
  configSource: string;
  fleet: readonly FleetServer[];
  rejected: readonly RejectedServer[];
  model: ModelVocabulary;
  unknownCounts: UnknownCounts | null;
  thresholds: DriftThresholds;
  /** The manifest file to compare with (path and content), if any. */
  currentManifest: CurrentManifest | null;
  warnings?: string[];
}

export function computeDrift(input: DriftInput): DriftReport {
  const { now, fleet, model, thresholds: t } = input;
  const vocabulary = new Set(model.servers);
  const servers = classifyServers(fleet, vocabulary);
  const changedCount = servers.newServers.length + servers.sunset.length;

  const driftPct = driftPercent(changedCount, vocabulary.size);
  const driftLevel = model.deployed ? driftPriority(driftPct, t) : 'none';
  const rate = input.unknownCounts === null ? null : unknownRate(input.unknownCounts, t);
  const age = modelAge(model, now);
  const ageDays = age.ageDays;
  const stale = ageDays !== null && ageDays > t.max_model_age_days && changedCount > 0;
  // Listed servers whose rows all have an invalid profile stay until sunset (docs/fleet.md).
  const unprofiled = assessUnprofiled(input.rejected, now, {
    offlineHours: t.offline_hours,
    sunsetCandidateDays: t.sunset_candidate_days,
    sunsetConfirmedDays: t.sunset_confirmed_days,
  });
  const proposal = proposeManifestFile(input.currentManifest, fleet, { unprofiled });

  const decision = decide({
    model,
    vocabularySize: vocabulary.size,
    driftPct,
    driftLevel,
    newCount: servers.newServers.length,
    sunsetCount: servers.sunset.length,
    rate,
    age,
    stale,
    pending: servers.pending,
    t,
    manifest: proposal,
  });

  return {
    format_version: 1,
    generated_at: input.generatedAt.toISOString(),
    now: now.toISOString(),
    source: input.source,
    config_source: input.configSource,
    model: {
      id: model.id,
      source: model.source,
      deployed: model.deployed,
      servers: vocabulary.size,
      trained_at: model.trainedAt === null ? null : model.trainedAt.toISOString(),
      data_end: model.trainedOn === null ? null : model.trainedOn.end.toISOString(),
      age_days: ageDays,
      age_from: age.from,
      age_note: age.note,
    },
    fleet: fleetCounts(fleet, servers.pending.length, input.rejected.length),
    drift_pct: driftPct,
    drift_priority: driftLevel,
    priority: decision.priority,
    new_servers: servers.newServers,
    sunset_servers: servers.sunset,
    silent_servers: servers.silent,
    pending_servers: servers.pending,
    rejected_servers: input.rejected.map((r) => ({
      value: boundedValue(r.value),
      problem: r.problem,
      samples: r.samples,
    })),
    unknown_rate: rate,
    model_age_days: ageDays,
    stale,
    thresholds: t,
    decision,
    reasons: decision.reasons,
    manifest: proposal.manifest,
    manifest_change: proposal.delta,
    warnings: [
      ...reportWarnings(input),
      ...(age.note === null ? [] : [`model age: ${age.note}`]),
      ...proposal.held.map((h) => `manifest change held for ${h.server}: ${h.problem}`),
    ],
  };
}

function reportWarnings(input: DriftInput): string[] {
  const warnings = [...(input.warnings ?? [])];
  const n = input.rejected.length;
  if (n > 0)
    warnings.push(
      `${n} server name${n === 1 ? '' : 's'} in the metrics ` +
        `failed validation and ${n === 1 ? 'was' : 'were'} left out (see rejected_servers)`,
    );
  return warnings;
}
