import { InputError, getErrorMessage } from '../../core/errors.js';

/** One series of a query_range answer: its labels and `[unix seconds, "value"]` points. */
export interface RangeSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

export interface RangeRequest {
  query: string;
  /** Unix seconds, inclusive, on the step grid. */
  start: number;
  end: number;
  step: number;
}

export interface ClientOptions {
  timeoutMs: number;
  retries: number;
  headers?: Readonly<Record<string, string>>;
  /** Sent as `Authorization: Bearer …`; never logged or put in messages. */
  bearerToken?: string;
  /** First retry delay; doubles each retry (with jitter). */
  backoffMs?: number;
  /** Called before every HTTP attempt (tests count requests with it). */
  onAttempt?: (request: RangeRequest, attempt: number) => void;
}

const DEFAULT_BACKOFF_MS = 250;
const MAX_BODY_PREVIEW = 200;

/** A failure worth retrying: a 5xx or 429 answer, a timeout, a refused or reset connection. */
class TransientError extends Error {}

/**
 * The Prometheus HTTP API's `/api/v1/query_range`, as Prometheus, VictoriaMetrics, Thanos Query
 * and Mimir (under its `/prometheus` prefix) serve it. Requests are POSTed as a form, so long
 * PromQL never hits a URL length limit. Every failure becomes an InputError naming the URL and the
 * query; 5xx answers, timeouts and network errors are retried with exponential backoff first.
 */
export class PrometheusClient {
  private readonly endpoint: string;
  constructor(
    /** Base URL without credentials, e.g. `http://prometheus:9090` or `https://mimir/prometheus`. */
    readonly baseUrl: string,
    private readonly options: ClientOptions,
  ) {
    this.endpoint = `${baseUrl.replace(/\/+$/, '')}/api/v1/query_range`;
  }

  async queryRange(request: RangeRequest): Promise<RangeSeries[]> {
    const where = `Prometheus ${this.endpoint} query ${JSON.stringify(request.query)} (${isoRange(request)})`;
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.options.retries; attempt++) {
      if (attempt > 0) await sleep(backoff(this.options.backoffMs ?? DEFAULT_BACKOFF_MS, attempt));
      this.options.onAttempt?.(request, attempt);
      try {
        return await this.attempt(request, where);
      } catch (error) {
        if (!(error instanceof TransientError)) throw error;
        lastError = error;
      }
    }
    throw new InputError(
      `${where}: failed after ${this.options.retries + 1} attempts: ${getErrorMessage(lastError)}`,
      { cause: lastError },
    );
  }

  private async attempt(request: RangeRequest, where: string): Promise<RangeSeries[]> {
    const body = new URLSearchParams({
      query: request.query,
      start: String(request.start),
      end: String(request.end),
      step: String(request.step),
    });
    const headers: Record<string, string> = {
      ...this.options.headers,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (this.options.bearerToken !== undefined) headers.authorization = `Bearer ${this.options.bearerToken}`;
    let text: string;
    let status: number;
    try {
      const response = await fetch(this.endpoint, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: 'error',
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (name === 'TimeoutError' || name === 'AbortError')
        throw new TransientError(`no answer within ${this.options.timeoutMs} ms`);
      const code = networkCode(error);
      // A host that does not resolve or a certificate that does not verify is a setting to fix:
      // retrying only delays the error by the whole backoff.
      if (code !== undefined && PERMANENT_NETWORK_CODES.has(code))
        throw new InputError(
          `${where}: cannot connect: ${networkMessage(error)} (not retried: check the URL)`,
        );
      throw new TransientError(`cannot connect: ${networkMessage(error)}`);
    }
    if (status >= 500 || status === 429)
      throw new TransientError(`HTTP ${status}: ${apiError(text) ?? preview(text)}`);
    if (status === 401 || status === 403)
      throw new InputError(
        `${where}: HTTP ${status}: not authorized (set the mapping's bearer_token_env and its variable)`,
      );
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new InputError(`${where}: HTTP ${status}: the answer is not JSON: ${preview(text)}`);
    }
    if (!isObject(parsed) || parsed.status !== 'success') {
      const detail = apiError(text) ?? preview(text);
      throw new InputError(`${where}: HTTP ${status}: Prometheus returned an error: ${detail}`);
    }
    if (status !== 200) throw new InputError(`${where}: HTTP ${status}: ${preview(text)}`);
    const warnings = parsed.warnings;
    if (Array.isArray(warnings) && warnings.length > 0)
      throw new InputError(
        `${where}: partial data: Prometheus answered with warnings (${warnings.map(String).join('; ')}); ` +
          'nothing was cached, the next run tries again',
      );
    const data = parsed.data;
    if (!isObject(data) || data.resultType !== 'matrix' || !Array.isArray(data.result))
      throw new InputError(
        `${where}: expected resultType "matrix", got ${JSON.stringify(isObject(data) ? data.resultType : undefined)}`,
      );
    for (const series of data.result as unknown[]) {
      if (!isObject(series) || !isObject(series.metric) || !Array.isArray(series.values))
        throw new InputError(`${where}: malformed series in the answer: ${preview(JSON.stringify(series))}`);
    }
    return data.result as RangeSeries[];
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function apiError(text: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (isObject(parsed) && typeof parsed.error === 'string')
      return `${String(parsed.errorType ?? 'error')}: ${parsed.error}`;
  } catch {
    // not JSON
  }
  return undefined;
}

function preview(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > MAX_BODY_PREVIEW ? `${flat.slice(0, MAX_BODY_PREVIEW)}…` : flat);
}

/** Network failures that no retry fixes: an unknown host, a certificate that does not verify. */
const PERMANENT_NETWORK_CODES = new Set([
  'ENOTFOUND',
  'EAI_NONAME',
  'ERR_INVALID_URL',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function networkCode(error: unknown): string | undefined {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

function networkMessage(error: unknown): string {
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? getErrorMessage(error);
}

function isoRange(request: RangeRequest): string {
  const iso = (s: number): string => new Date(s * 1000).toISOString();
  return `${iso(request.start)} to ${iso(request.end)}, step ${request.step}s`;
}

function backoff(base: number, attempt: number): number {
  const delay = base * 2 ** (attempt - 1);
  return delay / 2 + Math.random() * (delay / 2);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
