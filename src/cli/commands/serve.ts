import { METRIC_SET_HELP, METRIC_SET_OPTION } from '../fleet-options.js';
import type { Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { InputError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';

interface ServeOptions {
  registry?: string;
  metrics: string;
  metricSet?: string;
  manifest?: string;
  host: string;
  port: string;
  git?: string;
  branch: string;
  interval: string;
  clone?: string;
  stateDir?: string;
  refresh: string;
  staleAfter?: string;
  poll: string;
  unknownWindow: string;
  activeWithin?: string;
  modelThread: string;
  modelId?: string;
  sha256?: string;
  shutdownGrace: string;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('Serve forecasts from the model named by <registry>/current.json, hot-swapping on change')
    .option(
      '--registry <dir>',
      'model registry directory (with --git: a path inside the clone; default models-registry)',
    )
    .requiredOption(
      '--metrics <src>',
      'metrics source for input windows: parquet file, glob, directory or DuckDB file',
    )
    .option(METRIC_SET_OPTION, METRIC_SET_HELP)
    .option(
      '--manifest <path>',
      'fleet manifest: every model must cover it (with --git: a path inside the clone)',
    )
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '8000')
    .option('--git <remote>', 'follow a GitOps repository: keep a clone of it and serve its registry')
    .option('--branch <name>', 'branch to follow with --git', 'main')
    .option('--interval <duration>', 'how often --git fetches', '30s')
    .option('--clone <dir>', 'where --git keeps its clone (default: a directory under the temp dir)')
    .option(
      '--state-dir <dir>',
      "the service's own state (live accuracy), never in the GitOps repository (default: a private directory under the temp dir)",
    )
    .option('--refresh <duration>', 'how often input windows and the manifest are reloaded', '60s')
    .option(
      '--stale-after <duration>',
      "a server whose data ends longer ago is stale: flagged, and /health degraded (default: 2 × the longer of --refresh and the model's resolution)",
    )
    .option('--poll <duration>', 'pointer polling interval (fallback to file events)', '2s')
    .option('--unknown-window <duration>', 'rolling window of the unknown-prediction rate', '1h')
    .option(
      '--active-within <duration>',
      'servers with data this recent (vs the newest data) are in the fleet',
      '7d',
    )
    .option(
      '--model-thread <where>',
      'worker: sessions in two worker threads, so loading never stalls requests; main: lower per-request overhead',
      'worker',
    )
    .option(
      '--model-id <id>',
      'serve this model only, never following current.json (blue-green); refuses to start unless it verifies and covers the manifest',
    )
    .option('--sha256 <hex>', "with --model-id: the SHA256SUMS digest the model's files must have")
    .option(
      '--shutdown-grace <duration>',
      'after POST /admin/shutdown: how long /readyz is false before in-flight requests are drained',
      '5s',
    )
    .addHelpText(
      'after',
      '\nEnvironment:\n  FLEETCAST_ADMIN_TOKEN  enables POST /admin/reload-model and /admin/shutdown (Bearer token, at least 16 characters)',
    )
    .action(async (options: ServeOptions) => {
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new InputError(`--port: invalid port ${options.port}`);
      if (options.registry === undefined && options.git === undefined)
        throw new InputError('--registry is required (or --git)');
      if (options.modelThread !== 'worker' && options.modelThread !== 'main')
        throw new InputError(
          `--model-thread: expected worker or main, got ${JSON.stringify(options.modelThread)}`,
        );
      if (options.sha256 !== undefined && options.modelId === undefined)
        throw new InputError('--sha256 needs --model-id');
      if (options.sha256 !== undefined && !/^[0-9a-f]{64}$/i.test(options.sha256))
        throw new InputError(`--sha256: expected 64 hex digits, got ${JSON.stringify(options.sha256)}`);
      // Loaded on use: the service pulls in onnxruntime and fastify, which other commands do not need.
      const { runService } = await import('../../service/run.js');
      const { closeOnSignals } = await import('../../service/http/server.js');
      const { readManifestServers } = await import('../../service/serving/manifest.js');
      const { DEFAULT_ACTIVE_WITHIN_SECONDS } = await import('../../service/serving/metrics-windows.js');
      const logger = createLogger('fleetcast-serve');
      const running = await runService({
        registry: options.registry ?? 'models-registry',
        metrics: options.metrics,
        ...(options.metricSet !== undefined ? { metricSet: options.metricSet } : {}),
        ...(options.manifest !== undefined
          ? { manifest: options.manifest, readManifest: readManifestServers }
          : {}),
        host: options.host,
        port,
        ...(options.git !== undefined
          ? {
              git: {
                remote: options.git,
                branch: options.branch,
                intervalMs: parseDuration(options.interval, '--interval'),
                ...(options.clone !== undefined ? { cloneDir: options.clone } : {}),
              },
            }
          : {}),
        ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}),
        refreshMs: parseDuration(options.refresh, '--refresh'),
        ...(options.staleAfter !== undefined
          ? { staleAfterMs: parseDuration(options.staleAfter, '--stale-after') }
          : {}),
        pointerPollMs: parseDuration(options.poll, '--poll'),
        unknownWindowSeconds: parseDuration(options.unknownWindow, '--unknown-window') / 1000,
        activeWithinSeconds: options.activeWithin
          ? parseDuration(options.activeWithin, '--active-within') / 1000
          : DEFAULT_ACTIVE_WITHIN_SECONDS,
        ...(process.env.FLEETCAST_ADMIN_TOKEN ? { adminToken: process.env.FLEETCAST_ADMIN_TOKEN } : {}),
        modelThread: options.modelThread,
        ...(options.modelId !== undefined
          ? {
              pinnedModel: {
                modelId: options.modelId,
                ...(options.sha256 !== undefined ? { sha256: options.sha256 } : {}),
              },
            }
          : {}),
        shutdownGraceMs: parseDuration(options.shutdownGrace, '--shutdown-grace'),
        logger,
      });
      process.stdout.write(`fleetcast serve: listening on ${running.server.url}\n`);
      // a signal, or POST /admin/shutdown once it has drained: either way exit 0
      await Promise.race([
        new Promise<void>((resolve) => closeOnSignals(running, logger, resolve)),
        running.shutdown.closed,
      ]);
    });
}
