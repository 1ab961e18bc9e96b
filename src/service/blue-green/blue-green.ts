import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GateError, FleetcastError, InputError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { verifyChecksums } from '../../registry/checksums.js';
import { modelDir } from '../../registry/layout.js';
import { readActive, writeActive, type ActiveFile, type ActiveInstance } from './active-file.js';
import { answers, requestShutdown, waitReady, warmUp, type WarmUpResult } from './checks.js';
import { processAlive, startInstance } from './instance.js';

export interface BlueGreenSettings {
  modelId: string;
  registry: string;
  /** The traffic switch (active.json). */
  activeFile: string;
  /** `fleetcast serve` options for the new instance besides --registry, --model-id, --sha256. */
  serveArgs: readonly string[];
  /** Where the new instance's stdout and stderr go (default: beside the active file). */
  logFile?: string;
  /** Drains the old instance (POST /admin/shutdown); the new one inherits it from the environment. Required. */
  adminToken?: string;
  /** Waits for listening + readiness of the new instance. */
  readyTimeoutMs: number;
  /** Waits for the old instance to exit after its shutdown was accepted. */
  drainTimeoutMs: number;
  logger?: Logger;
}

/** What `fleetcast blue-green --json` prints. */
export interface BlueGreenReport {
  result: 'switched' | 'unchanged';
  model_id: string;
  url: string;
  pid: number | null;
  log_file: string | null;
  warm_up: WarmUpResult | null;
  previous: (ActiveInstance & { drained: boolean; exited_after_ms: number | null }) | null;
  switched_at: string | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Blue-green (the design's Phase 5 Option B): start an instance pinned to the new model, wait for
 * its readiness and a warm-up forecast of the whole fleet, switch traffic (active.json, one
 * rename), then drain the old instance with POST /admin/shutdown. Until the switch nothing the
 * old instance serves changes: a new instance that is not ready or not covering is stopped and
 * the error says why (exit 3).
 */
export async function blueGreen(settings: BlueGreenSettings): Promise<BlueGreenReport> {
  const { modelId, logger } = settings;
  const old = await readActive(settings.activeFile);
  if (old !== null && old.model_id === modelId && (await answers(old.url)))
    return {
      result: 'unchanged',
      model_id: modelId,
      url: old.url,
      pid: old.pid,
      log_file: null,
      warm_up: null,
      previous: null,
      switched_at: null,
    };
  // the old instance is drained with it, and the new one must be drainable by the next switch
  if (settings.adminToken === undefined || settings.adminToken === '')
    throw new InputError(
      'FLEETCAST_ADMIN_TOKEN is required: instances are drained with POST /admin/shutdown, which needs it',
    );

  const verified = await verifyChecksums(modelDir(settings.registry, modelId));
  if (!verified.ok)
    throw new InputError(`--model-id ${modelId}: the model does not verify: ${verified.problems.join('; ')}`);

  const logFile = settings.logFile ?? join(dirname(settings.activeFile), `fleetcast-${modelId}.log`);
  for (const dir of new Set([dirname(settings.activeFile), dirname(logFile)]))
    await mkdir(dir, { recursive: true, mode: 0o700 });
  // one budget for listening, readiness and the warm-up together (--ready-timeout)
  const deadline = Date.now() + settings.readyTimeoutMs;
  const left = (): number => Math.max(1, deadline - Date.now());
  const started = await startInstance(
    [
      ...settings.serveArgs,
      '--registry',
      settings.registry,
      '--model-id',
      modelId,
      '--sha256',
      verified.digest,
    ],
    logFile,
    left(),
  ).catch((error: unknown) => {
    // the instance exited or never listened: a refusal; anything else (I/O) is itself
    if (!(error instanceof FleetcastError)) throw error;
    throw new GateError(`refusing to switch to ${modelId}: ${error.message}${keepsServing(old)}`);
  });
  logger?.info({ url: started.url, pid: started.pid, logFile }, 'new instance listening');

  const refuse = async (why: string): Promise<never> => {
    // nothing was switched: the new instance goes, the old one keeps every request
    if (processAlive(started.pid)) process.kill(started.pid, 'SIGTERM');
    throw new GateError(`refusing to switch to ${modelId}: ${why}${keepsServing(old)} (log: ${logFile})`);
  };
  const ready = await waitReady(started.url, modelId, left(), () => processAlive(started.pid));
  if (!ready.ready) return refuse(`the new instance at ${started.url} is not ready: ${ready.reason}`);
  const warm = await warmUp(started.url, modelId, left()).catch((error: unknown): WarmUpResult => ({
    expected: 0,
    answered: 0,
    problems: [`warm-up forecast failed: ${(error as Error).message}`],
    duration_ms: 0,
  }));
  if (warm.problems.length > 0)
    return refuse(`the warm-up forecast of the whole fleet does not cover it: ${warm.problems.join('; ')}`);
  logger?.info({ expected: warm.expected, durationMs: warm.duration_ms }, 'warm-up covered the fleet');

  const active: ActiveFile = {
    format_version: 1,
    url: started.url,
    model_id: modelId,
    pid: started.pid,
    switched_at: new Date().toISOString(),
    previous: old === null ? null : { url: old.url, model_id: old.model_id, pid: old.pid },
  };
  await writeActive(settings.activeFile, active);
  logger?.info({ from: old?.model_id ?? null, to: modelId }, 'traffic switched');

  const report: BlueGreenReport = {
    result: 'switched',
    model_id: modelId,
    url: started.url,
    pid: started.pid,
    log_file: logFile,
    warm_up: warm,
    previous: null,
    switched_at: active.switched_at,
  };
  if (old === null) return report;
  const drained = await drainOld(old, settings.adminToken, settings.drainTimeoutMs);
  report.previous = { ...old, drained: true, exited_after_ms: drained };
  return report;
}

function keepsServing(old: ActiveFile | null): string {
  return old === null ? '' : `; ${old.model_id} at ${old.url} keeps serving`;
}

/**
 * POST /admin/shutdown to the old instance, then waits until it is gone: its process (when
 * blue-green started it on this host) or its listener. Returns how long that took. The switch has
 * happened by now, so a failure here is exit 1 with what to do, not a rollback.
 */
async function drainOld(old: ActiveFile, token: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  const shutdown = await requestShutdown(old.url, token);
  if (!shutdown.accepted) {
    if (!(await answers(old.url))) return Date.now() - started; // already gone
    throw new FleetcastError(
      `traffic is switched, but the old instance (${old.model_id} at ${old.url}) did not accept the shutdown: ${shutdown.reason}; stop it by hand`,
    );
  }
  const deadline = Date.now() + timeoutMs;
  const gone = async (): Promise<boolean> =>
    old.pid !== null ? !processAlive(old.pid) : !(await answers(old.url));
  while (!(await gone())) {
    if (Date.now() > deadline)
      throw new FleetcastError(
        `traffic is switched, but the old instance (${old.model_id} at ${old.url}) is still running ${timeoutMs / 1000} s after its shutdown was accepted`,
      );
    await sleep(200);
  }
  return Date.now() - started;
}
