import type { DriftReport } from '../drift/types.js';
import { proposalFromReport, type DriftProposal } from './drift-proposal.js';
import type { CommitAuthor, Forge } from '../forge/types.js';
import { reconcileDriftPr, type DriftPrOutcome } from './drift-pr.js';

export interface DriftPrRunSettings {
  base: string;
  manifestPath: string;
  bot: CommitAuthor;
  dryRun: boolean;
  /** Propose retraining even when no threshold is crossed. */
  force: boolean;
}

/**
 * From a drift report to the one drift pull request: what the scheduled workflow, the
 * `fleetcast drift-pr` command (Kubernetes CronJob) and the demo all do.
 */
export async function runDriftPr(
  forge: Forge,
  report: DriftReport,
  settings: DriftPrRunSettings,
): Promise<{ proposal: DriftProposal; outcome: DriftPrOutcome }> {
  const proposal = proposalFromReport(report, settings.manifestPath, settings.force);
  const outcome = await reconcileDriftPr(
    forge,
    proposal.retrain
      ? { retrain: true, body: proposal.body, manifestText: proposal.manifestText }
      : {
          retrain: false,
          reason: `fleet drift ${proposal.body.driftPct.toFixed(1)}% no longer calls for retraining`,
        },
    { base: settings.base, manifestPath: settings.manifestPath, bot: settings.bot, dryRun: settings.dryRun },
  );
  return { proposal, outcome };
}
