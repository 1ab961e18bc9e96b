import { callGitHub, type GitHubRepo } from './github-client.js';
import type { NewPullRequest, PullRequest, PullRequestUpdate } from './types.js';

/** Pull requests, labels and comments through the GitHub REST API. */

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

export async function findOpenPullRequest(
  gh: GitHubRepo,
  head: string,
  base: string,
): Promise<PullRequest | undefined> {
  return callGitHub(`find pull request ${head} -> ${base}`, async () => {
    const { data } = await gh.client.rest.pulls.list({
      ...gh.params,
      state: 'open',
      head: `${gh.owner}:${head}`,
      base,
      per_page: 100,
    });
    const found = (data as RawPull[]).find((pr) => pr.head.ref === head && pr.base.ref === base);
    return found === undefined ? undefined : toPullRequest(found);
  });
}

export async function findLastClosedPullRequest(
  gh: GitHubRepo,
  head: string,
  base: string,
): Promise<PullRequest | undefined> {
  return callGitHub(`find closed pull request ${head} -> ${base}`, async () => {
    const { data } = await gh.client.rest.pulls.list({
      ...gh.params,
      state: 'closed',
      head: `${gh.owner}:${head}`,
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

export async function createPullRequest(gh: GitHubRepo, input: NewPullRequest): Promise<PullRequest> {
  const pr = await callGitHub(`create pull request ${input.head} -> ${input.base}`, async () => {
    const { data } = await gh.client.rest.pulls.create({
      ...gh.params,
      head: input.head,
      base: input.base,
      title: input.title,
      body: input.body,
    });
    return toPullRequest(data as RawPull);
  });
  if (input.labels.length > 0) await setLabels(gh, pr.number, input.labels);
  return { ...pr, labels: [...input.labels] };
}

export async function updatePullRequest(
  gh: GitHubRepo,
  number: number,
  update: PullRequestUpdate,
): Promise<PullRequest> {
  return callGitHub(`update pull request #${number}`, async () => {
    const { data } = await gh.client.rest.pulls.update({ ...gh.params, pull_number: number, ...update });
    return toPullRequest(data as RawPull);
  });
}

export async function setLabels(gh: GitHubRepo, number: number, labels: string[]): Promise<void> {
  await callGitHub(`set labels on #${number}`, () =>
    gh.client.rest.issues.setLabels({ ...gh.params, issue_number: number, labels }),
  );
}

export async function closePullRequest(gh: GitHubRepo, number: number): Promise<void> {
  await callGitHub(`close pull request #${number}`, () =>
    gh.client.rest.pulls.update({ ...gh.params, pull_number: number, state: 'closed' }),
  );
}

export async function mergePullRequest(gh: GitHubRepo, number: number, message: string): Promise<string> {
  return callGitHub(`merge pull request #${number}`, async () => {
    const { data } = await gh.client.rest.pulls.merge({
      ...gh.params,
      pull_number: number,
      commit_title: message,
      merge_method: 'merge',
    });
    return data.sha;
  });
}

export async function comment(gh: GitHubRepo, number: number, body: string): Promise<void> {
  await callGitHub(`comment on #${number}`, () =>
    gh.client.rest.issues.createComment({ ...gh.params, issue_number: number, body }),
  );
}

export async function listComments(gh: GitHubRepo, number: number): Promise<string[]> {
  return callGitHub(`list comments of #${number}`, async () => {
    const comments = await gh.client.paginate(gh.client.rest.issues.listComments, {
      ...gh.params,
      issue_number: number,
      per_page: 100,
    });
    return comments.map((c) => c.body ?? '');
  });
}

export async function upsertComment(
  gh: GitHubRepo,
  number: number,
  marker: string,
  body: string,
): Promise<'created' | 'updated' | 'unchanged'> {
  if (!body.includes(marker)) throw new Error('the comment body must contain its marker');
  return callGitHub(`comment on #${number}`, async () => {
    const comments = await gh.client.paginate(gh.client.rest.issues.listComments, {
      ...gh.params,
      issue_number: number,
      per_page: 100,
    });
    const mine = comments.find((c) => (c.body ?? '').includes(marker));
    if (mine === undefined) {
      await gh.client.rest.issues.createComment({ ...gh.params, issue_number: number, body });
      return 'created';
    }
    if (mine.body === body) return 'unchanged';
    await gh.client.rest.issues.updateComment({ ...gh.params, comment_id: mine.id, body });
    return 'updated';
  });
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
