import { callGitHub, type GitHubRepo } from './github-client.js';
import type { FailedJob, WorkflowRun } from './types.js';

/** Workflow dispatch, runs and jobs through the GitHub Actions REST API (needs `actions: write`). */

export async function dispatchWorkflow(
  gh: GitHubRepo,
  workflow: string,
  ref: string,
  inputs: Readonly<Record<string, string>>,
): Promise<void> {
  await callGitHub(`dispatch ${workflow} on ${ref}`, () =>
    gh.client.rest.actions.createWorkflowDispatch({
      ...gh.params,
      workflow_id: workflow,
      ref,
      inputs: { ...inputs },
    }),
  );
}

export async function listWorkflowRuns(
  gh: GitHubRepo,
  workflow: string,
  limit: number,
): Promise<WorkflowRun[]> {
  return callGitHub(`list runs of ${workflow}`, async () => {
    const { data } = await gh.client.rest.actions.listWorkflowRuns({
      ...gh.params,
      workflow_id: workflow,
      per_page: Math.min(Math.max(limit, 1), 100),
    });
    return data.workflow_runs.slice(0, limit).map((run) => ({
      id: run.id,
      title: run.display_title,
      event: run.event,
      status: run.status ?? 'unknown',
      conclusion: run.conclusion ?? null,
      createdAt: run.created_at,
      url: run.html_url,
    }));
  });
}

const OK = new Set(['success', 'skipped', 'neutral']);

export async function failedJobs(gh: GitHubRepo, runId: number): Promise<FailedJob[]> {
  return callGitHub(`list jobs of run ${runId}`, async () => {
    const { data } = await gh.client.rest.actions.listJobsForWorkflowRun({
      ...gh.params,
      run_id: runId,
      filter: 'latest',
      per_page: 100,
    });
    return data.jobs
      .filter((job) => job.status === 'completed' && !OK.has(job.conclusion ?? 'success'))
      .map((job) => ({ name: job.name, conclusion: job.conclusion ?? 'unknown' }));
  });
}
