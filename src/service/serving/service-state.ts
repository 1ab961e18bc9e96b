import type { ServingModel } from '../serving-model.js';
import type { FleetMember, ManifestEntry } from './fleet.js';
import type { ForecastFailures } from './forecast-failures.js';
import type { SwapController } from './swap.js';
import type { CandidateEvaluator } from './candidate.js';
import type { LiveAccuracy } from './live-accuracy.js';
import type { UnknownPredictionTracker } from './unknown-tracker.js';
import type { WindowSnapshot } from './window-cache.js';

/** The last failed refresh of the input windows (the previous windows stay in use). */
export interface WindowError {
  at: string;
  message: string;
}

/** A model call that failed as a whole: its output could not be attributed to servers. */
export interface ModelError {
  at: string;
  modelId: string;
  message: string;
}

/** The GitOps clone's follower (`--git`), as /health reports it. */
export interface GitSyncStatus {
  branch: string;
  /** The clone's HEAD commit (null before the first sync). */
  head: string | null;
  /** Last successful fetch (ISO 8601). */
  lastSyncAt: string | null;
  /** The last attempt's error while syncs fail; null once one succeeds. */
  lastError: { at: string; message: string; since?: string } | null;
}

/** A requested shutdown: readiness is false from `at` on, so load balancers stop sending (shutdown.ts). */
export interface ShutdownState {
  /** `admin`: POST /admin/shutdown; `signal`: SIGTERM / SIGINT. */
  trigger: 'admin' | 'signal';
  at: string;
}

/**
 * What /health, /status and /metrics read from the service. ForecastService implements it; the
 * responses are built by pure functions of it (health.ts, status.ts).
 */
export interface ServiceState {
  /** The serving model; null until one is loaded. */
  readonly model: ServingModel | null;
  /** The serving model's input windows; undefined before they are loaded. */
  readonly snapshot: WindowSnapshot | undefined;
  readonly windowError: WindowError | null;
  readonly swap: Pick<SwapController, 'failure' | 'pointer' | 'lastSwap' | 'lastOutcome'>;
  /** Reload attempts that failed since the service started. */
  readonly failedSwaps: number;
  /** Whether the service follows a manifest (`manifest` is null until it is first read). */
  readonly hasManifest: boolean;
  readonly manifest: readonly ManifestEntry[] | null;
  readonly unknown: Pick<UnknownPredictionTracker, 'stats'>;
  /** Servers whose latest forecast failed (bad window or output), since the model was swapped in. */
  readonly failures: Pick<ForecastFailures, 'list' | 'size' | 'countByReason'>;
  /** Served forecasts scored against later actuals. */
  readonly live: Pick<LiveAccuracy, 'summary' | 'errors'>;
  /** The pointer's candidate model, evaluated beside the serving one. */
  readonly candidate: Pick<CandidateEvaluator, 'status'>;
  /** Whether the serving model's directory is still in the registry (null without a model). */
  readonly modelInRegistry: boolean | null;
  /** A server whose newest data is older than this is stale (null without a model). */
  readonly staleAfterSeconds: number | null;
  /** The last whole-batch failure of the serving model (cleared by a swap). */
  readonly modelError: ModelError | null;
  /** The GitOps follower; null when the service follows a local registry. */
  readonly gitSync: GitSyncStatus | null;
  /** Set once a shutdown is requested: /readyz is false from then on. */
  readonly shuttingDown: ShutdownState | null;
  /** The fleet (manifest ∪ live servers) of a windows snapshot. */
  fleetFor(snapshot: WindowSnapshot): FleetMember[];
  /** A message fit for unauthenticated answers: no absolute paths of this host (public-text.ts). */
  publicText(text: string): string;
  now(): Date;
}
