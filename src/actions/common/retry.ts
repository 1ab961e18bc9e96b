/**
 * Milliseconds per second of `retry-after` in the GitHub client's retries. Production keeps
 * Octokit's 1000; FLEETCAST_GITHUB_RETRY_BASE_MS lowers it (test suites, impatient GHES admins).
 */
export function retryBaseMs(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.FLEETCAST_GITHUB_RETRY_BASE_MS;
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : undefined;
}
