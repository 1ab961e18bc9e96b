import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { InputError, getErrorMessage } from '../../core/errors.js';
import { createLogger, type Logger } from '../../core/logger.js';
import { restrictAccess, type DuckDbAccess } from '../duckdb.js';
import { cacheFiles, cacheRelation, syncCache, type CacheState, type SyncReport } from './cache.js';
import { PrometheusClient, type RangeRequest } from './client.js';
import { cacheKey, parseMapping, type PrometheusMapping } from './mapping.js';

/** Where the mapping is read from when the spec has no `#mapping=`: this variable, then the default file. */
export const MAPPING_ENV = 'FLEETCAST_PROMETHEUS_MAPPING';
export const DEFAULT_MAPPING_PATH = 'config/prometheus.yaml';
/** The cache root; each (URL, mapping) pair gets `<root>/<sha256>/`. */
export const CACHE_ENV = 'FLEETCAST_PROMETHEUS_CACHE';
export const DEFAULT_CACHE_ROOT = '.fleetcast/cache/prometheus';

const SPEC = /^prometheus\+(https?):\/\//i;

export interface PrometheusSourceOptions {
  /** Mapping file; default: `#mapping=` of the spec, then $FLEETCAST_PROMETHEUS_MAPPING, then config/prometheus.yaml. */
  mappingPath?: string;
  /** Cache root; default $FLEETCAST_PROMETHEUS_CACHE, then .fleetcast/cache/prometheus. */
  cacheRoot?: string;
  /** The clock that decides up to when to fetch (tests pin it). */
  now?: () => Date;
  /** First retry delay (tests shorten it). */
  backoffMs?: number;
  /** Called before every HTTP attempt. */
  onAttempt?: (request: RangeRequest, attempt: number) => void;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
}

/** `prometheus+http://…` or `prometheus+https://…`. */
export function isPrometheusSpec(spec: string): boolean {
  return SPEC.test(spec.trim());
}

/**
 * Fleet metrics from a Prometheus-compatible server, through a local parquet cache
 * (docs/metrics.md, "Prometheus"). The first `prepare` syncs the cache (the whole backfill the
 * first time, then only what is new), later ones sync again once a step has passed since the last
 * sync (the service's window reads). DuckDB may read the cache directory only.
 */
export class PrometheusSource {
  readonly description: string;
  readonly access: DuckDbAccess;
  readonly cacheDir: string;
  readonly mapping: PrometheusMapping;
  /** What the latest sync did (null before the first one). */
  lastSync: SyncReport | null = null;
  private state: CacheState | null = null;
  private syncing: Promise<void> | null = null;
  private syncedAt = -Infinity;
  private readonly client: PrometheusClient;

  constructor(
    readonly baseUrl: string,
    mapping: PrometheusMapping,
    cacheRoot: string,
    private readonly options: PrometheusSourceOptions = {},
  ) {
    this.mapping = mapping;
    this.cacheDir = join(resolve(cacheRoot), cacheKey(baseUrl, mapping));
    this.access = { directories: [this.cacheDir] };
    this.description = `prometheus ${baseUrl} (mapping ${mapping.origin})`;
    const env = options.env ?? process.env;
    let bearerToken: string | undefined;
    if (mapping.bearerTokenEnv !== undefined) {
      bearerToken = env[mapping.bearerTokenEnv];
      if (bearerToken === undefined || bearerToken === '')
        throw new InputError(
          `${mapping.origin}: bearer_token_env names ${mapping.bearerTokenEnv}, which is not set`,
        );
    }
    this.client = new PrometheusClient(baseUrl, {
      timeoutMs: mapping.timeoutMs,
      retries: mapping.retries,
      headers: mapping.headers,
      ...(bearerToken !== undefined ? { bearerToken } : {}),
      ...(options.backoffMs !== undefined ? { backoffMs: options.backoffMs } : {}),
      ...(options.onAttempt ? { onAttempt: options.onAttempt } : {}),
    });
  }

  async prepare(conn: DuckDBConnection): Promise<void> {
    if (this.state === null || Date.now() - this.syncedAt >= this.mapping.stepMs) await this.sync();
    await restrictAccess(conn, this.access);
  }

  relation(): string {
    if (this.state === null)
      throw new Error(`${this.description}: relation() before prepare(): the cache is not synced yet`);
    return cacheRelation(cacheFiles(this.cacheDir, this.state), this.state);
  }

  /** Syncs the cache now (one sync at a time; concurrent callers share it). */
  async sync(): Promise<SyncReport> {
    this.syncing ??= this.runSync().finally(() => {
      this.syncing = null;
    });
    await this.syncing;
    return this.lastSync!;
  }

  private async runSync(): Promise<void> {
    const now = this.options.now?.() ?? new Date();
    const { state, report } = await syncCache({
      dir: this.cacheDir,
      client: this.client,
      mapping: this.mapping,
      now,
    });
    this.state = state;
    this.lastSync = report;
    this.syncedAt = Date.now();
    if (report.upToDate && this.options.logger === undefined) return;
    const logger = this.options.logger ?? createLogger('fleetcast-prometheus');
    const s = report.skips;
    const summary = {
      source: this.description,
      cache: this.cacheDir,
      from: report.from === null ? null : new Date(report.from * 1000).toISOString(),
      to: report.to === null ? null : new Date(report.to * 1000).toISOString(),
      requests: report.requests.length,
      samples: report.samples,
      rows: report.rows,
      seconds: Math.round(report.seconds * 1000) / 1000,
    };
    logger.debug(summary, report.upToDate ? 'prometheus cache up to date' : 'prometheus cache synced');
    if (s.unsafeNameSeries > 0)
      logger.warn(
        { series: s.unsafeNameSeries, samples: s.unsafeNameSamples, examples: s.unsafeNameExamples },
        `${this.description}: skipped ${s.unsafeNameSeries} series (${s.unsafeNameSamples} samples) with an unsafe server name`,
      );
    if (s.duplicateSeries > 0)
      logger.warn(
        { series: s.duplicateSeries, samples: s.duplicateSamples, examples: s.duplicateExamples },
        `${this.description}: skipped ${s.duplicateSeries} series (${s.duplicateSamples} samples): a second series for the same server in one query (aggregate the query by the server label)`,
      );
    if (s.nonFiniteSamples > 0)
      logger.warn(`${this.description}: ${s.nonFiniteSamples} NaN or infinite samples stored as missing`);
    if (s.invalidProfiles > 0)
      logger.warn(
        `${this.description}: ${s.invalidProfiles} series with an invalid profile label (profile left empty)`,
      );
  }
}

/**
 * Opens `prometheus+http://host:9090[/base][#mapping=FILE]`: the mapping is read and validated
 * now, so a bad mapping fails before anything else runs; nothing is fetched until `prepare`.
 */
export function openPrometheusSource(spec: string, options: PrometheusSourceOptions = {}): PrometheusSource {
  const trimmed = spec.trim();
  if (!SPEC.test(trimmed))
    throw new InputError(
      `--metrics: a Prometheus source starts with prometheus+http:// or prometheus+https://: ${spec}`,
    );
  const hash = trimmed.indexOf('#');
  const urlPart = hash < 0 ? trimmed : trimmed.slice(0, hash);
  const fragment = hash < 0 ? undefined : trimmed.slice(hash + 1);
  let mappingFromSpec: string | undefined;
  if (fragment !== undefined) {
    if (!fragment.startsWith('mapping=') || fragment.length === 'mapping='.length)
      throw new InputError(`--metrics: after '#' a Prometheus source takes only 'mapping=FILE': ${spec}`);
    mappingFromSpec = fragment.slice('mapping='.length);
  }
  let url: URL;
  try {
    url = new URL(urlPart.replace(SPEC, (_, scheme: string) => `${scheme.toLowerCase()}://`));
  } catch (error) {
    throw new InputError(
      `--metrics: invalid Prometheus URL ${JSON.stringify(urlPart)}: ${getErrorMessage(error)}`,
    );
  }
  if (url.username !== '' || url.password !== '')
    throw new InputError(
      '--metrics: credentials in a Prometheus URL are refused; name an environment variable holding a ' +
        'bearer token in the mapping (bearer_token_env)',
    );
  if (url.search !== '')
    throw new InputError(`--metrics: a Prometheus URL takes no query string: ${urlPart}`);
  const baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  const env = options.env ?? process.env;
  const mappingPath = resolve(
    options.mappingPath ?? mappingFromSpec ?? (env[MAPPING_ENV] || DEFAULT_MAPPING_PATH),
  );
  let text: string;
  try {
    text = readFileSync(mappingPath, 'utf8');
  } catch (error) {
    throw new InputError(
      `--metrics ${baseUrl}: cannot read the Prometheus mapping ${mappingPath} ` +
        `(pass #mapping=FILE, set ${MAPPING_ENV}, or create ${DEFAULT_MAPPING_PATH}): ${getErrorMessage(error)}`,
    );
  }
  const mapping = parseMapping(text, mappingPath);
  const cacheRoot = options.cacheRoot ?? (env[CACHE_ENV] || DEFAULT_CACHE_ROOT);
  return new PrometheusSource(baseUrl, mapping, cacheRoot, options);
}
