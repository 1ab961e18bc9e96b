import { mkdir, readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic-write.js';
import { BranchMovedError, ForgeError } from './errors.js';
import { GitStore } from './git-store.js';
import { LocalReportStore } from './local-reports.js';
import type {
  BranchCommit,
  CommitAuthor,
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

const PullRecord = z.object({
  number: z.number().int().positive(),
  title: z.string(),
  body: z.string(),
  head: z.string(),
  base: z.string(),
  state: z.enum(['open', 'closed']),
  merged: z.boolean(),
  labels: z.array(z.string()),
  comments: z.array(z.object({ body: z.string(), created_at: z.string() })),
  created_at: z.string(),
  updated_at: z.string(),
});
type PullRecord = z.infer<typeof PullRecord>;

const IssueRecord = z.object({
  number: z.number().int().positive(),
  title: z.string(),
  body: z.string(),
  state: z.enum(['open', 'closed']),
  labels: z.array(z.string()),
  created_at: z.string(),
  updated_at: z.string(),
});
type IssueRecord = z.infer<typeof IssueRecord>;

/**
 * A recorded `workflow_dispatch`: nothing runs it. Tests (and the demo) play the runner: they read
 * the record, do the work, and finish it with `finishWorkflowRun`.
 */
const RunRecord = z.object({
  id: z.number().int().positive(),
  workflow: z.string(),
  ref: z.string(),
  inputs: z.record(z.string(), z.string()),
  title: z.string(),
  event: z.string(),
  status: z.string(),
  conclusion: z.string().nullable(),
  failed_jobs: z.array(z.object({ name: z.string(), conclusion: z.string() })),
  created_at: z.string(),
});
export type LocalWorkflowRun = z.infer<typeof RunRecord>;

export interface LocalForgeOptions {
  /** A git repository (bare is best: it plays the part of the remote). */
  repository: string;
  /** Where pull request records live (`<number>.json`); must be outside the repository's work tree. */
  pullsDir: string;
  /** Who merges pull requests in the demo. */
  mergeAuthor?: CommitAuthor;
  /** Who commits when a change names no author (GitHub's App or bot, which signs its commits). */
  botAuthor?: CommitAuthor;
  /** Clock for the times it records (issues, workflow runs); tests pass a fake one. */
  now?: () => Date;
}

/** The local forge's own identity: what GitHub's App or bot is to commits without an author. */
export const LOCAL_BOT: CommitAuthor = { name: 'fleetcast[bot]', email: 'fleetcast-bot@localhost' };

/**
 * A forge made of a local git repository (branches, through simple-git) and one JSON file per pull
 * request. It serves the local demo and tests with the same semantics as GitHubForge.
 */
export class LocalForge implements Forge {
  readonly kind = 'local';

  private constructor(
    private readonly store: GitStore,
    private readonly pullsDir: string,
    private readonly mergeAuthor: CommitAuthor,
    private readonly botAuthor: CommitAuthor,
    private readonly now: () => Date,
  ) {}

  static async create(options: LocalForgeOptions): Promise<LocalForge> {
    const repository = resolve(options.repository);
    const pullsDir = resolve(options.pullsDir);
    const inside = relative(repository, pullsDir);
    if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) {
      throw new ForgeError('open local forge', `${pullsDir} must be outside the repository ${repository}`);
    }
    const store = await GitStore.create(repository).catch((error: unknown) => {
      throw new ForgeError('open local forge', `${repository} is not a git repository`, { cause: error });
    });
    await mkdir(pullsDir, { recursive: true });
    return new LocalForge(
      store,
      pullsDir,
      options.mergeAuthor ?? { name: 'Fleetcast demo', email: 'fleetcast-demo@localhost' },
      options.botAuthor ?? LOCAL_BOT,
      options.now ?? (() => new Date()),
    );
  }

  private pullPath(number: number): string {
    return join(this.pullsDir, `${number}.json`);
  }

  private async readPull(number: number): Promise<PullRecord> {
    const path = this.pullPath(number);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new ForgeError(`read pull request #${number}`, `${path} not found`, {
        status: 404,
        cause: error,
      });
    }
    const parsed = PullRecord.safeParse(JSON.parse(text));
    if (!parsed.success) throw new ForgeError(`read pull request #${number}`, `${path} is malformed`);
    return parsed.data;
  }

  private async allPulls(): Promise<PullRecord[]> {
    const names = (await readdir(this.pullsDir)).filter((n) => /^\d+\.json$/.test(n));
    const pulls = await Promise.all(names.map((n) => this.readPull(Number(n.slice(0, -5)))));
    return pulls.sort((a, b) => a.number - b.number);
  }

  private async savePull(pull: PullRecord): Promise<void> {
    await writeJsonAtomic(this.pullPath(pull.number), pull);
  }

  private async toPullRequest(pull: PullRecord): Promise<PullRequest> {
    return {
      number: pull.number,
      title: pull.title,
      body: pull.body,
      head: pull.head,
      base: pull.base,
      headSha: (await this.store.branchSha(pull.head)) ?? '',
      state: pull.state,
      merged: pull.merged,
      labels: [...pull.labels],
      url: this.pullPath(pull.number),
    };
  }

  async findOpenPullRequest(head: string, base: string): Promise<PullRequest | undefined> {
    const found = (await this.allPulls()).find(
      (p) => p.state === 'open' && p.head === head && p.base === base,
    );
    return found === undefined ? undefined : this.toPullRequest(found);
  }

  async findLastClosedPullRequest(head: string, base: string): Promise<PullRequest | undefined> {
    const closed = (await this.allPulls()).filter(
      (p) => p.state === 'closed' && p.head === head && p.base === base,
    );
    const last = closed.at(-1);
    return last === undefined ? undefined : this.toPullRequest(last);
  }

  async createPullRequest(input: NewPullRequest): Promise<PullRequest> {
    const op = `create pull request ${input.head} -> ${input.base}`;
    if ((await this.store.branchSha(input.head)) === undefined)
      throw new ForgeError(op, `branch ${input.head} does not exist`, { status: 422 });
    if ((await this.store.branchSha(input.base)) === undefined)
      throw new ForgeError(op, `branch ${input.base} does not exist`, { status: 422 });
    const pulls = await this.allPulls();
    if (pulls.some((p) => p.state === 'open' && p.head === input.head && p.base === input.base))
      throw new ForgeError(op, 'a pull request already exists for this branch', { status: 422 });
    const now = new Date().toISOString();
    const pull: PullRecord = {
      number: (pulls.at(-1)?.number ?? 0) + 1,
      title: input.title,
      body: input.body,
      head: input.head,
      base: input.base,
      state: 'open',
      merged: false,
      labels: [...input.labels],
      comments: [],
      created_at: now,
      updated_at: now,
    };
    await this.savePull(pull);
    return this.toPullRequest(pull);
  }

  async updatePullRequest(number: number, update: PullRequestUpdate): Promise<PullRequest> {
    const pull = await this.readPull(number);
    const next = { ...pull, ...update, updated_at: new Date().toISOString() };
    await this.savePull(next);
    return this.toPullRequest(next);
  }

  async setLabels(number: number, labels: string[]): Promise<void> {
    const pull = await this.readPull(number);
    await this.savePull({ ...pull, labels: [...labels], updated_at: new Date().toISOString() });
  }

  async closePullRequest(number: number): Promise<void> {
    const pull = await this.readPull(number);
    await this.savePull({ ...pull, state: 'closed', updated_at: new Date().toISOString() });
  }

  async mergePullRequest(number: number, message: string): Promise<string> {
    const op = `merge pull request #${number}`;
    const pull = await this.readPull(number);
    if (pull.state !== 'open') throw new ForgeError(op, 'pull request is not open', { status: 405 });
    const base = await this.store.branchSha(pull.base);
    const head = await this.store.branchSha(pull.head);
    if (base === undefined || head === undefined)
      throw new ForgeError(op, 'a branch is missing', { status: 422 });
    const merged = await this.store
      .mergeCommit(base, head, message, this.mergeAuthor)
      .catch((error: unknown) => {
        throw new ForgeError(op, 'merge conflict', { status: 405, cause: error });
      });
    if (!(await this.store.moveBranch(pull.base, merged, base)))
      throw new ForgeError(op, `${pull.base} moved during the merge`, { status: 409 });
    await this.savePull({ ...pull, state: 'closed', merged: true, updated_at: new Date().toISOString() });
    return merged;
  }

  async comment(number: number, body: string): Promise<void> {
    const pull = await this.readPull(number);
    const now = new Date().toISOString();
    await this.savePull({
      ...pull,
      comments: [...pull.comments, { body, created_at: now }],
      updated_at: now,
    });
  }

  async upsertComment(
    number: number,
    marker: string,
    body: string,
  ): Promise<'created' | 'updated' | 'unchanged'> {
    if (!body.includes(marker))
      throw new ForgeError(`comment on #${number}`, 'the comment body must contain its marker');
    const pull = await this.readPull(number);
    const index = pull.comments.findIndex((c) => c.body.includes(marker));
    if (index < 0) {
      await this.comment(number, body);
      return 'created';
    }
    if (pull.comments[index]!.body === body) return 'unchanged';
    const comments = pull.comments.map((c, i) => (i === index ? { ...c, body } : c));
    await this.savePull({ ...pull, comments, updated_at: new Date().toISOString() });
    return 'updated';
  }

  async listComments(number: number): Promise<string[]> {
    return (await this.readPull(number)).comments.map((c) => c.body);
  }

  getBranchSha(branch: string): Promise<string | undefined> {
    return this.store.branchSha(branch);
  }

  readFile(ref: string, path: string): Promise<string | undefined> {
    return this.store.readFile(ref, path);
  }

  fileId(ref: string, path: string): Promise<string | undefined> {
    return this.store.fileId(ref, path);
  }

  async commitFiles(change: BranchCommit): Promise<string> {
    const tree = await this.store.writeTree(
      await this.store.treeOf(change.parentSha),
      Object.entries(change.files).map(([path, content]) => ({ path, content })),
    );
    const author = change.author ?? this.botAuthor;
    const sha = await this.store.commitTree(tree, [change.parentSha], change.message, author);
    if (!(await this.store.moveBranch(change.branch, sha, change.expectedHeadSha))) {
      throw new BranchMovedError(
        change.branch,
        change.expectedHeadSha,
        await this.store.branchSha(change.branch),
      );
    }
    return sha;
  }

  deleteBranch(branch: string): Promise<void> {
    return this.store.deleteBranch(branch);
  }

  commitsBetween(base: string, head: string): Promise<CommitInfo[]> {
    return this.store.commitsBetween(base, head);
  }

  fileHistory(ref: string, path: string, limit: number): Promise<DatedCommit[]> {
    return this.store.fileHistory(ref, path, limit);
  }

  // Issues: one JSON file each in <pullsDir>/issues/.

  private issuesDir(): string {
    return join(this.pullsDir, 'issues');
  }

  private async allIssues(): Promise<IssueRecord[]> {
    const names = await readdir(this.issuesDir()).catch(() => [] as string[]);
    const issues = await Promise.all(
      names
        .filter((n) => /^\d+\.json$/.test(n))
        .map((n) => this.readRecord(join(this.issuesDir(), n), IssueRecord, `issue ${n.slice(0, -5)}`)),
    );
    return issues.sort((a, b) => a.number - b.number);
  }

  private async readRecord<T>(path: string, schema: z.ZodType<T>, what: string): Promise<T> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new ForgeError(`read ${what}`, `${path} not found`, { status: 404, cause: error });
    }
    const parsed = schema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new ForgeError(`read ${what}`, `${path} is malformed`);
    return parsed.data;
  }

  private toIssue(issue: IssueRecord): Issue {
    return {
      number: issue.number,
      title: issue.title,
      body: issue.body,
      state: issue.state,
      labels: [...issue.labels],
      url: join(this.issuesDir(), `${issue.number}.json`),
    };
  }

  /** Every issue, oldest first (tests count them). */
  async issues(): Promise<Issue[]> {
    return (await this.allIssues()).map((i) => this.toIssue(i));
  }

  async findIssue(label: string, title: string): Promise<Issue | undefined> {
    const matching = (await this.allIssues()).filter((i) => i.labels.includes(label) && i.title === title);
    const found = matching.find((i) => i.state === 'open') ?? matching.at(-1);
    return found === undefined ? undefined : this.toIssue(found);
  }

  async createIssue(input: NewIssue): Promise<Issue> {
    await mkdir(this.issuesDir(), { recursive: true });
    const now = this.now().toISOString();
    const issue: IssueRecord = {
      number: ((await this.allIssues()).at(-1)?.number ?? 0) + 1,
      title: input.title,
      body: input.body,
      state: 'open',
      labels: [...input.labels],
      created_at: now,
      updated_at: now,
    };
    await writeJsonAtomic(join(this.issuesDir(), `${issue.number}.json`), issue);
    return this.toIssue(issue);
  }

  async updateIssue(number: number, update: IssueUpdate): Promise<Issue> {
    const path = join(this.issuesDir(), `${number}.json`);
    const issue = await this.readRecord(path, IssueRecord, `issue #${number}`);
    const next = { ...issue, ...update, updated_at: this.now().toISOString() };
    await writeJsonAtomic(path, next);
    return this.toIssue(next);
  }

  async closeIssue(number: number): Promise<void> {
    await this.updateIssue(number, { state: 'closed' });
  }

  // Workflow runs: a dispatch is recorded in <pullsDir>/runs/<id>.json, and nothing runs it.

  private runsDir(): string {
    return join(this.pullsDir, 'runs');
  }

  /** Every recorded run, oldest first. */
  async workflowRuns(): Promise<LocalWorkflowRun[]> {
    const names = await readdir(this.runsDir()).catch(() => [] as string[]);
    const runs = await Promise.all(
      names
        .filter((n) => /^\d+\.json$/.test(n))
        .map((n) => this.readRecord(join(this.runsDir(), n), RunRecord, `run ${n.slice(0, -5)}`)),
    );
    return runs.sort((a, b) => a.id - b.id);
  }

  /** Records a run that was not dispatched through the API (a push trigger, a person's dispatch). */
  async recordWorkflowRun(
    workflow: string,
    event: string,
    inputs: Readonly<Record<string, string>> = {},
    ref = 'main',
  ): Promise<LocalWorkflowRun> {
    await mkdir(this.runsDir(), { recursive: true });
    const run: LocalWorkflowRun = {
      id: ((await this.workflowRuns()).at(-1)?.id ?? 0) + 1,
      workflow,
      ref,
      inputs: { ...inputs },
      // GitHub shows the workflow's run-name; the local record names the workflow and its inputs.
      title: [workflow, ...Object.entries(inputs).map(([k, v]) => `${k}=${v}`)].join(' '),
      event,
      status: 'queued',
      conclusion: null,
      failed_jobs: [],
      created_at: this.now().toISOString(),
    };
    await writeJsonAtomic(join(this.runsDir(), `${run.id}.json`), run);
    return run;
  }

  /** Moves a recorded run on: `in_progress`, `waiting`, or `completed` with a conclusion. */
  async finishWorkflowRun(
    id: number,
    status: string,
    conclusion: string | null = null,
    failedJobs: FailedJob[] = [],
  ): Promise<void> {
    const path = join(this.runsDir(), `${id}.json`);
    const run = await this.readRecord(path, RunRecord, `run ${id}`);
    await writeJsonAtomic(path, { ...run, status, conclusion, failed_jobs: failedJobs });
  }

  async dispatchWorkflow(
    workflow: string,
    ref: string,
    inputs: Readonly<Record<string, string>>,
  ): Promise<void> {
    if ((await this.store.resolve(ref)) === undefined)
      throw new ForgeError(`dispatch ${workflow}`, `No ref found for: ${ref}`, { status: 422 });
    await this.recordWorkflowRun(workflow, 'workflow_dispatch', inputs, ref);
  }

  async listWorkflowRuns(workflow: string, limit: number): Promise<WorkflowRun[]> {
    return (await this.workflowRuns())
      .filter((r) => r.workflow === workflow)
      .reverse()
      .slice(0, limit)
      .map((r) => ({
        id: r.id,
        title: r.title,
        event: r.event,
        status: r.status,
        conclusion: r.conclusion,
        createdAt: r.created_at,
        url: join(this.runsDir(), `${r.id}.json`),
      }));
  }

  async failedJobs(runId: number): Promise<FailedJob[]> {
    const run = await this.readRecord(join(this.runsDir(), `${runId}.json`), RunRecord, `run ${runId}`);
    return run.failed_jobs;
  }

  // Commit statuses and deployments: <pullsDir>/reports.json (local-reports.ts).

  /** What verify reported: every status and deployment, oldest first (tests assert on it). */
  get reports(): LocalReportStore {
    return new LocalReportStore(this.pullsDir, this.now);
  }

  setCommitStatus(sha: string, status: CommitStatus): Promise<void> {
    return this.reports.setCommitStatus(sha, status);
  }

  commitStatus(sha: string, context: string): Promise<CommitStatus | undefined> {
    return this.reports.commitStatus(sha, context);
  }

  createDeployment(input: NewDeployment): Promise<number> {
    return this.reports.createDeployment(input);
  }

  setDeploymentStatus(id: number, status: DeploymentStatus): Promise<void> {
    return this.reports.setDeploymentStatus(id, status);
  }
}
