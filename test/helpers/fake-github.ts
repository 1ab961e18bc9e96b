import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { GitStore } from '../../src/forge/git-store.js';
import { checkRequest, checkResponse, findOperation, type MatchedOperation } from './openapi-check.js';

/**
 * A local HTTP server speaking the subset of GitHub's REST API that GitHubForge uses. Repository
 * contents live in a real bare git repository (the same one tests clone and push to); pull
 * requests, comments and labels live in memory. Every request and response is checked against
 * GitHub's OpenAPI description; `violations` collects what did not match.
 */

export interface InjectedFailure {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

interface Pull {
  number: number;
  title: string;
  body: string | null;
  head: string;
  base: string;
  state: 'open' | 'closed';
  merged: boolean;
  labels: string[];
  comments: Array<{ id: number; body: string; created_at: string }>;
  created_at: string;
  updated_at: string;
}

interface FakeIssue {
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  labels: string[];
  created_at: string;
  updated_at: string;
}

export interface FakeRun {
  id: number;
  workflow: string;
  ref: string;
  inputs: Record<string, string>;
  display_title: string;
  event: string;
  status: string;
  conclusion: string | null;
  created_at: string;
  jobs: Array<{ name: string; status: string; conclusion: string | null }>;
}

/**
 * The workflow_dispatch inputs each workflow of this repository declares, read from the real
 * workflow files: a dispatch with an undeclared input fails with 422, as on GitHub.
 */
function declaredInputs(workflow: string): string[] | undefined {
  const path = new URL(`../../.github/workflows/${workflow}`, import.meta.url);
  if (!existsSync(path)) return undefined;
  const doc = parseYaml(readFileSync(path, 'utf8')) as {
    on?: { workflow_dispatch?: { inputs?: Record<string, unknown> } | null };
  };
  const dispatch = doc.on?.workflow_dispatch;
  return dispatch === undefined ? undefined : Object.keys(dispatch?.inputs ?? {});
}

export interface RequestRecord {
  method: string;
  path: string;
  operationId: string | undefined;
  status: number;
}

type Handler = (ctx: {
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
}) => Promise<[number, unknown]>;

const BOT = { name: 'github-actions[bot]', email: '41898282+github-actions[bot]@users.noreply.github.com' };

export class FakeGitHub {
  readonly owner = 'acme';
  readonly repo = 'fleet';
  readonly token = 'test-token';
  readonly pulls: Pull[] = [];
  readonly issues: FakeIssue[] = [];
  readonly runs: FakeRun[] = [];
  /** Commit statuses, oldest first. */
  readonly statuses: Array<{
    sha: string;
    context: string;
    state: string;
    description: string | null;
    target_url: string | null;
  }> = [];
  /** Deployments, each with its statuses (oldest first). */
  readonly deployments: Array<{
    id: number;
    sha: string;
    environment: string;
    description: string | null;
    statuses: Array<{ state: string; description: string; environment_url: string; log_url: string }>;
  }> = [];
  readonly requests: RequestRecord[] = [];
  readonly violations: string[] = [];
  private readonly failures: Array<{ method: string; pattern: RegExp; failure: InjectedFailure }> = [];
  /** Commits made through the API without a custom author or committer: GitHub signs those. */
  readonly signed = new Set<string>();
  /** Runs right before a ref update is applied (a test pushes here to race the API). */
  beforeRefUpdate: (() => Promise<void>) | undefined;
  private nextId = 1000;
  private server: Server | undefined;
  url = '';

  private constructor(readonly store: GitStore) {}

  static async start(bareRepository: string): Promise<FakeGitHub> {
    const fake = new FakeGitHub(await GitStore.create(bareRepository));
    const server = createServer((req, res) => void fake.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake.server = server;
    fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fake;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  get repository(): string {
    return `${this.owner}/${this.repo}`;
  }

  /** The next requests matching `method` and a path pattern fail with these responses, in order. */
  failNext(method: string, pattern: RegExp, ...failures: InjectedFailure[]): void {
    for (const failure of failures) this.failures.push({ method, pattern, failure });
  }

  openPulls(): Pull[] {
    return this.pulls.filter((p) => p.state === 'open');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
    const matched = findOperation(method, url.pathname);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      this.requests.push({ method, path: url.pathname, operationId: matched?.operation.operationId, status });
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(payload === undefined ? '' : JSON.stringify(payload));
    };
    if (matched === undefined) {
      this.violations.push(`${method} ${url.pathname}: no such operation in GitHub's API description`);
      return send(404, { message: 'Not Found' });
    }
    this.violations.push(...checkRequest(matched, url.searchParams, body));
    if (req.headers.authorization !== `token ${this.token}`) {
      return send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    }
    const injected = this.failures.findIndex((f) => f.method === method && f.pattern.test(url.pathname));
    if (injected >= 0) {
      const failure = this.failures.splice(injected, 1)[0]!.failure;
      return send(failure.status, failure.body ?? { message: 'injected failure' }, failure.headers);
    }
    const handler = this.handlers[`${method} ${matched.template}`];
    if (handler === undefined) {
      this.violations.push(`${method} ${matched.template}: documented, but the fake does not implement it`);
      return send(501, { message: 'not implemented by the fake' });
    }
    try {
      const [status, payload] = await handler({
        params: matched.params,
        query: url.searchParams,
        body: body ?? {},
      });
      this.checkOut(matched, status, payload);
      send(status, payload);
    } catch (error) {
      this.violations.push(`${method} ${url.pathname}: fake crashed: ${(error as Error).message}`);
      send(500, { message: 'fake crashed' });
    }
  }

  private checkOut(matched: MatchedOperation, status: number, payload: unknown): void {
    this.violations.push(...checkResponse(matched, status, payload));
  }

  private apiUrl(path: string): string {
    return `${this.url}/repos/${this.owner}/${this.repo}${path}`;
  }

  private notFound(): [number, unknown] {
    return [404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' }];
  }

  private unprocessable(message: string): [number, unknown] {
    return [422, { message, documentation_url: 'https://docs.github.com/rest' }];
  }

  private pullJson(p: Pull): Record<string, unknown> {
    return {
      url: this.apiUrl(`/pulls/${p.number}`),
      id: p.number + 5000,
      number: p.number,
      state: p.state,
      locked: false,
      title: p.title,
      body: p.body,
      labels: p.labels.map((name, i) => this.labelJson(name, i)),
      created_at: p.created_at,
      updated_at: p.updated_at,
      closed_at: p.state === 'closed' ? p.updated_at : null,
      merged_at: p.merged ? p.updated_at : null,
      html_url: `https://github.test/${this.owner}/${this.repo}/pull/${p.number}`,
      head: { label: `${this.owner}:${p.head}`, ref: p.head, sha: this.shaCache.get(p.head) ?? '' },
      base: { label: `${this.owner}:${p.base}`, ref: p.base, sha: this.shaCache.get(p.base) ?? '' },
      draft: false,
    };
  }

  private labelJson(name: string, i: number): Record<string, unknown> {
    return {
      id: i + 1,
      node_id: `L${i}`,
      url: this.apiUrl(`/labels/${name}`),
      name,
      color: 'ededed',
      default: false,
      description: '',
    };
  }

  private readonly shaCache = new Map<string, string>();

  private async refreshShas(...branches: string[]): Promise<void> {
    for (const b of branches) this.shaCache.set(b, (await this.store.branchSha(b)) ?? '');
  }

  private async commitJson(sha: string): Promise<Record<string, unknown>> {
    const c = await this.store.readCommit(sha);
    const person = { name: c.author.name, email: c.author.email, date: c.date };
    return {
      sha: c.sha,
      node_id: `C_${c.sha}`,
      url: this.apiUrl(`/git/commits/${c.sha}`),
      html_url: `https://github.test/${this.owner}/${this.repo}/commit/${c.sha}`,
      author: person,
      committer: person,
      message: c.message,
      tree: { sha: c.tree, url: this.apiUrl(`/git/trees/${c.tree}`) },
      parents: c.parents.map((p) => ({
        sha: p,
        url: this.apiUrl(`/git/commits/${p}`),
        html_url: `https://github.test/commit/${p}`,
      })),
      verification: this.signed.has(c.sha)
        ? {
            verified: true,
            reason: 'valid',
            signature: '-----BEGIN PGP SIGNATURE-----',
            payload: 'tree',
            verified_at: c.date,
          }
        : { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
    };
  }

  private refJson(branch: string, sha: string): Record<string, unknown> {
    return {
      ref: `refs/heads/${branch}`,
      node_id: `R_${branch}`,
      url: this.apiUrl(`/git/refs/heads/${branch}`),
      object: { type: 'commit', sha, url: this.apiUrl(`/git/commits/${sha}`) },
    };
  }

  private findPull(number: string): Pull | undefined {
    return this.pulls.find((p) => p.number === Number(number));
  }

  private issueJson(i: FakeIssue): Record<string, unknown> {
    return {
      id: i.number + 7000,
      node_id: `I_${i.number}`,
      url: this.apiUrl(`/issues/${i.number}`),
      number: i.number,
      state: i.state,
      title: i.title,
      body: i.body,
      labels: i.labels.map((name, n) => this.labelJson(name, n)),
      created_at: i.created_at,
      updated_at: i.updated_at,
      closed_at: i.state === 'closed' ? i.updated_at : null,
      html_url: `https://github.test/${this.owner}/${this.repo}/issues/${i.number}`,
    };
  }

  private runJson(r: FakeRun): Record<string, unknown> {
    return {
      id: r.id,
      name: 'Retrain',
      display_title: r.display_title,
      event: r.event,
      status: r.status,
      conclusion: r.conclusion,
      head_branch: r.ref,
      created_at: r.created_at,
      updated_at: r.created_at,
      html_url: `https://github.test/${this.owner}/${this.repo}/actions/runs/${r.id}`,
      path: `.github/workflows/${r.workflow}`,
    };
  }

  private readonly handlers: Record<string, Handler> = {
    'GET /repos/{owner}/{repo}/issues': async ({ query }) => {
      const state = query.get('state') ?? 'open';
      const labels = (query.get('labels') ?? '').split(',').filter((l) => l !== '');
      const match = (item: { state: string; labels: string[] }) =>
        (state === 'all' || item.state === state) && labels.every((l) => item.labels.includes(l));
      // GitHub lists pull requests among issues (marked with pull_request); newest first here.
      const all = [
        ...this.issues.filter(match).map((i) => ({ n: i.number, json: this.issueJson(i) })),
        ...this.pulls.filter(match).map((p) => ({
          n: p.number,
          json: {
            ...this.issueJson({ ...p, body: p.body }),
            pull_request: {
              url: this.apiUrl(`/pulls/${p.number}`),
              html_url: null,
              diff_url: null,
              patch_url: null,
            },
          },
        })),
      ].sort((a, b) => b.n - a.n);
      return [200, all.map((a) => a.json)];
    },
    'POST /repos/{owner}/{repo}/issues': async ({ body }) => {
      const now = new Date().toISOString();
      const issue: FakeIssue = {
        number: this.pulls.length + this.issues.length + 1,
        title: String(body.title),
        body: typeof body.body === 'string' ? body.body : null,
        state: 'open',
        labels: ((body.labels as string[] | undefined) ?? []).map(String),
        created_at: now,
        updated_at: now,
      };
      this.issues.push(issue);
      return [201, this.issueJson(issue)];
    },
    'PATCH /repos/{owner}/{repo}/issues/{issue_number}': async ({ params, body }) => {
      const issue = this.issues.find((i) => i.number === Number(params.issue_number));
      if (issue === undefined) return this.notFound();
      if (typeof body.title === 'string') issue.title = body.title;
      if (typeof body.body === 'string') issue.body = body.body;
      if (body.state === 'open' || body.state === 'closed') issue.state = body.state;
      issue.updated_at = new Date().toISOString();
      return [200, this.issueJson(issue)];
    },
    'POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches': async ({ params, body }) => {
      const workflow = params.workflow_id!;
      const declared = declaredInputs(workflow);
      if (declared === undefined) return this.notFound();
      const inputs = (body.inputs as Record<string, string> | undefined) ?? {};
      const unexpected = Object.keys(inputs).filter((k) => !declared.includes(k));
      if (unexpected.length > 0)
        return this.unprocessable(`Unexpected inputs provided: ${JSON.stringify(unexpected)}`);
      if ((await this.store.resolve(String(body.ref))) === undefined)
        return this.unprocessable(`No ref found for: ${String(body.ref)}`);
      this.runs.push({
        id: 9000 + this.runs.length + 1,
        workflow,
        ref: String(body.ref),
        inputs,
        // retrain.yml's run-name
        display_title: inputs.reconcile_attempt
          ? `Retrain (reconcile ${inputs.reconcile_attempt})`
          : 'Retrain',
        event: 'workflow_dispatch',
        status: 'queued',
        conclusion: null,
        created_at: new Date().toISOString(),
        jobs: [],
      });
      return [204, undefined];
    },
    'GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs': async ({ params, query }) => {
      const perPage = Number(query.get('per_page') ?? 30);
      const runs = this.runs
        .filter((r) => r.workflow === params.workflow_id)
        .reverse()
        .slice(0, perPage);
      return [200, { total_count: runs.length, workflow_runs: runs.map((r) => this.runJson(r)) }];
    },
    'GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs': async ({ params }) => {
      const run = this.runs.find((r) => r.id === Number(params.run_id));
      if (run === undefined) return this.notFound();
      return [
        200,
        {
          total_count: run.jobs.length,
          jobs: run.jobs.map((j, i) => ({
            id: run.id * 10 + i,
            run_id: run.id,
            name: j.name,
            status: j.status,
            conclusion: j.conclusion,
            html_url: `https://github.test/${this.owner}/${this.repo}/actions/runs/${run.id}/job/${i}`,
          })),
        },
      ];
    },
    'GET /repos/{owner}/{repo}/commits': async ({ query }) => {
      const ref = query.get('sha') ?? 'main';
      const path = query.get('path');
      const perPage = Number(query.get('per_page') ?? 30);
      if ((await this.store.resolve(ref)) === undefined) return this.notFound();
      const commits = await this.store.fileHistory(ref, path ?? '.', perPage);
      return [
        200,
        commits.map((c) => {
          const person = { name: c.author.name, email: c.author.email, date: c.date };
          return {
            sha: c.sha,
            node_id: `C_${c.sha}`,
            url: this.apiUrl(`/commits/${c.sha}`),
            html_url: `https://github.test/${this.owner}/${this.repo}/commit/${c.sha}`,
            comments_url: this.apiUrl(`/commits/${c.sha}/comments`),
            commit: {
              url: this.apiUrl(`/git/commits/${c.sha}`),
              author: person,
              committer: person,
              message: c.message,
              comment_count: 0,
              tree: { sha: c.sha, url: this.apiUrl(`/git/trees/${c.sha}`) },
            },
            parents: [],
          };
        }),
      ];
    },
    'GET /repos/{owner}/{repo}/pulls': async ({ query }) => {
      const state = query.get('state') ?? 'open';
      const head = query.get('head');
      const base = query.get('base');
      const found = this.pulls.filter(
        (p) =>
          (state === 'all' || p.state === state) &&
          (head === null || `${this.owner}:${p.head}` === head) &&
          (base === null || p.base === base),
      );
      await this.refreshShas(...found.flatMap((p) => [p.head, p.base]));
      return [200, found.map((p) => this.pullJson(p))];
    },
    'POST /repos/{owner}/{repo}/pulls': async ({ body }) => {
      const head = String(body.head);
      const base = String(body.base);
      const headSha = await this.store.branchSha(head);
      const baseSha = await this.store.branchSha(base);
      if (headSha === undefined || baseSha === undefined) return this.unprocessable('Validation Failed');
      if (this.openPulls().some((p) => p.head === head && p.base === base))
        return this.unprocessable(`A pull request already exists for ${this.owner}:${head}.`);
      if ((await this.store.commitsBetween(baseSha, headSha)).length === 0)
        return this.unprocessable(`No commits between ${base} and ${head}`);
      const now = new Date().toISOString();
      const pull: Pull = {
        number: this.pulls.length + 1,
        title: String(body.title),
        body: typeof body.body === 'string' ? body.body : null,
        head,
        base,
        state: 'open',
        merged: false,
        labels: [],
        comments: [],
        created_at: now,
        updated_at: now,
      };
      this.pulls.push(pull);
      await this.refreshShas(head, base);
      return [201, this.pullJson(pull)];
    },
    'PATCH /repos/{owner}/{repo}/pulls/{pull_number}': async ({ params, body }) => {
      const pull = this.findPull(params.pull_number!);
      if (pull === undefined) return this.notFound();
      if (typeof body.title === 'string') pull.title = body.title;
      if (typeof body.body === 'string') pull.body = body.body;
      if (body.state === 'closed' || body.state === 'open') pull.state = body.state;
      pull.updated_at = new Date().toISOString();
      await this.refreshShas(pull.head, pull.base);
      return [200, this.pullJson(pull)];
    },
    'PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge': async ({ params, body }) => {
      const pull = this.findPull(params.pull_number!);
      if (pull === undefined) return this.notFound();
      if (pull.state !== 'open') return [405, { message: 'Pull Request is not mergeable' }];
      const base = (await this.store.branchSha(pull.base))!;
      const head = (await this.store.branchSha(pull.head))!;
      const sha = await this.store.mergeCommit(
        base,
        head,
        String(body.commit_title ?? `Merge #${pull.number}`),
        BOT,
      );
      await this.store.moveBranch(pull.base, sha, base);
      pull.state = 'closed';
      pull.merged = true;
      return [200, { sha, merged: true, message: 'Pull Request successfully merged' }];
    },
    'PUT /repos/{owner}/{repo}/issues/{issue_number}/labels': async ({ params, body }) => {
      const pull = this.findPull(params.issue_number!);
      if (pull === undefined) return this.notFound();
      pull.labels = (body.labels as string[]).map(String);
      return [200, pull.labels.map((name, i) => this.labelJson(name, i))];
    },
    'POST /repos/{owner}/{repo}/issues/{issue_number}/comments': async ({ params, body }) => {
      const pull = this.findPull(params.issue_number!);
      if (pull === undefined) return this.notFound();
      const comment = { id: this.nextId++, body: String(body.body), created_at: new Date().toISOString() };
      pull.comments.push(comment);
      return [201, this.commentJson(pull, comment)];
    },
    'GET /repos/{owner}/{repo}/issues/{issue_number}/comments': async ({ params }) => {
      const pull = this.findPull(params.issue_number!);
      if (pull === undefined) return this.notFound();
      return [200, pull.comments.map((c) => this.commentJson(pull, c))];
    },
    'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}': async ({ params, body }) => {
      for (const pull of this.pulls) {
        const comment = pull.comments.find((c) => c.id === Number(params.comment_id));
        if (comment === undefined) continue;
        comment.body = String(body.body);
        return [200, this.commentJson(pull, comment)];
      }
      return this.notFound();
    },
    'GET /repos/{owner}/{repo}/git/ref/{ref}': async ({ params }) => {
      const branch = params.ref!.replace(/^heads\//, '');
      const sha = await this.store.branchSha(branch);
      return sha === undefined ? this.notFound() : [200, this.refJson(branch, sha)];
    },
    'POST /repos/{owner}/{repo}/git/refs': async ({ body }) => {
      const branch = String(body.ref).replace(/^refs\/heads\//, '');
      if (!(await this.store.moveBranch(branch, String(body.sha), null)))
        return this.unprocessable('Reference already exists');
      return [201, this.refJson(branch, String(body.sha))];
    },
    'PATCH /repos/{owner}/{repo}/git/refs/{ref}': async ({ params, body }) => {
      const branch = params.ref!.replace(/^heads\//, '');
      const sha = String(body.sha);
      const hook = this.beforeRefUpdate;
      this.beforeRefUpdate = undefined;
      await hook?.();
      const current = await this.store.branchSha(branch);
      if (current === undefined) return this.unprocessable('Reference does not exist');
      if (body.force !== true && !(await this.store.isAncestor(current, sha)))
        return this.unprocessable('Update is not a fast forward');
      if (!(await this.store.moveBranch(branch, sha, current))) return this.unprocessable('Reference moved');
      return [200, this.refJson(branch, sha)];
    },
    'DELETE /repos/{owner}/{repo}/git/refs/{ref}': async ({ params }) => {
      const branch = params.ref!.replace(/^heads\//, '');
      if ((await this.store.branchSha(branch)) === undefined)
        return this.unprocessable('Reference does not exist');
      await this.store.deleteBranch(branch);
      return [204, undefined];
    },
    'GET /repos/{owner}/{repo}/contents/{path}': async ({ params, query }) => {
      const ref = query.get('ref') ?? 'main';
      const path = params.path!;
      const content = await this.store.readFile(ref, path);
      if (content === undefined) return this.notFound();
      // git's own blob id: right for binary files too, which the text above is not
      const sha = (await this.store.fileId(ref, path)) ?? blobSha(content);
      const name = path.split('/').at(-1)!;
      return [
        200,
        {
          type: 'file',
          encoding: 'base64',
          size: Buffer.byteLength(content),
          name,
          path,
          content: Buffer.from(content).toString('base64'),
          sha,
          url: this.apiUrl(`/contents/${path}?ref=${ref}`),
          git_url: this.apiUrl(`/git/blobs/${sha}`),
          html_url: `https://github.test/${this.owner}/${this.repo}/blob/${ref}/${path}`,
          download_url: null,
          _links: {
            self: this.apiUrl(`/contents/${path}`),
            git: this.apiUrl(`/git/blobs/${sha}`),
            html: null,
          },
        },
      ];
    },
    'GET /repos/{owner}/{repo}/git/commits/{commit_sha}': async ({ params }) => {
      if ((await this.store.resolve(params.commit_sha!)) === undefined) return this.notFound();
      return [200, await this.commitJson(params.commit_sha!)];
    },
    'POST /repos/{owner}/{repo}/git/blobs': async ({ body }) => {
      const encoding = body.encoding === 'base64' ? 'base64' : 'utf8';
      const sha = await this.store.writeBlob(Buffer.from(String(body.content), encoding));
      return [201, { sha, url: this.apiUrl(`/git/blobs/${sha}`) }];
    },
    'POST /repos/{owner}/{repo}/git/trees': async ({ body }) => {
      const entries = (body.tree as Array<Record<string, unknown>>).map((e) =>
        typeof e.sha === 'string'
          ? { path: String(e.path), blob: e.sha }
          : { path: String(e.path), content: e.sha === null ? null : String(e.content ?? '') },
      );
      const base = typeof body.base_tree === 'string' ? body.base_tree : undefined;
      const sha = await this.store.writeTree(base, entries);
      return [201, { sha, url: this.apiUrl(`/git/trees/${sha}`), tree: [], truncated: false }];
    },
    'POST /repos/{owner}/{repo}/git/commits': async ({ body }) => {
      const custom = body.author !== undefined || body.committer !== undefined;
      const author = (body.author as { name: string; email: string } | undefined) ?? BOT;
      const sha = await this.store.commitTree(
        String(body.tree),
        (body.parents as string[]) ?? [],
        String(body.message),
        author,
      );
      if (!custom) this.signed.add(sha);
      return [201, await this.commitJson(sha)];
    },
    'POST /repos/{owner}/{repo}/statuses/{sha}': async ({ params, body }) => {
      if ((await this.store.resolve(params.sha!)) === undefined)
        return this.unprocessable('No commit found for SHA');
      if (typeof body.description === 'string' && body.description.length > 140)
        return this.unprocessable('description is too long (maximum is 140 characters)');
      const status = {
        sha: params.sha!,
        context: String(body.context ?? 'default'),
        state: String(body.state),
        description: typeof body.description === 'string' ? body.description : null,
        target_url: typeof body.target_url === 'string' ? body.target_url : null,
      };
      this.statuses.push(status);
      return [201, this.statusJson(status, this.statuses.length)];
    },
    'GET /repos/{owner}/{repo}/commits/{ref}/statuses': async ({ params }) => {
      const sha = await this.store.resolve(params.ref!);
      const mine = this.statuses.map((st, i) => ({ st, i })).filter(({ st }) => st.sha === sha);
      return [200, mine.reverse().map(({ st, i }) => this.statusJson(st, i + 1))];
    },
    'POST /repos/{owner}/{repo}/deployments': async ({ body }) => {
      const sha = await this.store.resolve(String(body.ref));
      if (sha === undefined) return this.unprocessable(`No ref found for: ${String(body.ref)}`);
      const deployment = {
        id: 600 + this.deployments.length + 1,
        sha,
        environment: String(body.environment ?? 'production'),
        description: typeof body.description === 'string' ? body.description : null,
        statuses: [],
      };
      this.deployments.push(deployment);
      const now = new Date().toISOString();
      return [
        201,
        {
          url: this.apiUrl(`/deployments/${deployment.id}`),
          id: deployment.id,
          node_id: `D_${deployment.id}`,
          sha,
          ref: String(body.ref),
          task: 'deploy',
          payload: {},
          environment: deployment.environment,
          description: deployment.description,
          creator: null,
          created_at: now,
          updated_at: now,
          statuses_url: this.apiUrl(`/deployments/${deployment.id}/statuses`),
          repository_url: this.apiUrl(''),
        },
      ];
    },
    'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses': async ({ params, body }) => {
      const deployment = this.deployments.find((d) => d.id === Number(params.deployment_id));
      if (deployment === undefined) return this.notFound();
      const status = {
        state: String(body.state),
        description: String(body.description ?? ''),
        environment_url: String(body.environment_url ?? ''),
        log_url: String(body.log_url ?? ''),
      };
      deployment.statuses.push(status);
      const now = new Date().toISOString();
      return [
        201,
        {
          url: this.apiUrl(`/deployments/${deployment.id}/statuses/${deployment.statuses.length}`),
          id: deployment.statuses.length,
          node_id: `DS_${deployment.id}_${deployment.statuses.length}`,
          state: status.state,
          creator: null,
          description: status.description,
          environment: deployment.environment,
          target_url: status.log_url,
          created_at: now,
          updated_at: now,
          deployment_url: this.apiUrl(`/deployments/${deployment.id}`),
          repository_url: this.apiUrl(''),
          environment_url: status.environment_url,
          log_url: status.log_url,
        },
      ];
    },
    'GET /repos/{owner}/{repo}/compare/{basehead}': async ({ params }) => {
      const [base, head] = params.basehead!.split('...');
      const baseSha = await this.store.resolve(base!);
      const headSha = await this.store.resolve(head!);
      if (baseSha === undefined || headSha === undefined) return this.notFound();
      const ahead = await this.store.commitsBetween(baseSha, headSha);
      const behind = await this.store.commitsBetween(headSha, baseSha);
      const commits = await Promise.all(
        ahead.map(async (c) => {
          const json = await this.commitJson(c.sha);
          return {
            sha: c.sha,
            node_id: `C_${c.sha}`,
            commit: {
              url: json.url,
              author: json.author,
              committer: json.committer,
              message: json.message,
              comment_count: 0,
              tree: json.tree,
            },
            url: json.url,
            html_url: json.html_url,
            comments_url: this.apiUrl(`/commits/${c.sha}/comments`),
            author: {},
            committer: {},
            parents: (json.parents as Array<{ sha: string; url: string }>).map((p) => ({
              sha: p.sha,
              url: p.url,
            })),
          };
        }),
      );
      return [
        200,
        {
          url: this.apiUrl(`/compare/${params.basehead}`),
          status:
            behind.length === 0
              ? ahead.length === 0
                ? 'identical'
                : 'ahead'
              : ahead.length === 0
                ? 'behind'
                : 'diverged',
          ahead_by: ahead.length,
          behind_by: behind.length,
          total_commits: ahead.length,
          commits,
        },
      ];
    },
  };

  private statusJson(
    st: {
      sha: string;
      context: string;
      state: string;
      description: string | null;
      target_url: string | null;
    },
    id: number,
  ): Record<string, unknown> {
    const now = new Date().toISOString();
    return {
      url: this.apiUrl(`/statuses/${st.sha}`),
      avatar_url: null,
      id,
      node_id: `S_${id}`,
      state: st.state,
      description: st.description,
      target_url: st.target_url,
      context: st.context,
      created_at: now,
      updated_at: now,
      creator: null,
    };
  }

  private commentJson(
    pull: Pull,
    c: { id: number; body: string; created_at: string },
  ): Record<string, unknown> {
    return {
      id: c.id,
      node_id: `IC_${c.id}`,
      url: this.apiUrl(`/issues/comments/${c.id}`),
      html_url: `https://github.test/${this.owner}/${this.repo}/pull/${pull.number}#issuecomment-${c.id}`,
      body: c.body,
      user: null,
      created_at: c.created_at,
      updated_at: c.created_at,
      issue_url: this.apiUrl(`/issues/${pull.number}`),
      author_association: 'NONE',
    };
  }
}

/** The git blob id of `content` (what GitHub reports as a file's sha). */
function blobSha(content: string): string {
  const bytes = Buffer.from(content);
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}
