import type { CommitAuthor } from '../../forge/types.js';

/** What the runner tells every step about the run (environment variables set by GitHub Actions). */
export interface RunContext {
  repository: string | undefined;
  serverUrl: string;
  apiUrl: string;
  runUrl: string | undefined;
  actor: string;
  eventName: string | undefined;
  eventPath: string | undefined;
  /** The person who started the run, as a commit author (committer stays the bot). */
  actorAuthor: CommitAuthor | undefined;
}

export function runContext(env: NodeJS.ProcessEnv = process.env): RunContext {
  const serverUrl = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const repository = env.GITHUB_REPOSITORY;
  const runUrl =
    repository && env.GITHUB_RUN_ID
      ? `${serverUrl}/${repository}/actions/runs/${env.GITHUB_RUN_ID}`
      : undefined;
  const actor = env.GITHUB_ACTOR ?? 'unknown';
  const actorAuthor =
    env.GITHUB_ACTOR && env.GITHUB_ACTOR_ID && /^[A-Za-z0-9-]+(\[bot\])?$/.test(env.GITHUB_ACTOR)
      ? {
          name: env.GITHUB_ACTOR,
          email: `${env.GITHUB_ACTOR_ID}+${env.GITHUB_ACTOR}@users.noreply.github.com`,
        }
      : undefined;
  return {
    repository,
    serverUrl,
    apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
    runUrl,
    actor,
    eventName: env.GITHUB_EVENT_NAME,
    eventPath: env.GITHUB_EVENT_PATH,
    actorAuthor,
  };
}

/** The identity GitHub shows for commits made with GITHUB_TOKEN. */
export const GITHUB_ACTIONS_BOT: CommitAuthor = {
  name: 'github-actions[bot]',
  email: '41898282+github-actions[bot]@users.noreply.github.com',
};
