import { Octokit } from '@octokit/rest';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { createLogger } from '../core/logger.js';
import { BranchMovedError, ForgeError } from './errors.js';
import type {
  BranchCommit,
  CommitInfo,
  Forge,
  NewPullRequest,
  PullRequest,
  PullRequestUpdate,
} from './types.js';

const FleetcastOctokit = Octokit.plugin(retry, throttling);
type Client = InstanceType<typeof FleetcastOctokit>;

export interface GitHubForgeOptions {
  token: string;
  /** `owner/name`. */
  repository: string;
  /** REST API root; `https://api.github.com` by default, GHES or a local test server otherwise. */
  baseUrl?: string;
  /** Retries of 5xx/429 responses and of secondary rate limits. */
  retries?: number;
  /** Scales every retry delay (milliseconds per second of `retry-after`); tests lower it. */
  retryBaseMs?: number;
}

interface RawPull {
  number: number;
  title: string;
  body?: string | null;
  head: { ref: string; sha: string };
  base: { ref: string };
  state: string;
  merged_at?: string | null;
  labels: Array<{ name?: string } | string>;
  html_url: string;
}

const log = createLogger('forge');

/**
 * The only module that creates an Octokit client: @octokit/rest with the retry plugin (5xx, 429)
 * and the throttling plugin (primary and secondary rate limits, write pacing).
 */
export class GitHubForge implements Forge {
  readonly kind = 'github';
  private readonly owner: string;
  private readonly repo: string;

  private constructor(
    private readonly client: Client,
    repository: string,
  ) {
    const [owner, repo] = repository.split('/');
    this.owner = owner!;
    this.repo = repo!;
  }

  static create(options: GitHubForgeOptions): GitHubForge {
    if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(options.repository)) {
      throw new ForgeError(
        'connect',
        `repository must be owner/name, got ${JSON.stringify(options.repository)}`,
      );
    }
    if (options.token === '') throw new ForgeError('connect', 'a GitHub token is required');
    const retries = options.retries ?? 3;
    const baseMs = options.retryBaseMs ?? 1000;
    const client = new FleetcastOctokit({
      auth: options.token,
      baseUrl: options.baseUrl ?? 'https://api.github.com',
      userAgent: 'fleetcast',
      log: {
        debug: (message: string) => log.debug(message),
        info: (message: string) => log.debug(message),
        warn: (message: string) => log.warn(message),
        error: (message: string) => log.error(message),
      },
      retry: { retries, retryAfterBaseValue: baseMs },
      throttle: {
        retryAfterBaseValue: baseMs,
        onRateLimit: (retryAfter, request, _octokit, retryCount) => {
          log.warn({ retryAfter, method: request.method, url: request.url }, 'GitHub rate limit hit');
          return retryCount < retries;
        },
        onSecondaryRateLimit: (retryAfter, request, _octokit, retryCount) => {
          log.warn(
            { retryAfter, method: request.method, url: request.url },
            'GitHub secondary rate limit hit',
          );
          return retryCount < retries;
        },
      },
    });
    return new GitHubForge(client, options.repository);
  }

  private get repoParams(): { owner: string; repo: string } {
    return { owner: this.owner, repo: this.repo };
  }

  /** Runs one API call, turning Octokit's RequestError into a ForgeError with the status. */
  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toForgeError(operation, error);
    }
  }

  async findOpenPullRequest(head: string, base: string): Promise<PullRequest | undefined> {
    return this.call(`find pull request ${head} -> ${base}`, async () => {
      const { data } = await this.client.rest.pulls.list({
        ...this.repoParams,
        state: 'open',
        head: `${this.owner}:${head}`,
        base,
        per_page: 100,
      });
      const found = (data as RawPull[]).find((pr) => pr.head.ref === head && pr.base.ref === base);
      return found === undefined ? undefined : toPullRequest(found);
    });
  }

  async findLastClosedPullRequest(head: string, base: string): Promise<PullRequest | undefined> {
    return this.call(`find closed pull request ${head} -> ${base}`, async () => {
      const { data } = await this.client.rest.pulls.list({
        ...this.repoParams,
        state: 'closed',
        head: `${this.owner}:${head}`,
        base,
        sort: 'created',
        direction: 'desc',
        per_page: 20,
      });
      const mine = (data as RawPull[]).filter((pr) => pr.head.ref === head && pr.base.ref === base);
      const last = mine.sort((a, b) => b.number - a.number)[0];
      return last === undefined ? undefined : toPullRequest(last);
    });
  }

  async createPullRequest(input: NewPullRequest): Promise<PullRequest> {
    const pr = await this.call(`create pull request ${input.head} -> ${input.base}`, async () => {
      const { data } = await this.client.rest.pulls.create({
        ...this.repoParams,
        head: input.head,
        base: input.base,
        title: input.title,
        body: input.body,
      });
      return toPullRequest(data as RawPull);
    });
    if (input.labels.length > 0) await this.setLabels(pr.number, input.labels);
    return { ...pr, labels: [...input.labels] };
  }

  async updatePullRequest(number: number, update: PullRequestUpdate): Promise<PullRequest> {
    return this.call(`update pull request #${number}`, async () => {
      const { data } = await this.client.rest.pulls.update({
        ...this.repoParams,
        pull_number: number,
        ...update,
      });
      return toPullRequest(data as RawPull);
    });
  }

  async setLabels(number: number, labels: string[]): Promise<void> {
    await this.call(`set labels on #${number}`, () =>
      this.client.rest.issues.setLabels({ ...this.repoParams, issue_number: number, labels }),
    );
  }

  async closePullRequest(number: number): Promise<void> {
    await this.call(`close pull request #${number}`, () =>
      this.client.rest.pulls.update({ ...this.repoParams, pull_number: number, state: 'closed' }),
    );
  }

  async mergePullRequest(number: number, message: string): Promise<string> {
    return this.call(`merge pull request #${number}`, async () => {
      const { data } = await this.client.rest.pulls.merge({
        ...this.repoParams,
        pull_number: number,
        commit_title: message,
        merge_method: 'merge',
      });
      return data.sha;
    });
  }

  async comment(number: number, body: string): Promise<void> {
    await this.call(`comment on #${number}`, () =>
      this.client.rest.issues.createComment({ ...this.repoParams, issue_number: number, body }),
    );
  }

  async listComments(number: number): Promise<string[]> {
    return this.call(`list comments of #${number}`, async () => {
      const comments = await this.client.paginate(this.client.rest.issues.listComments, {
        ...this.repoParams,
        issue_number: number,
        per_page: 100,
      });
      return comments.map((c) => c.body ?? '');
    });
  }

  async getBranchSha(branch: string): Promise<string | undefined> {
    try {
      const { data } = await this.client.rest.git.getRef({ ...this.repoParams, ref: `heads/${branch}` });
      return data.object.sha;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw toForgeError(`read branch ${branch}`, error);
    }
  }

  async readFile(ref: string, path: string): Promise<string | undefined> {
    let data: unknown;
    try {
      ({ data } = await this.client.rest.repos.getContent({ ...this.repoParams, path, ref }));
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw toForgeError(`read ${path} at ${ref}`, error);
    }
    const file = data as { type?: string; encoding?: string; content?: string; sha?: string };
    if (Array.isArray(data) || file.type !== 'file') {
      throw new ForgeError(`read ${path} at ${ref}`, 'not a regular file');
    }
    if (file.encoding === 'base64' && file.content !== undefined) {
      return Buffer.from(file.content, 'base64').toString('utf8');
    }
    // Files over 1 MB come back without content: fetch the blob instead.
    return this.call(`read blob of ${path}`, async () => {
      const blob = await this.client.rest.git.getBlob({ ...this.repoParams, file_sha: file.sha ?? '' });
      return Buffer.from(blob.data.content, 'base64').toString('utf8');
    });
  }

  async commitFiles(change: BranchCommit): Promise<string> {
    const op = `commit to ${change.branch}`;
    const parent = await this.call(op, () =>
      this.client.rest.git.getCommit({ ...this.repoParams, commit_sha: change.parentSha }),
    );
    const tree = await this.call(op, () =>
      this.client.rest.git.createTree({
        ...this.repoParams,
        base_tree: parent.data.tree.sha,
        tree: Object.entries(change.files).map(([path, content]) =>
          content === null
            ? { path, mode: '100644' as const, type: 'blob' as const, sha: null }
            : { path, mode: '100644' as const, type: 'blob' as const, content },
        ),
      }),
    );
    const commit = await this.call(op, () =>
      this.client.rest.git.createCommit({
        ...this.repoParams,
        message: change.message,
        tree: tree.data.sha,
        parents: [change.parentSha],
        author: change.author,
      }),
    );
    // The REST API has no compare-and-swap on refs: re-read right before moving the branch.
    const current = await this.getBranchSha(change.branch);
    if ((current ?? null) !== change.expectedHeadSha) {
      throw new BranchMovedError(change.branch, change.expectedHeadSha, current);
    }
    if (current === undefined) {
      await this.call(op, () =>
        this.client.rest.git.createRef({
          ...this.repoParams,
          ref: `refs/heads/${change.branch}`,
          sha: commit.data.sha,
        }),
      );
    } else {
      await this.call(op, () =>
        this.client.rest.git.updateRef({
          ...this.repoParams,
          ref: `heads/${change.branch}`,
          sha: commit.data.sha,
          force: true,
        }),
      );
    }
    return commit.data.sha;
  }

  async deleteBranch(branch: string): Promise<void> {
    try {
      await this.client.rest.git.deleteRef({ ...this.repoParams, ref: `heads/${branch}` });
    } catch (error) {
      const status = statusOf(error);
      if (status === 404 || status === 422) return; // already gone
      throw toForgeError(`delete branch ${branch}`, error);
    }
  }

  async commitsBetween(base: string, head: string): Promise<CommitInfo[]> {
    return this.call(`compare ${base}...${head}`, async () => {
      const { data } = await this.client.rest.repos.compareCommitsWithBasehead({
        ...this.repoParams,
        basehead: `${base}...${head}`,
        per_page: 100,
      });
      return data.commits.map((c) => ({
        sha: c.sha,
        message: c.commit.message,
        author: { name: c.commit.author?.name ?? '', email: c.commit.author?.email ?? '' },
      }));
    });
  }
}

function toPullRequest(raw: RawPull): PullRequest {
  return {
    number: raw.number,
    title: raw.title,
    body: raw.body ?? '',
    head: raw.head.ref,
    base: raw.base.ref,
    headSha: raw.head.sha,
    state: raw.state === 'open' ? 'open' : 'closed',
    merged: Boolean(raw.merged_at),
    labels: raw.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter((l) => l !== ''),
    url: raw.html_url,
  };
}

function statusOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'status' in error) {
    const status = (error as { status: unknown }).status;
    if (typeof status === 'number') return status;
  }
  return undefined;
}

/** Octokit's RequestError (status, message) becomes a ForgeError; the response body is never logged. */
export function toForgeError(operation: string, error: unknown): ForgeError {
  if (error instanceof ForgeError) return error;
  const status = statusOf(error);
  const message = error instanceof Error ? error.message : String(error);
  return new ForgeError(operation, status === undefined ? message : `GitHub answered ${status}: ${message}`, {
    status,
    cause: error,
  });
}
