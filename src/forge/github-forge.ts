import { connectGitHub, type GitHubForgeOptions, type GitHubRepo } from './github-client.js';
import * as git from './github-git.js';
import * as issues from './github-issues.js';
import * as pulls from './github-pulls.js';
import * as statuses from './github-statuses.js';
import * as workflows from './github-workflows.js';
import type {
  BranchCommit,
  CommitInfo,
  CommitStatus,
  DeploymentStatus,
  NewDeployment,
  DatedCommit,
  FailedJob,
  Forge,
  Issue,
  IssueUpdate,
  NewIssue,
  NewPullRequest,
  PullRequest,
  PullRequestUpdate,
  WorkflowRun,
} from './types.js';

/**
 * The Forge on GitHub: pull requests (github-pulls.ts), git data (github-git.ts), issues
 * (github-issues.ts) and workflow dispatch and runs (github-workflows.ts) through the
 * one Octokit client github-client.ts builds; every failure is a ForgeError with the HTTP status.
 */
export class GitHubForge implements Forge {
  readonly kind = 'github';

  private constructor(private readonly gh: GitHubRepo) {}

  static create(options: GitHubForgeOptions): GitHubForge {
    return new GitHubForge(connectGitHub(options));
  }

  findOpenPullRequest(head: string, base: string): Promise<PullRequest | undefined> {
    return pulls.findOpenPullRequest(this.gh, head, base);
  }

  findLastClosedPullRequest(head: string, base: string): Promise<PullRequest | undefined> {
    return pulls.findLastClosedPullRequest(this.gh, head, base);
  }

  createPullRequest(input: NewPullRequest): Promise<PullRequest> {
    return pulls.createPullRequest(this.gh, input);
  }

  updatePullRequest(number: number, update: PullRequestUpdate): Promise<PullRequest> {
    return pulls.updatePullRequest(this.gh, number, update);
  }

  setLabels(number: number, labels: string[]): Promise<void> {
    return pulls.setLabels(this.gh, number, labels);
  }

  closePullRequest(number: number): Promise<void> {
    return pulls.closePullRequest(this.gh, number);
  }

  mergePullRequest(number: number, message: string): Promise<string> {
    return pulls.mergePullRequest(this.gh, number, message);
  }

  comment(number: number, body: string): Promise<void> {
    return pulls.comment(this.gh, number, body);
  }

  listComments(number: number): Promise<string[]> {
    return pulls.listComments(this.gh, number);
  }

  upsertComment(number: number, marker: string, body: string): Promise<'created' | 'updated' | 'unchanged'> {
    return pulls.upsertComment(this.gh, number, marker, body);
  }

  getBranchSha(branch: string): Promise<string | undefined> {
    return git.getBranchSha(this.gh, branch);
  }

  readFile(ref: string, path: string): Promise<string | undefined> {
    return git.readFile(this.gh, ref, path);
  }

  fileId(ref: string, path: string): Promise<string | undefined> {
    return git.fileId(this.gh, ref, path);
  }

  commitFiles(change: BranchCommit): Promise<string> {
    return git.commitFiles(this.gh, change);
  }

  deleteBranch(branch: string): Promise<void> {
    return git.deleteBranch(this.gh, branch);
  }

  commitsBetween(base: string, head: string): Promise<CommitInfo[]> {
    return git.commitsBetween(this.gh, base, head);
  }

  fileHistory(ref: string, path: string, limit: number): Promise<DatedCommit[]> {
    return git.fileHistory(this.gh, ref, path, limit);
  }

  findIssue(label: string, title: string): Promise<Issue | undefined> {
    return issues.findIssue(this.gh, label, title);
  }

  createIssue(input: NewIssue): Promise<Issue> {
    return issues.createIssue(this.gh, input);
  }

  updateIssue(number: number, update: IssueUpdate): Promise<Issue> {
    return issues.updateIssue(this.gh, number, update);
  }

  async closeIssue(number: number): Promise<void> {
    await issues.updateIssue(this.gh, number, { state: 'closed' });
  }

  dispatchWorkflow(workflow: string, ref: string, inputs: Readonly<Record<string, string>>): Promise<void> {
    return workflows.dispatchWorkflow(this.gh, workflow, ref, inputs);
  }

  listWorkflowRuns(workflow: string, limit: number): Promise<WorkflowRun[]> {
    return workflows.listWorkflowRuns(this.gh, workflow, limit);
  }

  failedJobs(runId: number): Promise<FailedJob[]> {
    return workflows.failedJobs(this.gh, runId);
  }

  setCommitStatus(sha: string, status: CommitStatus): Promise<void> {
    return statuses.setCommitStatus(this.gh, sha, status);
  }

  commitStatus(sha: string, context: string): Promise<CommitStatus | undefined> {
    return statuses.commitStatus(this.gh, sha, context);
  }

  createDeployment(input: NewDeployment): Promise<number> {
    return statuses.createDeployment(this.gh, input);
  }

  setDeploymentStatus(id: number, status: DeploymentStatus): Promise<void> {
    return statuses.setDeploymentStatus(this.gh, id, status);
  }
}
