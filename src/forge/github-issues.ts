import { callGitHub, type GitHubRepo } from './github-client.js';
import type { Issue, IssueUpdate, NewIssue } from './types.js';

/** Issues (not pull requests) through the GitHub REST API: the reconcile loop's tracking issue. */

interface RawIssue {
  number: number;
  title: string;
  body?: string | null;
  state: string;
  labels: Array<{ name?: string } | string>;
  html_url: string;
  pull_request?: unknown;
}

function toIssue(raw: RawIssue): Issue {
  return {
    number: raw.number,
    title: raw.title,
    body: raw.body ?? '',
    state: raw.state === 'closed' ? 'closed' : 'open',
    labels: raw.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter((l) => l !== ''),
    url: raw.html_url,
  };
}

/**
 * Lists by label (never the search API, which lags and would make duplicates), newest first; the
 * open issue wins over closed ones, so a reopened issue is found again.
 */
export async function findIssue(gh: GitHubRepo, label: string, title: string): Promise<Issue | undefined> {
  return callGitHub(`find issue "${title}"`, async () => {
    const { data } = await gh.client.rest.issues.listForRepo({
      ...gh.params,
      labels: label,
      state: 'all',
      sort: 'created',
      direction: 'desc',
      per_page: 100,
    });
    const issues = (data as RawIssue[]).filter((i) => i.pull_request === undefined && i.title === title);
    const found = issues.find((i) => i.state === 'open') ?? issues[0];
    return found === undefined ? undefined : toIssue(found);
  });
}

export async function createIssue(gh: GitHubRepo, input: NewIssue): Promise<Issue> {
  return callGitHub(`create issue "${input.title}"`, async () => {
    const { data } = await gh.client.rest.issues.create({
      ...gh.params,
      title: input.title,
      body: input.body,
      labels: input.labels,
    });
    return toIssue(data as RawIssue);
  });
}

export async function updateIssue(gh: GitHubRepo, number: number, update: IssueUpdate): Promise<Issue> {
  return callGitHub(`update issue #${number}`, async () => {
    const { data } = await gh.client.rest.issues.update({
      ...gh.params,
      issue_number: number,
      ...update,
      ...(update.state === 'closed' ? { state_reason: 'completed' as const } : {}),
    });
    return toIssue(data as RawIssue);
  });
}
