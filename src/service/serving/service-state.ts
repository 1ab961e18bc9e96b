import type { ServingModel } from '../serving-model.js';
import type { FleetMember, ManifestEntry } from './fleet.js';
import type { SwapController } from './swap.js';
import type { UnknownPredictionTracker } from './unknown-tracker.js';
import type { WindowSnapshot } from './window-cache.js';

/** The last failed refresh of the input windows (the previous windows stay in use). */
export interface WindowError {
  at: string;
  message: string;
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
  /** The fleet (manifest ∪ live servers) of a windows snapshot. */
  fleetFor(snapshot: WindowSnapshot): FleetMember[];
  now(): Date;
}
