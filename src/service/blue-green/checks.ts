import { listServers } from '../../fleet/coverage.js';
import { getErrorMessage } from '../../core/errors.js';
import { ShutdownResponse } from '../http/shutdown.js';
import { FleetForecast } from '../serving/forecast-batch.js';
import { ReadyResponse } from '../serving/health.js';

/** What blue-green asks of instances over HTTP, parsed with the service's own response schemas. */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls GET /readyz until it answers ready with `modelId`; else why not (the last answer). */
export async function waitReady(
  url: string,
  modelId: string,
  timeoutMs: number,
  stillRunning: () => boolean,
): Promise<{ ready: true } | { ready: false; reason: string }> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) });
      const body = ReadyResponse.parse(await res.json());
      if (body.status === 'ready' && body.model_id === modelId) return { ready: true };
      last =
        body.status === 'ready'
          ? `it serves ${body.model_id}, not ${modelId}`
          : `not ready: ${body.reason ?? 'no reason given'}`;
    } catch (error) {
      last = `GET /readyz failed: ${getErrorMessage(error)}`;
    }
    if (!stillRunning()) return { ready: false, reason: `the instance exited (${last})` };
    if (Date.now() > deadline)
      return { ready: false, reason: `not ready within ${timeoutMs / 1000} s: ${last}` };
    await sleep(250);
  }
}

export interface WarmUpResult {
  /** Servers the instance was asked to cover: the manifest's (every non-pending one without a manifest). */
  expected: number;
  answered: number;
  /** Expected servers without a forecast, or forecast as unknown, each with why. */
  problems: string[];
  duration_ms: number;
}

/**
 * The warm-up against the whole fleet: one GET /forecast/fleet must come from `modelId` and give
 * every expected server a forecast through its own embedding ("every manifest server answered").
 */
export async function warmUp(url: string, modelId: string, timeoutMs: number): Promise<WarmUpResult> {
  const started = performance.now();
  const res = await fetch(`${url}/forecast/fleet`, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) {
    const text = await res.text();
    return {
      expected: 0,
      answered: 0,
      problems: [`GET /forecast/fleet answered ${res.status}: ${text.slice(0, 300)}`],
      duration_ms: 0,
    };
  }
  const fleet = FleetForecast.parse(await res.json());
  const problems: string[] = [];
  if (fleet.model_id !== modelId)
    problems.push(`the fleet forecast came from ${fleet.model_id}, not ${modelId}`);
  const withManifest = fleet.servers.some((s) => s.in_manifest);
  const expected = fleet.servers.filter((s) => (withManifest ? s.in_manifest : !s.pending));
  if (expected.length === 0) problems.push('the fleet forecast names no server to cover');
  const unanswered = expected
    .filter((s) => 'reason' in s)
    .map((s) => `${s.server} (${(s as { reason: string }).reason})`);
  const unknown = expected.filter((s) => !('reason' in s) && !s.known).map((s) => s.server);
  if (unanswered.length > 0)
    problems.push(
      `${unanswered.length} of ${expected.length} server(s) got no forecast: ${listServers(unanswered)}`,
    );
  if (unknown.length > 0)
    problems.push(`${unknown.length} server(s) are outside the model's vocabulary: ${listServers(unknown)}`);
  return {
    expected: expected.length,
    answered: expected.length - unanswered.length,
    problems,
    duration_ms: Math.round(performance.now() - started),
  };
}

/** POST /admin/shutdown with the token: the instance's answer, or why it was not accepted. */
export async function requestShutdown(
  url: string,
  token: string,
): Promise<{ accepted: true; answer: ShutdownResponse } | { accepted: false; reason: string }> {
  try {
    const res = await fetch(`${url}/admin/shutdown`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status !== 202) {
      const text = await res.text();
      return {
        accepted: false,
        reason: `POST /admin/shutdown answered ${res.status}: ${text.slice(0, 300)}`,
      };
    }
    return { accepted: true, answer: ShutdownResponse.parse(await res.json()) };
  } catch (error) {
    return { accepted: false, reason: `POST /admin/shutdown failed: ${getErrorMessage(error)}` };
  }
}

/** Whether anything answers GET /livez at `url`. */
export async function answers(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/livez`, { signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}
