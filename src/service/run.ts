import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { ContractView } from '../metrics/contract-view.js';
import { loadMetricSetConfig } from '../metrics/metric-set.js';
import { openMetricsSource } from '../metrics/source.js';
import { loadModel } from '../model/loaded-model.js';
import { pointerPath } from '../registry/layout.js';
import { GateError, getErrorMessage, InputError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { buildApp } from './http/app.js';
import { MIN_ADMIN_TOKEN_LENGTH } from './http/auth.js';
import type { ManifestEntry } from './serving/fleet.js';
import { GitFollower, GitRegistryClone, redactRemote } from './follow/git-follow.js';
import { metricsWindowFetcher } from './serving/metrics-windows.js';
import { PointerWatcher } from './follow/pointer-watch.js';
import { DEFAULT_DRAIN_TIMEOUT_MS, listen, type RunningServer } from './http/server.js';
import { DEFAULT_SHUTDOWN_GRACE_MS, GracefulShutdown } from './http/shutdown.js';
import { coverageGap } from './serving/health.js';
import { pinnedTarget } from './serving/pinned-target.js';
import { ForecastService } from './serving/forecast-service.js';

export interface ServeSettings {
  /** Registry directory; with `git`, a path inside the clone. */
  registry: string;
  metrics: string;
  /** The metric set file (default config/metric_set.json when present): its profile column. */
  metricSet?: string;
  manifest?: string;
  /** Reads the manifest file (the format belongs to src/fleet). */
  readManifest?: (path: string) => Promise<ManifestEntry[]>;
  host: string;
  port: number;
  git?: {
    remote: string;
    branch: string;
    intervalMs: number;
    cloneDir?: string;
    /** A git command with no output for this long is killed (default 20 s). */
    timeoutMs?: number;
  };
  /** The service's own state (live accuracy); default: defaultStateDir(). Never the GitOps clone. */
  stateDir?: string;
  refreshMs: number;
  /** A server whose data ends longer ago than this is stale (default: 2 × max(refresh, resolution)). */
  staleAfterMs?: number;
  pointerPollMs: number;
  unknownWindowSeconds: number;
  activeWithinSeconds: number;
  adminToken?: string;
  /** Where model sessions live: a worker thread each (default) or the main thread. */
  modelThread?: 'worker' | 'main';
  /**
   * Serve this model only, never following current.json (blue-green): startup fails unless its
   * files verify (and their SHA256SUMS digest is `sha256`, when given) and it covers the manifest.
   */
  pinnedModel?: { modelId: string; sha256?: string };
  /** POST /admin/shutdown: how long readiness is false before the drain (default 5 s). */
  shutdownGraceMs?: number;
  logger?: Logger;
}

export interface RunningService {
  service: ForecastService;
  server: RunningServer;
  /** POST /admin/shutdown's shutdown: `closed` resolves once it has closed everything. */
  shutdown: GracefulShutdown;
  /** Readiness false, stops followers, drains requests, releases models. */
  close(): Promise<void>;
}

/**
 * Default clone location: one per remote (without credentials, so a rotated token reuses it) and
 * branch, so restarts reuse it, inside a directory only this user can use. Someone else who
 * pre-creates that directory (in a shared /tmp) cannot stop the service: it then clones into a
 * fresh private temporary directory instead.
 */
export async function defaultCloneDir(remote: string, branch: string): Promise<string> {
  const key = createHash('sha256')
    .update(`${redactRemote(remote)}\n${branch}`)
    .digest('hex')
    .slice(0, 12);
  return join(await privateServeDir(), key);
}

/** The per-user `fleetcast-serve-<uid>` directory under the temp dir, or a fresh private one when it is not ours. */
async function privateServeDir(): Promise<string> {
  const uid = process.getuid?.() ?? 'user';
  const parent = join(tmpdir(), `fleetcast-serve-${uid}`);
  await mkdir(parent, { recursive: true, mode: 0o700 }).catch(() => undefined);
  const stats = await lstat(parent).catch(() => null);
  const ours =
    stats !== null &&
    stats.isDirectory() &&
    (stats.mode & 0o077) === 0 &&
    (process.getuid === undefined || stats.uid === process.getuid());
  return ours ? parent : mkdtemp(join(tmpdir(), 'fleetcast-serve-'));
}

/**
 * Default state directory: `state-<hash>` inside the same private per-user directory as the default
 * clone (so a restart finds it), one per registry (remote, branch and path with `--git`) and
 * metrics source, so two services on one host keep apart; a fresh private temporary directory when
 * the per-user one is not ours.
 */
export async function defaultStateDir(registry: string, metrics: string): Promise<string> {
  const key = createHash('sha256').update(`${registry}\n${metrics}`).digest('hex').slice(0, 12);
  return join(await privateServeDir(), `state-${key}`);
}

/** Wires metrics source, manifest, registry (local or git), service, HTTP app and followers. */
export async function runService(settings: ServeSettings): Promise<RunningService> {
  const logger = settings.logger ?? createLogger('fleetcast-serve');
  const token = settings.adminToken;
  if (token !== undefined && token !== '' && token.length < MIN_ADMIN_TOKEN_LENGTH)
    throw new InputError(`FLEETCAST_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters long`);
  const source = new ContractView(
    openMetricsSource(settings.metrics),
    await loadMetricSetConfig(settings.metricSet),
  );

  let clone: GitRegistryClone | undefined;
  let base = process.cwd();
  if (settings.git) {
    const dir = settings.git.cloneDir ?? (await defaultCloneDir(settings.git.remote, settings.git.branch));
    logger.info(
      { remote: redactRemote(settings.git.remote), branch: settings.git.branch, dir },
      'syncing GitOps clone',
    );
    clone = await GitRegistryClone.create(settings.git.remote, settings.git.branch, dir, {
      ...(settings.git.timeoutMs !== undefined ? { timeoutMs: settings.git.timeoutMs } : {}),
    });
    base = dir;
  }
  const inBase = (path: string): string => (isAbsolute(path) ? path : resolve(base, path));
  const registry = inBase(settings.registry);
  // A registry that does not exist is a typo or a missing volume, not a model yet to come: retrying
  // would answer 503 forever. An existing but empty registry waits for its first deploy.
  const found = await stat(registry).catch(() => null);
  if (found === null || !found.isDirectory())
    throw new InputError(
      `--registry ${settings.git ? `${settings.registry} (in the clone of ${redactRemote(settings.git.remote)}, ${registry})` : registry}: no such directory`,
    );
  const manifestPath = settings.manifest !== undefined ? inBase(settings.manifest) : undefined;
  if (manifestPath !== undefined && settings.readManifest === undefined)
    throw new InputError('--manifest: no manifest reader available');

  const pinned =
    settings.pinnedModel === undefined
      ? undefined
      : await pinnedTarget(registry, settings.pinnedModel.modelId, settings.pinnedModel.sha256, new Date());
  const service = new ForecastService({
    registry,
    ...(pinned !== undefined ? { readTarget: async () => pinned } : {}),
    windowFetcher: metricsWindowFetcher(source, { activeWithinSeconds: settings.activeWithinSeconds }),
    ...(manifestPath !== undefined ? { loadManifest: () => settings.readManifest!(manifestPath) } : {}),
    ...(settings.modelThread === 'main' ? { loadModel: (dir, options) => loadModel(dir, options) } : {}),
    refreshIntervalMs: settings.refreshMs,
    ...(settings.staleAfterMs !== undefined ? { staleAfterMs: settings.staleAfterMs } : {}),
    unknownWindowSeconds: settings.unknownWindowSeconds,
    stateDir:
      settings.stateDir ??
      (await defaultStateDir(
        settings.git
          ? `${redactRemote(settings.git.remote)}\n${settings.git.branch}\n${settings.registry}`
          : registry,
        redactRemote(settings.metrics),
      )),
    ...(clone ? { publicPaths: [[clone.dir, '<clone>']] as const } : {}),
    logger,
  });
  const startup = await service.start();
  if (pinned !== undefined) {
    // a pinned instance exists to serve this one model: refusing it is the answer, not a retry
    const refusal = startup.result === 'failure' ? (startup.reason ?? 'load failed') : coverageGap(service);
    if (refusal !== null) {
      await service.close();
      throw new GateError(`--model-id ${pinned.modelId} refused: ${refusal}`);
    }
  } else if (startup.result === 'failure')
    logger.warn({ reason: startup.reason }, 'no model could be loaded yet; retrying');

  // a pinned instance never follows the pointer
  const watcher =
    pinned === undefined
      ? new PointerWatcher(pointerPath(registry), () => void service.reload('pointer'), {
          pollMs: settings.pointerPollMs,
          onError: (error) => logger.warn({ error: getErrorMessage(error) }, 'pointer watch error'),
        })
      : undefined;
  await watcher?.start();
  let follower: GitFollower | undefined;
  if (clone) {
    follower = new GitFollower(
      clone,
      settings.git!.intervalMs,
      (head) => {
        logger.info({ head }, 'GitOps branch moved');
        void service.refresh().then(() => service.reload('git'));
      },
      (error) => logger.warn({ error: getErrorMessage(error) }, 'git sync failed; will retry next interval'),
    );
    const gitFollower = follower;
    service.followGit(() => gitFollower.status());
    follower.start();
  }

  const shutdown = new GracefulShutdown(service, {
    graceMs: settings.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
    drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
    logger,
  });
  const app = buildApp({ service, shutdown, ...(token ? { adminToken: token } : {}) });
  let server: RunningServer;
  try {
    server = await listen(app, service, { host: settings.host, port: settings.port, logger });
  } catch (error) {
    await watcher?.stop();
    await follower?.stop();
    await service.close();
    throw error;
  }
  logger.info(
    {
      url: server.url,
      admin: token ? 'enabled' : 'disabled',
      registry,
      ...(pinned !== undefined ? { pinnedModel: pinned.modelId } : {}),
    },
    'fleetcast serve listening',
  );
  // once: a signal during POST /admin/shutdown's grace period and the drain after it share this
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      service.beginShutdown('signal'); // no-op when POST /admin/shutdown came first
      await watcher?.stop();
      await follower?.stop();
      await server.close();
    })());
  shutdown.attach(close);
  return { service, server, shutdown, close };
}
