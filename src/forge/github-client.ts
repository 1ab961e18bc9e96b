import { Octokit } from '@octokit/rest';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { createLogger } from '../core/logger.js';
import { ForgeError } from './errors.js';

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

/** One repository through one client: what the pull request and git data calls work with. */
export interface GitHubRepo {
  client: Client;
  owner: string;
  /** `{ owner, repo }`, the parameters every REST call takes. */
  params: { owner: string; repo: string };
}

const log = createLogger('forge');

/**
 * The only place an Octokit client is created: @octokit/rest with the retry plugin (5xx, 429)
 * and the throttling plugin (primary and secondary rate limits, write pacing).
 */
export function connectGitHub(options: GitHubForgeOptions): GitHubRepo {
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
        log.warn({ retryAfter, method: request.method, url: request.url }, 'GitHub secondary rate limit hit');
        return retryCount < retries;
      },
    },
  });
  const [owner, repo] = options.repository.split('/');
  return { client, owner: owner!, params: { owner: owner!, repo: repo! } };
}

/** Runs one API call, turning Octokit's RequestError into a ForgeError with the status. */
export async function callGitHub<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toForgeError(operation, error);
  }
}

/** The HTTP status of an Octokit RequestError, or undefined for any other error. */
export function statusOf(error: unknown): number | undefined {
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
