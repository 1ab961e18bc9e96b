import { MODEL_TRAILER, ROLLED_BACK_TRAILER } from './deploy-history.js';
import { formatLiveRecord, LIVE_RECORD_TRAILER, type LiveRecordResult } from './live-record.js';

export interface DeployFacts {
  modelId: string;
  previousModelId: string | null;
  fleetSize: number;
  coveragePct: number;
  qRisk: number | null;
  registryDir: string;
  reason: string;
  /** Workflow run that produced the model, for the audit trail. */
  runUrl?: string;
  /** More body lines and trailers (a candidate promotion's reasons and live numbers). */
  extra?: { lines: string[]; trailers: string[] };
  /** The live accuracy the previous model reached while serving (live-record.ts); absent: not read. */
  previousLive?: LiveRecordResult;
}

/** What a message says when the caller read no live record. */
const NOT_READ: LiveRecordResult = { none: 'no service URL given' };

/** One deploy commit: subject names model, fleet size, coverage and q-risk; trailers are machine-readable. */
export function deployCommitMessage(facts: DeployFacts): string {
  const qRisk = facts.qRisk === null ? 'n/a' : facts.qRisk.toFixed(4);
  const lines = [
    `deploy: ${facts.modelId} (${facts.fleetSize} servers, coverage ${facts.coveragePct.toFixed(1)}%, q-risk ${qRisk})`,
    '',
    `Adds ${facts.registryDir}/models/${facts.modelId} and points ${facts.registryDir}/current.json at it` +
      (facts.previousModelId === null ? ' (first deploy).' : ` (was ${facts.previousModelId}).`),
    `Reason: ${oneLine(facts.reason)}`,
  ];
  if (facts.runUrl) lines.push(`Run: ${facts.runUrl}`);
  lines.push(...(facts.extra?.lines ?? []).map(oneLine));
  lines.push(
    '',
    `${MODEL_TRAILER}: ${facts.modelId}`,
    `Fleetcast-Previous-Model: ${facts.previousModelId ?? 'none'}`,
    ...(facts.extra?.trailers ?? []).map(oneLine),
  );
  if (facts.previousModelId !== null)
    lines.push(
      `${LIVE_RECORD_TRAILER}: ${formatLiveRecord(facts.previousModelId, facts.previousLive ?? NOT_READ)}`,
    );
  return lines.join('\n');
}

/** `Requested-by:` of the revert verify makes on its own: automation, not a person's rollback. */
export const AUTOMATIC_ROLLBACK_REQUESTER = 'fleetcast verify (automatic rollback)';

/** `Requested-by:` of the revert live-check makes on a live regression: automation too. */
export const LIVE_REGRESSION_REQUESTER = 'fleetcast live-check (automatic rollback)';

/** Whether a revert or rollback commit was made by an automatic rollback (verify or live-check). */
export function isAutomaticRollback(message: string): boolean {
  const automatic = [AUTOMATIC_ROLLBACK_REQUESTER, LIVE_REGRESSION_REQUESTER].map(
    (r) => `Requested-by: ${r}`,
  );
  return message.split('\n').some((line) => automatic.includes(line.trim()));
}

export interface RollbackFacts {
  /** Model taken out of service. */
  from: string;
  reason: string;
  requestedBy: string;
  runUrl?: string;
  /** The live accuracy \`from\` reached while serving (live-record.ts); absent: not read. */
  live?: LiveRecordResult;
}

/** Message of a `git revert` of a deploy commit. */
export function revertCommitMessage(deploySubject: string, deploySha: string, facts: RollbackFacts): string {
  const lines = [
    `Revert "${oneLine(deploySubject)}"`,
    '',
    `This reverts commit ${deploySha}.`,
    '',
    `Reason: ${oneLine(facts.reason)}`,
    `Requested-by: ${oneLine(facts.requestedBy)}`,
  ];
  if (facts.runUrl) lines.push(`Run: ${facts.runUrl}`);
  lines.push('', `${ROLLED_BACK_TRAILER}: ${facts.from}`, liveTrailer(facts));
  return lines.join('\n');
}

/** Message of a commit that points the registry back at a named model. */
export function rollbackCommitMessage(to: string, facts: RollbackFacts): string {
  const lines = [
    `rollback: ${to} (was ${facts.from})`,
    '',
    `Points current.json back at ${to}.`,
    `Reason: ${oneLine(facts.reason)}`,
    `Requested-by: ${oneLine(facts.requestedBy)}`,
  ];
  if (facts.runUrl) lines.push(`Run: ${facts.runUrl}`);
  lines.push('', `${MODEL_TRAILER}: ${to}`, `${ROLLED_BACK_TRAILER}: ${facts.from}`, liveTrailer(facts));
  return lines.join('\n');
}

function liveTrailer(facts: RollbackFacts): string {
  return `${LIVE_RECORD_TRAILER}: ${formatLiveRecord(facts.from, facts.live ?? NOT_READ)}`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 500);
}
