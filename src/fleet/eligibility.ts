import { MS_PER_DAY } from '../metrics/contract.js';

/**
 * Training eligibility (the design's Phase 1 data validation): a server needs enough history and enough samples before a
 * model can learn it; until then it is "pending" and stays out of the manifest.
 */
export interface EligibilityPolicy {
  minimumHistoryDays: number;
  minimumSamples: number;
}

export const DEFAULT_ELIGIBILITY_POLICY: EligibilityPolicy = { minimumHistoryDays: 7, minimumSamples: 1000 };

export interface EligibilityInput {
  firstSeen: Date;
  lastSeen: Date;
  samples: number;
}

export interface Eligibility {
  eligible: boolean;
  /** last_seen − first_seen, in days. */
  historyDays: number;
  /**
   * When the server becomes eligible if it keeps reporting at its observed rate; null when
   * already eligible or when the rate is unknown (a single sample).
   */
  eligibleAt: Date | null;
  /** Why it is not eligible yet, in words; empty when eligible. */
  reasons: string[];
}

export function assessEligibility(server: EligibilityInput, policy: EligibilityPolicy): Eligibility {
  const spanMs = Math.max(0, server.lastSeen.getTime() - server.firstSeen.getTime());
  const historyDays = spanMs / MS_PER_DAY;
  const reasons: string[] = [];
  const enoughHistory = historyDays >= policy.minimumHistoryDays;
  const enoughSamples = server.samples >= policy.minimumSamples;
  if (!enoughHistory)
    // Rounded down, so 6.97 days never reads as "7.0 days (needs 7)".
    reasons.push(
      `${(Math.floor(historyDays * 10) / 10).toFixed(1)} days of history (needs ${policy.minimumHistoryDays})`,
    );
  if (!enoughSamples) reasons.push(`${server.samples} samples (needs ${policy.minimumSamples})`);
  if (enoughHistory && enoughSamples) return { eligible: true, historyDays, eligibleAt: null, reasons };

  const historyReadyMs = server.firstSeen.getTime() + policy.minimumHistoryDays * MS_PER_DAY;
  let samplesReadyMs = server.lastSeen.getTime();
  if (!enoughSamples) {
    if (server.samples < 2 || spanMs === 0)
      return { eligible: false, historyDays, eligibleAt: null, reasons };
    const msPerSample = spanMs / (server.samples - 1);
    samplesReadyMs += Math.ceil((policy.minimumSamples - server.samples) * msPerSample);
  }
  return {
    eligible: false,
    historyDays,
    eligibleAt: new Date(Math.max(historyReadyMs, samplesReadyMs)),
    reasons,
  };
}
