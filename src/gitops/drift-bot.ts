import type { CommitAuthor, CommitInfo } from '../forge/types.js';
import type { DriftPrBody } from './drift-pr-body.js';
import { formatCount } from './markdown.js';

/**
 * How the drift bot marks what it writes, so a later run knows its own work from a person's: the
 * trailer and message of its commits, its labels, and the markers in its comments.
 */

/** Trailer on every commit the drift bot writes; commits without it are someone else's. */
export const DRIFT_TRAILER = 'Fleetcast-Managed: drift';

export function isBotCommit(commit: CommitInfo, bot: CommitAuthor): boolean {
  return (
    commit.author.email.toLowerCase() === bot.email.toLowerCase() &&
    commit.message.split('\n').some((line) => line.trim() === DRIFT_TRAILER)
  );
}

export function driftCommitMessage(body: DriftPrBody): string {
  return [
    `fleetcast: propose fleet manifest (drift ${body.driftPct.toFixed(1)}%, ${body.priority} priority)`,
    '',
    `${formatCount(body.newServers.total)} new, ${formatCount(body.sunsetServers.total)} sunset, ` +
      `${formatCount(body.pendingServers.total)} pending servers; fleet of ${formatCount(body.fleetSize)}.`,
    '',
    DRIFT_TRAILER,
  ].join('\n');
}

/** Labels after the update: ours replaced (stale priority dropped), everyone else's kept. */
export function mergeLabels(current: readonly string[], desired: readonly string[]): string[] {
  const ours = (l: string) => l === 'fleetcast' || l === 'fleetcast:retrain' || l.startsWith('priority:');
  return [...current.filter((l) => !ours(l)), ...desired];
}

export function sameLabels(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}

/** Marks the comment the bot leaves when it closes the PR itself (so it may reopen the proposal later). */
export const CLOSED_BY_BOT = '<!-- fleetcast:closed -->';
/** A PR body as compared: line endings and trailing space as GitHub may change them. */
export const normalizeBody = (text: string) => text.replace(/\r\n/g, '\n').trimEnd();
/** Marks the comment saying the bot left a branch alone, once per proposed manifest. */
export const blockedMarker = (manifestSha: string) => `<!-- fleetcast:blocked ${manifestSha} -->`;
