import { mkdir, readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic-write.js';
import { BranchMovedError, ForgeError } from './errors.js';
import { GitStore } from './git-store.js';
import type {
  BranchCommit,
  CommitAuthor,
  CommitInfo,
  Forge,
  NewPullRequest,
  PullRequest,
  PullRequestUpdate,
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

export interface LocalForgeOptions {
  /** A git repository (bare is best: it plays the part of the remote). */
  repository: string;
  /** Where pull request records live (`<number>.json`); must be outside the repository's work tree. */
  pullsDir: string;
  /** Who merges pull requests in the demo. */
  mergeAuthor?: CommitAuthor;
}

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

  async listComments(number: number): Promise<string[]> {
    return (await this.readPull(number)).comments.map((c) => c.body);
  }

  getBranchSha(branch: string): Promise<string | undefined> {
    return this.store.branchSha(branch);
  }

  readFile(ref: string, path: string): Promise<string | undefined> {
    return this.store.readFile(ref, path);
  }

  async commitFiles(change: BranchCommit): Promise<string> {
    const tree = await this.store.writeTree(
      await this.store.treeOf(change.parentSha),
      Object.entries(change.files).map(([path, content]) => ({ path, content })),
    );
    const sha = await this.store.commitTree(tree, [change.parentSha], change.message, change.author);
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
}
