import { proposedManifestText } from '../drift/manifest-proposal.js';
import { describeModelAge } from '../drift/model-age.js';
import type { DriftReport, Priority } from '../drift/types.js';
import { sha256Text } from '../registry/checksums.js';
import type { DriftPrBody } from './drift-pr-body.js';

export interface DriftProposal {
  retrain: boolean;
  priority: Priority;
  reasons: string[];
  manifestText: string;
  body: DriftPrBody;
}

/** What the pull request should say and contain, from a report; `force` proposes even below thresholds. */
export function proposalFromReport(report: DriftReport, manifestPath: string, force: boolean): DriftProposal {
  const manifestText = proposedManifestText(report);
  const priority = report.decision.priority;
  const reasons = [...report.decision.reasons];
  const retrain = report.decision.retrain || force;
  if (force && !report.decision.retrain) reasons.push('retraining forced by a manual run (force: true)');
  const table = (servers: ReadonlyArray<{ name: string }>) => ({
    names: servers.map((s) => s.name).sort(),
    total: servers.length,
  });
  return {
    retrain,
    priority,
    reasons,
    manifestText,
    body: {
      priority,
      driftPct: report.drift_pct,
      fleetSize: report.manifest.servers.length,
      unknownRatePct: report.unknown_rate?.rate_pct ?? null,
      modelId: report.model.id,
      modelAgeDays: report.model_age_days,
      modelAge: describeModelAge(report.model, report.now),
      stale: report.stale,
      thresholds: { ...report.thresholds },
      reasons,
      manifestPath,
      manifestSha256: sha256Text(manifestText),
      newServers: table(report.new_servers),
      sunsetServers: table(report.sunset_servers),
      pendingServers: table(report.pending_servers),
    },
  };
}
