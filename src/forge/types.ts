/**
 * What Fleetcast needs from a code-hosting forge (GitHub, or a local git repository for the demo
 * and tests). Domain code depends on this interface only; GitHubForge (github-*.ts, one client
 * built in github-client.ts) is the only code that talks to the GitHub API.
 */

export interface PullRequest {
  number: number;
  title: string;
  body: string;
  /** Head branch name (without `owner:`). */
  head: string;
  base: string;
  headSha: string;
  state: 'open' | 'closed';
  merged: boolean;
  labels: string[];
  url: string;
}

export interface NewPullRequest {
  head: string;
  base: string;
  title: string;
  body: string;
  labels: string[];
}

export interface PullRequestUpdate {
  title?: string;
  body?: string;
}

export interface CommitAuthor {
  name: string;
  email: string;
}

export interface CommitInfo {
  sha: string;
  message: string;
  author: CommitAuthor;
}

/** A file's new contents: text (UTF-8), or bytes for anything else (an ONNX model). */
export type FileContent = string | Uint8Array;

/** File contents keyed by repository path; `null` deletes the file. Every file is mode 100644. */
export type FileChanges = Readonly<Record<string, FileContent | null>>;

export interface BranchCommit {
  branch: string;
  /** The new commit's only parent. */
  parentSha: string;
  files: FileChanges;
  message: string;
  /**
   * Omitted: the forge's own identity. On GitHub that is the token's App (or github-actions[bot])
   * and GitHub signs the commit, which it does only without a custom author or committer: what
   * `main` under "require signed commits" accepts. Locally, the forge's bot identity.
   */
  author?: CommitAuthor;
  /**
   * The branch head the caller inspected, or null when it expects the branch not to exist.
   * The forge refuses to move a branch that changed since (a commit pushed meanwhile).
   */
  expectedHeadSha: string | null;
}

export interface Issue {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  labels: string[];
  url: string;
}

export interface NewIssue {
  title: string;
  body: string;
  labels: string[];
}

export interface IssueUpdate {
  title?: string;
  body?: string;
  state?: 'open' | 'closed';
}

/** One run of a workflow, as far as the reconcile loop needs it. */
export interface WorkflowRun {
  id: number;
  /** The run's display title (the workflow's `run-name`), which carries the reconcile attempt id. */
  title: string;
  event: string;
  /** `queued`, `in_progress`, `waiting` (an environment approval), `pending`, `completed`, … */
  status: string;
  /** `success`, `failure`, `cancelled`, `timed_out`, … once completed; null before. */
  conclusion: string | null;
  createdAt: string;
  url: string;
}

/** A job of a completed run that did not succeed (the reconcile loop's "why it failed"). */
export interface FailedJob {
  name: string;
  conclusion: string;
}

/** A commit with its committer date, as the history of one file lists it. */
export interface DatedCommit extends CommitInfo {
  date: string;
}

/** A commit status (GitHub's "statuses" API): one state per context, the latest wins. */
export interface CommitStatus {
  context: string;
  state: 'pending' | 'success' | 'failure' | 'error';
  description: string;
  /** Where the details are (the workflow run). */
  targetUrl?: string;
}

export interface NewDeployment {
  /** The commit deployed. */
  sha: string;
  /** e.g. `fleet-forecast`. */
  environment: string;
  description: string;
}

export interface DeploymentStatus {
  state: 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';
  description: string;
  /** The deployed service. */
  environmentUrl?: string;
  /** The run that reports it. */
  logUrl?: string;
}

export interface Forge {
  /** Short name for logs and summaries: `github` or `local`. */
  readonly kind: string;
  findOpenPullRequest(head: string, base: string): Promise<PullRequest | undefined>;
  /** The most recently created closed pull request from `head` into `base`, if any. */
  findLastClosedPullRequest(head: string, base: string): Promise<PullRequest | undefined>;
  createPullRequest(input: NewPullRequest): Promise<PullRequest>;
  updatePullRequest(number: number, update: PullRequestUpdate): Promise<PullRequest>;
  /** Replaces the PR's labels. */
  setLabels(number: number, labels: string[]): Promise<void>;
  closePullRequest(number: number): Promise<void>;
  /** Merges an open PR into its base branch (used by the local demo); returns the new base head. */
  mergePullRequest(number: number, message: string): Promise<string>;
  comment(number: number, body: string): Promise<void>;
  listComments(number: number): Promise<string[]>;
  /**
   * The comment on a PR or issue that contains `marker` (a hidden `<!-- … -->`), edited in place
   * to `body`, or created when there is none: one comment that stays current, never a pile.
   */
  upsertComment(number: number, marker: string, body: string): Promise<'created' | 'updated' | 'unchanged'>;
  /** Head commit of a branch, or undefined when the branch does not exist. */
  getBranchSha(branch: string): Promise<string | undefined>;
  /** A file's text at a ref (branch or commit), or undefined when absent. */
  readFile(ref: string, path: string): Promise<string | undefined>;
  /**
   * A file's git blob id at a ref, or undefined when absent: equal ids, equal bytes (binary files
   * included, which text would not tell apart).
   */
  fileId(ref: string, path: string): Promise<string | undefined>;
  /**
   * Commits one change on `parentSha` and points `branch` at it (creating the branch if needed).
   * When `parentSha` is the expected head the branch only moves by a fast-forward (GitHub refuses
   * anything else, as branch protection does); a branch that moved meanwhile is a BranchMovedError.
   */
  commitFiles(change: BranchCommit): Promise<string>;
  deleteBranch(branch: string): Promise<void>;
  /** Commits reachable from `head` but not from `base`, oldest first. */
  commitsBetween(base: string, head: string): Promise<CommitInfo[]>;
  /** Commits on `ref` that changed `path`, newest first, at most `limit`. */
  fileHistory(ref: string, path: string, limit: number): Promise<DatedCommit[]>;

  /**
   * The issue with `label` and exactly `title`: the open one, else the most recently created
   * closed one, else undefined. Pull requests never match.
   */
  findIssue(label: string, title: string): Promise<Issue | undefined>;
  createIssue(input: NewIssue): Promise<Issue>;
  /** Changes title, body or state (reopens with `state: 'open'`). */
  updateIssue(number: number, update: IssueUpdate): Promise<Issue>;
  closeIssue(number: number): Promise<void>;

  /** Starts a `workflow_dispatch` run of `workflow` (file name, e.g. `retrain.yml`) on `ref`. */
  dispatchWorkflow(workflow: string, ref: string, inputs: Readonly<Record<string, string>>): Promise<void>;
  /** The workflow's most recent runs, newest first, at most `limit`. */
  listWorkflowRuns(workflow: string, limit: number): Promise<WorkflowRun[]>;
  /** Jobs of a run that ended other than success or skipped. */
  failedJobs(runId: number): Promise<FailedJob[]>;

  /** Sets the commit's status for `status.context` (a newer one replaces what that context said). */
  setCommitStatus(sha: string, status: CommitStatus): Promise<void>;
  /** The latest status of `context` on the commit, or undefined when it has none. */
  commitStatus(sha: string, context: string): Promise<CommitStatus | undefined>;
  /** Records a deployment of a commit to an environment; returns its id. */
  createDeployment(input: NewDeployment): Promise<number>;
  setDeploymentStatus(id: number, status: DeploymentStatus): Promise<void>;
}
