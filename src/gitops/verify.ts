/**
 * The verify loop: polls every replica of the inference service until each serves the new model
 * for every manifest server (the design's Phase 6 deployment verification), or gives up after a
 * timeout. One URL behind a load-balancing Service would sample one replica per request, so a
 * replica still on the old model (or one that failed its swap) could hide behind a good one.
 */

export interface VerifyTarget {
  /** Base URL of each replica (pod IPs, or the addresses of a headless Service); at least one. */
  serviceUrls: readonly string[];
  modelId: string;
  manifestServers: readonly string[];
  /** Bearer token for the service, when it requires one. */
  token?: string;
}

export interface VerifyTiming {
  timeoutMs: number;
  intervalMs: number;
  /** Per request. */
  requestTimeoutMs?: number;
}

export interface Observation {
  health?: { status?: unknown; model_id?: unknown };
  status?: {
    coverage?: {
      coverage_pct?: unknown;
      unknown?: unknown;
      without_data?: unknown;
      expected?: unknown;
    } | null;
  };
  fleet?: { model_id?: unknown; servers?: unknown };
  error?: string;
}

export interface ReplicaResult {
  url: string;
  ok: boolean;
  problems: string[];
}

export interface VerifyResult {
  /** Every replica verified in the same attempt. */
  ok: boolean;
  attempts: number;
  elapsedMs: number;
  /** Every replica's problems; prefixed with the replica's URL when there are several. */
  problems: string[];
  /** The last attempt, replica by replica. */
  replicas: ReplicaResult[];
}

export interface VerifyDeps {
  fetch: typeof fetch;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  onAttempt?: (attempt: number, problems: readonly string[]) => void;
}

const list = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

function names(items: readonly string[], max = 10): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} and ${items.length - max} more` : shown;
}

/** Why an observation does not (yet) show a verified deploy; empty when it does. */
export function verifyProblems(
  obs: Observation,
  target: Pick<VerifyTarget, 'modelId' | 'manifestServers'>,
): string[] {
  if (obs.error !== undefined) return [obs.error];
  const problems: string[] = [];
  const served = obs.health?.model_id;
  if (served !== target.modelId) {
    problems.push(`/health reports model ${JSON.stringify(served ?? null)}, expected ${target.modelId}`);
    return problems; // the other checks describe the old model until the swap
  }
  const coverage = obs.status?.coverage;
  if (coverage === undefined || coverage === null) {
    problems.push('/status has no coverage yet');
  } else {
    if (coverage.coverage_pct !== 100)
      problems.push(`/status coverage is ${String(coverage.coverage_pct)} %, not 100 %`);
    const unknown = list(coverage.unknown);
    if (unknown.length > 0) problems.push(`servers outside the model vocabulary: ${names(unknown)}`);
    const withoutData = list(coverage.without_data);
    if (withoutData.length > 0) problems.push(`servers without recent metrics: ${names(withoutData)}`);
  }
  const manifest = new Set(target.manifestServers);
  const fleet = obs.fleet;
  if (fleet === undefined) {
    problems.push('/forecast/fleet did not answer');
    return problems;
  }
  if (fleet.model_id !== target.modelId) {
    problems.push(
      `/forecast/fleet used model ${JSON.stringify(fleet.model_id ?? null)}, expected ${target.modelId}`,
    );
  }
  const entries = Array.isArray(fleet.servers) ? (fleet.servers as Array<Record<string, unknown>>) : [];
  const seen = new Map<string, Record<string, unknown>>();
  for (const entry of entries) if (typeof entry.server === 'string') seen.set(entry.server, entry);
  const missing = [...manifest].filter((s) => !seen.has(s));
  const unknownPredictions = [...manifest].filter((s) => seen.get(s)?.known === false);
  const noForecast = [...manifest].filter((s) => seen.has(s) && typeof seen.get(s)?.reason === 'string');
  if (missing.length > 0) problems.push(`manifest servers absent from /forecast/fleet: ${names(missing)}`);
  if (unknownPredictions.length > 0)
    problems.push(`unknown-server predictions for manifest servers: ${names(unknownPredictions)}`);
  if (noForecast.length > 0) problems.push(`manifest servers without a forecast: ${names(noForecast)}`);
  return problems;
}

async function getJson(
  deps: VerifyDeps,
  url: string,
  token: string | undefined,
  timeoutMs: number,
): Promise<unknown> {
  const response = await deps.fetch(url, {
    headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${new URL(url).pathname} answered ${response.status} with a non-JSON body`);
  }
  // /health answers 503 with a JSON body while no model is loaded: still worth reading.
  if (!response.ok && response.status !== 503) {
    throw new Error(`${new URL(url).pathname} answered ${response.status}`);
  }
  return body;
}

export async function observe(
  serviceUrl: string,
  target: VerifyTarget,
  deps: VerifyDeps,
  requestTimeoutMs: number,
): Promise<Observation> {
  const base = serviceUrl.replace(/\/+$/, '');
  try {
    const health = (await getJson(
      deps,
      `${base}/health`,
      target.token,
      requestTimeoutMs,
    )) as Observation['health'];
    if (health?.model_id !== target.modelId) return { health };
    const status = (await getJson(
      deps,
      `${base}/status`,
      target.token,
      requestTimeoutMs,
    )) as Observation['status'];
    const fleet = (await getJson(
      deps,
      `${base}/forecast/fleet`,
      target.token,
      requestTimeoutMs,
    )) as Observation['fleet'];
    return { health, status, fleet };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { error: `service at ${base} not reachable: ${reason}` };
  }
}

/** Every replica once, side by side. */
async function observeReplicas(
  target: VerifyTarget,
  deps: VerifyDeps,
  requestTimeoutMs: number,
): Promise<ReplicaResult[]> {
  return Promise.all(
    target.serviceUrls.map(async (url) => {
      const problems = verifyProblems(await observe(url, target, deps, requestTimeoutMs), target);
      return { url, ok: problems.length === 0, problems };
    }),
  );
}

/** Polls until every replica is verified or `timeoutMs` passed; never throws for service errors. */
export async function verifyDeployment(
  target: VerifyTarget,
  timing: VerifyTiming,
  deps: VerifyDeps,
): Promise<VerifyResult> {
  if (target.serviceUrls.length === 0) throw new Error('verify needs at least one service URL');
  const several = target.serviceUrls.length > 1;
  const started = deps.now();
  let attempts = 0;
  for (;;) {
    attempts++;
    const replicas = await observeReplicas(target, deps, timing.requestTimeoutMs ?? 10_000);
    const problems = replicas.flatMap((r) => r.problems.map((p) => (several ? `${r.url}: ${p}` : p)));
    deps.onAttempt?.(attempts, problems);
    const elapsedMs = deps.now() - started;
    if (problems.length === 0) return { ok: true, attempts, elapsedMs, problems, replicas };
    if (elapsedMs + timing.intervalMs > timing.timeoutMs) {
      return { ok: false, attempts, elapsedMs, problems, replicas };
    }
    await deps.sleep(timing.intervalMs);
  }
}
