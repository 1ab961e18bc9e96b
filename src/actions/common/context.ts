import type { context as loadedContext } from '@actions/github';
import type { CommitAuthor } from '../../forge/types.js';
import { actorAuthor } from './identity.js';

/** @actions/github's context: repository, serverUrl, apiUrl, runId, actor, eventName, payload. */
export type GitHubContext = typeof loadedContext;

/** What the runner tells every step about the run, read when run() starts (never at module load). */
export interface RunContext {
  github: GitHubContext;
  /** owner/name, from GITHUB_REPOSITORY or the event payload; undefined outside a workflow run. */
  repository: string | undefined;
  /** Link to the workflow run, for summaries and notifications. */
  runUrl: string | undefined;
  /** Login of the person or app that started the run (`unknown` when the runner did not say). */
  actor: string;
  /** The actor as a commit author, when the runner gave GITHUB_ACTOR_ID (committer stays the bot). */
  actorAuthor: CommitAuthor | undefined;
}

/**
 * Builds the run's context from the environment as it is now. @actions/github exports only a
 * context made when the package loads, so the package is imported here, not at module load, and
 * a fresh instance of the context's class is made for each run (a process that runs several
 * actions, like the test suite, must not reuse the first one's).
 */
export async function runContext(): Promise<RunContext> {
  const { context: loaded } = await import('@actions/github');
  const Context = loaded.constructor as new () => GitHubContext;
  const github = new Context();
  const repository = repositoryOf(github);
  const runUrl =
    repository !== undefined && Number.isSafeInteger(github.runId) && github.runId > 0
      ? `${github.serverUrl}/${repository}/actions/runs/${github.runId}`
      : undefined;
  return {
    github,
    repository,
    runUrl,
    actor: github.actor || 'unknown',
    actorAuthor: actorAuthor(),
  };
}

function repositoryOf(github: GitHubContext): string | undefined {
  try {
    const { owner, repo } = github.repo;
    return owner && repo ? `${owner}/${repo}` : undefined;
  } catch {
    return undefined; // neither GITHUB_REPOSITORY nor a repository in the event payload
  }
}
