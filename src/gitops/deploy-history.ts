import type { CommitInfo } from '../forge/types.js';
import { requestedBy, revertedSha, trailer } from './trailers.js';

/** Trailer naming the model a commit points the registry at (deploy, or rollback to a model). */
export const MODEL_TRAILER = 'Fleetcast-Model';
/** Trailer naming the model a rollback commit took out of service. */
export const ROLLED_BACK_TRAILER = 'Fleetcast-Rolled-Back';

export interface RolledBack {
  modelId: string;
  /** The commit that rolled it back (a revert, or a rollback commit). */
  sha: string;
  by: string;
}

export interface DeployEvent {
  kind: 'deploy' | 'rollback' | 'revert-deploy' | 'revert-rollback' | 'other';
  sha: string;
  /** Models this commit put into service. */
  deployed: string[];
  /** Models this commit took out of service. */
  rolledBack: string[];
}

/**
 * Reads what a pointer commit did. Our own commits carry trailers; a human's `git revert` (from a
 * terminal or GitHub's Revert button) is recognised by "This reverts commit <sha>" and resolved
 * through the commit it reverts, so a hand-made revert counts exactly like the rollback workflow.
 */
export function classifyPointerCommit(
  commit: CommitInfo,
  bySha: ReadonlyMap<string, CommitInfo>,
  seen: ReadonlySet<string> = new Set(),
): DeployEvent {
  const reverted = revertedSha(commit.message);
  const found = reverted === undefined ? undefined : findCommit(bySha, reverted);
  // A malformed message could name itself, or a chain of reverts could lead back to it.
  const target = found === undefined || found.sha === commit.sha || seen.has(found.sha) ? undefined : found;
  if (target !== undefined) {
    const inner = classifyPointerCommit(target, bySha, new Set([...seen, commit.sha]));
    const explicit = trailer(commit.message, ROLLED_BACK_TRAILER);
    if (inner.kind === 'rollback' || inner.kind === 'revert-deploy') {
      // Undoing a rollback puts the rolled-back model back, and rolls nothing else back.
      return { kind: 'revert-rollback', sha: commit.sha, deployed: inner.rolledBack, rolledBack: [] };
    }
    // Undoing a deploy rolls back what it deployed.
    const rolledBack = [...new Set([...inner.deployed, ...(explicit === undefined ? [] : [explicit])])];
    return {
      kind: inner.deployed.length > 0 ? 'revert-deploy' : 'other',
      sha: commit.sha,
      deployed: [],
      rolledBack,
    };
  }
  const model = trailer(commit.message, MODEL_TRAILER);
  const rolledBack = trailer(commit.message, ROLLED_BACK_TRAILER);
  return {
    kind: rolledBack !== undefined ? 'rollback' : model !== undefined ? 'deploy' : 'other',
    sha: commit.sha,
    deployed: model === undefined ? [] : [model],
    rolledBack: rolledBack === undefined ? [] : [rolledBack],
  };
}

function findCommit(bySha: ReadonlyMap<string, CommitInfo>, sha: string): CommitInfo | undefined {
  const exact = bySha.get(sha);
  if (exact !== undefined || sha.length === 40) return exact;
  const matches = [...bySha.values()].filter((c) => c.sha.startsWith(sha));
  return matches.length === 1 ? matches[0] : undefined; // ambiguous prefixes resolve to nothing
}

/**
 * Models that are rolled back now, from the pointer's history (newest first, as `git log` gives
 * it). A rollback adds a model; deploying it again by hand (a deploy commit, a rollback *to* it, or
 * a revert of the rollback) removes it.
 */
export function rolledBackModels(historyNewestFirst: readonly CommitInfo[]): Map<string, RolledBack> {
  const bySha = new Map(historyNewestFirst.map((c) => [c.sha, c]));
  const state = new Map<string, RolledBack>();
  for (const commit of [...historyNewestFirst].reverse()) {
    const event = classifyPointerCommit(commit, bySha);
    for (const id of event.deployed) state.delete(id);
    for (const id of event.rolledBack)
      state.set(id, { modelId: id, sha: commit.sha, by: requestedBy(commit) });
  }
  return state;
}

/**
 * The rollback-respect rule: automation deploys `modelId` only if it is newer than every model a
 * person rolled back (ids sort by training start). A rolled-back model, or any model trained before
 * it, comes back only by hand.
 */
export function automatedDeployRefusal(
  modelId: string,
  rolledBack: ReadonlyMap<string, RolledBack>,
): string | undefined {
  const blocking = [...rolledBack.values()]
    .filter((r) => r.modelId >= modelId)
    .sort((a, b) => (a.modelId < b.modelId ? 1 : -1));
  const first = blocking[0];
  if (first === undefined) return undefined;
  const what =
    first.modelId === modelId
      ? `${modelId} was rolled back`
      : `${modelId} is not newer than ${first.modelId}, which was rolled back`;
  return (
    `${what} in ${first.sha.slice(0, 12)} by ${first.by}; automation does not redeploy it until a newer ` +
    'model is trained (deploy it by hand with the rollback workflow and model_id to override)'
  );
}

/** The commit that put the current pointer in place, when it is a plain deploy of `modelId`. */
export function latestDeployCommit(
  historyNewestFirst: readonly CommitInfo[],
  modelId: string,
): CommitInfo | undefined {
  const bySha = new Map(historyNewestFirst.map((c) => [c.sha, c]));
  const latest = historyNewestFirst[0];
  if (latest === undefined) return undefined;
  const event = classifyPointerCommit(latest, bySha);
  return event.kind === 'deploy' && event.deployed.includes(modelId) ? latest : undefined;
}
