import { sha256Text } from '../registry/checksums.js';
import { BranchMovedError } from '../forge/errors.js';
import type { CommitAuthor, CommitInfo, Forge, PullRequest } from '../forge/types.js';
import { driftBranchName } from './branch-names.js';
import {
  driftPrLabels,
  driftPrTitle,
  parseDriftPrBody,
  renderDriftPrBody,
  type DriftPrBody,
} from './drift-pr-body.js';
import {
  blockedMarker,
  CLOSED_BY_BOT,
  driftCommitMessage,
  isBotCommit,
  mergeLabels,
  normalizeBody,
  sameLabels,
} from './drift-bot.js';
import { escapeMarkdown } from './markdown.js';

export type DriftPrOperation = 'created' | 'updated' | 'unchanged' | 'closed';

export interface DriftPrSettings {
  base: string;
  manifestPath: string;
  bot: CommitAuthor;
  dryRun: boolean;
}

/** What the drift check wants: a PR with this body and manifest, or no PR (with the reason why). */
export type DesiredDriftPr =
  { retrain: true; body: DriftPrBody; manifestText: string } | { retrain: false; reason: string };

export interface DriftPrOutcome {
  operation: DriftPrOperation;
  branch: string;
  pullRequest: { number: number; url: string } | undefined;
  /** The manifest commit was pushed to the branch in this run. */
  pushed: boolean;
  /** Commits by others on the branch kept the bot from updating it. */
  blockedBy: CommitInfo[];
  dryRun: boolean;
  notes: string[];
}

/** What the forge says now: the base, the open pull request and the bot's branch. */
interface DriftPrState {
  branch: string;
  baseSha: string;
  pr: PullRequest | undefined;
  branchSha: string | undefined;
  baseManifest: string | undefined;
  /** Commits on the branch the bot did not write; read once, only when a decision depends on them. */
  foreignCommits(): Promise<CommitInfo[]>;
}

/**
 * Brings the one drift pull request in line with the drift check: creates it, updates it in place,
 * leaves it alone when nothing changed, or closes it (with a comment) when the drift is gone.
 * The branch is rebuilt on the base branch only while every commit on it is the bot's; a commit by
 * anyone else is never overwritten: the bot comments instead.
 */
export async function reconcileDriftPr(
  forge: Forge,
  desired: DesiredDriftPr,
  settings: DriftPrSettings,
): Promise<DriftPrOutcome> {
  const state = await readState(forge, settings);
  const outcome = (
    operation: DriftPrOperation,
    pr: PullRequest | undefined,
    extra: Partial<DriftPrOutcome> = {},
  ): DriftPrOutcome => ({
    operation,
    branch: state.branch,
    pullRequest: pr === undefined ? undefined : { number: pr.number, url: pr.url },
    pushed: false,
    blockedBy: [],
    dryRun: settings.dryRun,
    notes: [],
    ...extra,
  });

  const closeReason = !desired.retrain
    ? desired.reason
    : state.baseManifest === desired.manifestText
      ? `${settings.base} already has this fleet manifest`
      : undefined;
  if (closeReason !== undefined) {
    if (state.pr === undefined) return outcome('unchanged', undefined, { notes: [closeReason] });
    if (!settings.dryRun) await closeDriftPr(forge, state, state.pr, closeReason);
    return outcome('closed', state.pr, { notes: [closeReason] });
  }
  if (!desired.retrain) throw new Error('unreachable');

  const manifestSha = sha256Text(desired.manifestText);
  if (state.pr === undefined) {
    const note = await rejectedBefore(forge, state.branch, settings.base, manifestSha);
    if (note !== undefined) return outcome('unchanged', undefined, { notes: [note] });
  }
  const push = await pushManifest(forge, state, desired, settings);
  const { operation, pr } = await upsertPullRequest(forge, state, desired.body, push.pushed, settings);
  if (push.blocked && pr !== undefined && !settings.dryRun)
    await commentBlocked(forge, pr.number, state.branch, push.foreign, manifestSha, settings.manifestPath);
  return outcome(operation, pr, {
    pushed: push.pushed,
    blockedBy: push.blocked ? push.foreign : [],
    notes: push.notes,
  });
}

async function readState(forge: Forge, settings: DriftPrSettings): Promise<DriftPrState> {
  const branch = driftBranchName(settings.base);
  const baseSha = await forge.getBranchSha(settings.base);
  if (baseSha === undefined) throw new Error(`base branch ${settings.base} does not exist`);
  const pr = await forge.findOpenPullRequest(branch, settings.base);
  const branchSha = await forge.getBranchSha(branch);
  let foreignCache: CommitInfo[] | undefined;
  const foreignCommits = async (): Promise<CommitInfo[]> => {
    foreignCache ??=
      branchSha === undefined
        ? []
        : (await forge.commitsBetween(baseSha, branchSha)).filter((c) => !isBotCommit(c, settings.bot));
    return foreignCache;
  };
  const baseManifest = await forge.readFile(baseSha, settings.manifestPath);
  return { branch, baseSha, pr, branchSha, baseManifest, foreignCommits };
}

/** Closes the PR with a comment saying why; the branch goes too unless someone else committed to it. */
async function closeDriftPr(
  forge: Forge,
  state: DriftPrState,
  pr: PullRequest,
  reason: string,
): Promise<void> {
  await forge.comment(
    pr.number,
    `${CLOSED_BY_BOT}\nFleetcast closes this pull request: ${escapeMarkdown(reason)}. ` +
      'A later drift check opens a new one if the fleet drifts again.',
  );
  await forge.closePullRequest(pr.number);
  if ((await state.foreignCommits()).length === 0) await forge.deleteBranch(state.branch);
}

/**
 * A person closed the last drift PR without merging it: do not reopen the same proposal. Returns
 * the note saying so, or undefined when a new PR may be opened.
 */
async function rejectedBefore(
  forge: Forge,
  branch: string,
  base: string,
  manifestSha: string,
): Promise<string | undefined> {
  const closed = await forge.findLastClosedPullRequest(branch, base);
  if (
    closed !== undefined &&
    !closed.merged &&
    parseDriftPrBody(closed.body)?.manifestSha256 === manifestSha &&
    !(await forge.listComments(closed.number)).some((c) => c.includes(CLOSED_BY_BOT))
  )
    return `#${closed.number} proposed this same manifest and was closed without merging; not reopening it until the proposal changes`;
  return undefined;
}

interface PushResult {
  /** The manifest commit is on the branch now (or would be, in a dry run). */
  pushed: boolean;
  /** Commits by others kept the bot from updating the branch. */
  blocked: boolean;
  foreign: CommitInfo[];
  notes: string[];
}

/** Rebuilds the branch on the base with the desired manifest, unless it has it or others' commits. */
async function pushManifest(
  forge: Forge,
  state: DriftPrState,
  desired: Extract<DesiredDriftPr, { retrain: true }>,
  settings: DriftPrSettings,
): Promise<PushResult> {
  const notes: string[] = [];
  const branchManifest =
    state.branchSha === undefined ? undefined : await forge.readFile(state.branchSha, settings.manifestPath);
  const needPush = branchManifest !== desired.manifestText;
  const foreign = needPush ? await state.foreignCommits() : [];
  let blocked = needPush && foreign.length > 0;
  let pushed = false;
  if (needPush && !blocked && !settings.dryRun) {
    try {
      await forge.commitFiles({
        branch: state.branch,
        parentSha: state.baseSha,
        files: { [settings.manifestPath]: desired.manifestText },
        message: driftCommitMessage(desired.body),
        author: settings.bot,
        expectedHeadSha: state.branchSha ?? null,
      });
      pushed = true;
    } catch (error) {
      if (!(error instanceof BranchMovedError)) throw error;
      blocked = true;
      notes.push(error.message);
    }
  } else if (needPush && !blocked) {
    pushed = true; // what a real run would do
  }
  if (blocked) notes.push(`branch ${state.branch} has commits by others; not updating it`);
  return { pushed, blocked, foreign, notes };
}

/** Opens the PR, or updates its title, body and labels where they differ from the desired ones. */
async function upsertPullRequest(
  forge: Forge,
  { branch, pr }: Pick<DriftPrState, 'branch' | 'pr'>,
  desired: DriftPrBody,
  pushed: boolean,
  settings: DriftPrSettings,
): Promise<{ operation: DriftPrOperation; pr: PullRequest | undefined }> {
  const title = driftPrTitle(desired);
  const body = renderDriftPrBody(desired);
  if (pr === undefined) {
    const created = settings.dryRun
      ? undefined
      : await forge.createPullRequest({
          head: branch,
          base: settings.base,
          title,
          body,
          labels: driftPrLabels(desired.priority),
        });
    return { operation: 'created', pr: created };
  }
  const labels = mergeLabels(pr.labels, driftPrLabels(desired.priority));
  const textChanged = pr.title !== title || normalizeBody(pr.body) !== normalizeBody(body);
  const labelsChanged = !sameLabels(pr.labels, labels);
  let current = pr;
  if (!settings.dryRun) {
    if (textChanged) current = await forge.updatePullRequest(pr.number, { title, body });
    if (labelsChanged) await forge.setLabels(current.number, labels);
  }
  return { operation: textChanged || labelsChanged || pushed ? 'updated' : 'unchanged', pr: current };
}

/** Says, once per proposal, why the branch was left alone and how to unblock it. */
async function commentBlocked(
  forge: Forge,
  number: number,
  branch: string,
  foreign: readonly CommitInfo[],
  manifestSha: string,
  manifestPath: string,
): Promise<void> {
  const marker = blockedMarker(manifestSha);
  const comments = await forge.listComments(number);
  if (comments.some((c) => c.includes(marker))) return;
  const who = foreign
    .slice(0, 10)
    .map((c) => `- ${c.sha.slice(0, 7)} by ${escapeMarkdown(c.author.name || c.author.email)}`)
    .join('\n');
  await forge.comment(
    number,
    `${marker}\nFleetcast did not update \`${branch}\`: it has commits that Fleetcast did not write, ` +
      `and it never overwrites them.\n\n${who}\n\nThe latest drift check proposes a different ` +
      `\`${manifestPath.replace(/`/g, '')}\` (sha256 \`${manifestSha.slice(0, 12)}\`); ` +
      'the description above is current. Merge this pull request as it is, or drop your commits ' +
      '(or close the pull request) and the next drift check will update the branch.',
  );
}
