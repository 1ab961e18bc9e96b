import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDuration } from '../../core/duration.js';
import { InputError, getErrorMessage } from '../../core/errors.js';
import { describeZodError } from '../../core/read-json.js';
import { serverNameProblem } from '../../core/server-name.js';
import { METRIC_NAMES, PROFILE_PATTERN } from '../contract.js';

/** Prometheus refuses a query_range answer of more than 11,000 points per series. */
export const PROMETHEUS_MAX_POINTS = 11_000;

const Duration = z.string().min(1);

const MappingSchema = z.strictObject({
  /** Resolution of the cache: the query_range step (and the rate windows in the queries should match it). */
  step: Duration.default('5m'),
  /** How far back the first sync reads. */
  backfill: Duration.default('35d'),
  /** Day files older than this leave the cache on the next sync (at least the backfill). */
  retention: Duration.default('90d'),
  /** One PromQL expression per data-contract column; each must return one series per server. */
  columns: z
    .record(z.string(), z.string().min(1))
    .refine((columns) => Object.keys(columns).length > 0, 'map at least one column'),
  server_name: z
    .strictObject({
      /** The label that names the server (usually `instance`). */
      label: z.string().min(1).default('instance'),
      /** Drop a trailing `:port` (`host:9100` → `host`). */
      strip_port: z.boolean().default(true),
    })
    .default({ label: 'instance', strip_port: true }),
  /** Optional: the label that carries the server's profile (role). */
  profile: z.strictObject({ label: z.string().min(1) }).optional(),
  /** Optional: the environment variable holding a bearer token (the token is never logged). */
  bearer_token_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
    .optional(),
  /** Optional extra request headers, such as `X-Scope-OrgID` for a Mimir tenant (not secrets). */
  headers: z.record(z.string(), z.string()).optional(),
  /** Points per query_range request and series (at most 11,000, Prometheus' limit). */
  chunk_points: z.number().int().min(2).max(PROMETHEUS_MAX_POINTS).default(10_000),
  /** query_range requests in flight at once. */
  concurrency: z.number().int().min(1).max(64).default(4),
  /** Per-request timeout. */
  timeout: Duration.default('60s'),
  /** Retries of a request that failed with a 5xx answer, a timeout or a network error. */
  retries: z.number().int().min(0).max(10).default(3),
});

/** The validated mapping: durations in milliseconds. */
export interface PrometheusMapping {
  stepMs: number;
  backfillMs: number;
  retentionMs: number;
  /** Contract column → PromQL, in the contract's column order. */
  columns: ReadonlyArray<{ name: string; query: string }>;
  serverLabel: string;
  stripPort: boolean;
  profileLabel: string | undefined;
  bearerTokenEnv: string | undefined;
  headers: Readonly<Record<string, string>>;
  chunkPoints: number;
  concurrency: number;
  timeoutMs: number;
  retries: number;
  /** Where the mapping came from (a file path). */
  origin: string;
}

/** Parses and validates mapping text (YAML or JSON: JSON is YAML); errors name the file and key. */
export function parseMapping(text: string, origin: string): PrometheusMapping {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new InputError(`${origin}: invalid YAML: ${getErrorMessage(error)}`, { cause: error });
  }
  const parsed = MappingSchema.safeParse(value);
  if (!parsed.success) throw new InputError(describeZodError(origin, parsed.error));
  const m = parsed.data;
  const unknownColumns = Object.keys(m.columns).filter((name) => !METRIC_NAMES.includes(name));
  if (unknownColumns.length > 0)
    throw new InputError(
      `${origin}: columns: ${unknownColumns.map((c) => JSON.stringify(c)).join(', ')} not in the data contract ` +
        `(one of ${METRIC_NAMES.join(', ')})`,
    );
  const stepMs = parseDuration(m.step, `${origin}: step`);
  if (stepMs % 1000 !== 0) throw new InputError(`${origin}: step must be a whole number of seconds`);
  for (const name of Object.keys(m.headers ?? {}))
    if (name.toLowerCase() === 'authorization')
      throw new InputError(`${origin}: headers: put the token in an environment variable (bearer_token_env)`);
  const backfillMs = parseDuration(m.backfill, `${origin}: backfill`);
  const retentionMs = parseDuration(m.retention, `${origin}: retention`);
  if (retentionMs < backfillMs)
    throw new InputError(
      `${origin}: retention (${m.retention}) is shorter than backfill (${m.backfill}): the next sync would drop what the first one read`,
    );
  return {
    stepMs,
    backfillMs,
    retentionMs,
    columns: METRIC_NAMES.filter((name) => name in m.columns).map((name) => ({
      name,
      query: m.columns[name]!,
    })),
    serverLabel: m.server_name.label,
    stripPort: m.server_name.strip_port,
    profileLabel: m.profile?.label,
    bearerTokenEnv: m.bearer_token_env,
    headers: m.headers ?? {},
    chunkPoints: m.chunk_points,
    concurrency: m.concurrency,
    timeoutMs: parseDuration(m.timeout, `${origin}: timeout`),
    retries: m.retries,
    origin,
  };
}

export async function readMapping(path: string): Promise<PrometheusMapping> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(`Prometheus mapping ${path}: cannot read: ${getErrorMessage(error)}`, {
      cause: error,
    });
  }
  return parseMapping(text, path);
}

/**
 * The server name of a series: the label's value, without a trailing `:port` when `strip_port`
 * is on (`node-1.example:9100` → `node-1.example`). Returns the problem instead when the result
 * is not a safe server name (src/core/server-name.ts); such series are skipped and counted.
 */
export function serverNameOf(
  labels: Readonly<Record<string, string>>,
  mapping: Pick<PrometheusMapping, 'serverLabel' | 'stripPort'>,
): { name: string } | { problem: string } {
  const raw = labels[mapping.serverLabel];
  if (raw === undefined) return { problem: `no '${mapping.serverLabel}' label` };
  const name = mapping.stripPort ? raw.replace(/:\d{1,5}$/, '') : raw;
  const problem = serverNameProblem(name);
  return problem === undefined ? { name } : { problem };
}

/** The profile of a series, or null when the label is absent or not a valid profile. */
export function profileOf(
  labels: Readonly<Record<string, string>>,
  mapping: Pick<PrometheusMapping, 'profileLabel'>,
): { profile: string | null; invalid: boolean } {
  if (mapping.profileLabel === undefined) return { profile: null, invalid: false };
  const raw = labels[mapping.profileLabel];
  if (raw === undefined) return { profile: null, invalid: false };
  return PROFILE_PATTERN.test(raw) ? { profile: raw, invalid: false } : { profile: null, invalid: true };
}

/**
 * What makes cached data the same data: the base URL and everything in the mapping that changes
 * the rows (queries, step, name and profile rules, headers such as a tenant). Backfill, chunking,
 * timeouts and the token do not: changing them keeps the cache.
 */
export function cacheKey(baseUrl: string, mapping: PrometheusMapping): string {
  const identity = JSON.stringify({
    url: baseUrl,
    step: mapping.stepMs,
    columns: mapping.columns,
    server: [mapping.serverLabel, mapping.stripPort],
    profile: mapping.profileLabel ?? null,
    headers: Object.entries(mapping.headers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  });
  return createHash('sha256').update(identity).digest('hex');
}
