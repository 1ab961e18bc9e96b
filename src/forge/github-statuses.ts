import { callGitHub, type GitHubRepo } from './github-client.js';
import type { CommitStatus, DeploymentStatus, NewDeployment } from './types.js';

/** Commit statuses and deployments through the GitHub REST API: where verify reports. */

/** GitHub's limit on a status description; longer ones are refused with 422. */
const DESCRIPTION_MAX = 140;

const short = (text: string): string =>
  text.length <= DESCRIPTION_MAX ? text : `${text.slice(0, DESCRIPTION_MAX - 1)}…`;

export async function setCommitStatus(gh: GitHubRepo, sha: string, status: CommitStatus): Promise<void> {
  await callGitHub(`set status ${status.context} on ${sha.slice(0, 12)}`, () =>
    gh.client.rest.repos.createCommitStatus({
      ...gh.params,
      sha,
      state: status.state,
      context: status.context,
      description: short(status.description),
      ...(status.targetUrl === undefined ? {} : { target_url: status.targetUrl }),
    }),
  );
}

/** The statuses of a ref come newest first: the first of the context is its current one. */
export async function commitStatus(
  gh: GitHubRepo,
  sha: string,
  context: string,
): Promise<CommitStatus | undefined> {
  return callGitHub(`read statuses of ${sha.slice(0, 12)}`, async () => {
    const { data } = await gh.client.rest.repos.listCommitStatusesForRef({
      ...gh.params,
      ref: sha,
      per_page: 100,
    });
    const latest = data.find((s) => s.context === context);
    if (latest === undefined) return undefined;
    return {
      context,
      state: latest.state as CommitStatus['state'],
      description: latest.description ?? '',
      ...(latest.target_url ? { targetUrl: latest.target_url } : {}),
    };
  });
}

export async function createDeployment(gh: GitHubRepo, input: NewDeployment): Promise<number> {
  return callGitHub(`create deployment of ${input.sha.slice(0, 12)} to ${input.environment}`, async () => {
    const { data } = await gh.client.rest.repos.createDeployment({
      ...gh.params,
      ref: input.sha,
      environment: input.environment,
      description: short(input.description),
      // The deploy commit is already on main and its checks are not this deployment's business.
      auto_merge: false,
      required_contexts: [],
      production_environment: true,
    });
    if (!('id' in data)) throw new Error(data.message ?? 'GitHub did not create the deployment');
    return data.id;
  });
}

export async function setDeploymentStatus(
  gh: GitHubRepo,
  id: number,
  status: DeploymentStatus,
): Promise<void> {
  await callGitHub(`set deployment ${id} ${status.state}`, () =>
    gh.client.rest.repos.createDeploymentStatus({
      ...gh.params,
      deployment_id: id,
      state: status.state,
      description: short(status.description),
      ...(status.environmentUrl === undefined ? {} : { environment_url: status.environmentUrl }),
      ...(status.logUrl === undefined ? {} : { log_url: status.logUrl }),
      // a success makes the earlier deployments of the environment inactive
      auto_inactive: status.state === 'success',
    }),
  );
}
