import type { Command } from 'commander';
import { resolve } from 'node:path';
import { parseDuration } from '../../core/duration.js';
import { InputError } from '../../core/errors.js';
import { printJson } from '../../core/json-output.js';
import { createLogger } from '../../core/logger.js';
import { METRIC_SET_HELP, METRIC_SET_OPTION } from '../fleet-options.js';

interface BlueGreenOptions {
  modelId: string;
  registry: string;
  metrics: string;
  metricSet?: string;
  manifest?: string;
  activeFile: string;
  host: string;
  port: string;
  stateDir?: string;
  refresh?: string;
  shutdownGrace?: string;
  modelThread?: string;
  logFile?: string;
  readyTimeout: string;
  drainTimeout: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('blue-green')
    .description(
      'Start an instance pinned to a model, check it is ready and covers the fleet, switch traffic (active.json), drain the old instance',
    )
    .requiredOption('--model-id <id>', 'the model the new instance serves')
    .requiredOption('--registry <dir>', 'model registry directory')
    .requiredOption('--metrics <src>', 'metrics source for the new instance (as fleetcast serve)')
    .option(METRIC_SET_OPTION, METRIC_SET_HELP)
    .option(
      '--manifest <path>',
      'fleet manifest: the new instance must cover it and answer every server in it',
    )
    .option('--active-file <path>', 'the traffic switch a client or proxy follows', 'active.json')
    .option('--host <host>', 'address the new instance binds', '127.0.0.1')
    .option('--port <port>', 'port of the new instance (0: a free one)', '0')
    .option(
      '--state-dir <dir>',
      "the new instance's state (default: state-<model id> beside the active file)",
    )
    .option('--refresh <duration>', "the new instance's --refresh")
    .option('--shutdown-grace <duration>', "the new instance's --shutdown-grace (when it is drained later)")
    .option('--model-thread <where>', "the new instance's --model-thread")
    .option(
      '--log-file <path>',
      "the new instance's stdout and stderr (default: fleetcast-<model id>.log beside the active file)",
    )
    .option(
      '--ready-timeout <duration>',
      'how long the new instance may take to listen, be ready and warm up',
      '5m',
    )
    .option(
      '--drain-timeout <duration>',
      'how long the old instance may take to exit after its shutdown is accepted',
      '2m',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nEnvironment:\n  FLEETCAST_ADMIN_TOKEN  required: drains the old instance, and the new one inherits it (never written to active.json)\n\nExit codes: 0 switched (or already serving), 2 bad input, 3 refused (the old instance keeps serving), 1 switched but the old instance did not drain.',
    )
    .action(async (options: BlueGreenOptions) => {
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new InputError(`--port: invalid port ${options.port}`);
      const activeFile = resolve(options.activeFile);
      const serveArgs = [
        '--metrics',
        options.metrics,
        '--host',
        options.host,
        '--port',
        String(port),
        '--state-dir',
        options.stateDir ?? resolve(activeFile, '..', `state-${options.modelId}`),
        ...(options.manifest !== undefined ? ['--manifest', options.manifest] : []),
        ...(options.metricSet !== undefined ? ['--metric-set', options.metricSet] : []),
        ...(options.refresh !== undefined ? ['--refresh', options.refresh] : []),
        ...(options.shutdownGrace !== undefined ? ['--shutdown-grace', options.shutdownGrace] : []),
        ...(options.modelThread !== undefined ? ['--model-thread', options.modelThread] : []),
      ];
      const { blueGreen } = await import('../../service/blue-green/blue-green.js');
      const report = await blueGreen({
        modelId: options.modelId,
        registry: resolve(options.registry),
        activeFile,
        serveArgs,
        ...(options.logFile !== undefined ? { logFile: resolve(options.logFile) } : {}),
        ...(process.env.FLEETCAST_ADMIN_TOKEN ? { adminToken: process.env.FLEETCAST_ADMIN_TOKEN } : {}),
        readyTimeoutMs: parseDuration(options.readyTimeout, '--ready-timeout'),
        drainTimeoutMs: parseDuration(options.drainTimeout, '--drain-timeout'),
        logger: createLogger('fleetcast-blue-green'),
      });
      if (options.json) return printJson(report);
      if (report.result === 'unchanged') {
        process.stdout.write(
          `${report.model_id} already serves at ${report.url} (${activeFile}); nothing to do\n`,
        );
        return;
      }
      const lines = [
        `switched: ${report.model_id} serves at ${report.url} (pid ${report.pid}, log ${report.log_file})`,
        `warm-up: ${report.warm_up!.answered}/${report.warm_up!.expected} servers answered in ${report.warm_up!.duration_ms} ms`,
        `traffic: ${activeFile} now names ${report.url}`,
        report.previous === null
          ? 'previous: none (first instance)'
          : `previous: ${report.previous.model_id} at ${report.previous.url} drained and exited after ${report.previous.exited_after_ms} ms`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
