import type { Counter } from 'prom-client';
import type { ForecastInput, ForecastResult, ServingModel } from '../serving-model.js';
import { ModelUnavailableError } from './errors.js';
import type { FleetMember } from './fleet.js';
import {
  batchMeta,
  fleetEntries,
  fleetProfiles,
  planInputs,
  type FleetForecast,
  type ForecastBatch,
} from './forecast-batch.js';
import { formatForecast, type ServerForecast } from './forecast-format.js';
import type { ModelSlot } from './model-slot.js';
import { fleetCoverage } from './monitor.js';
import type { ServiceState } from './service-state.js';
import type { UnknownPredictionTracker } from './unknown-tracker.js';
import type { WindowCache, WindowSnapshot } from './window-cache.js';

export interface ForecasterDeps {
  slot: ModelSlot;
  windows: WindowCache;
  /** The fleet, whether there is a manifest, why no model serves, and the clock. */
  state: Pick<ServiceState, 'fleetFor' | 'hasManifest' | 'swap' | 'now'>;
  unknown: UnknownPredictionTracker;
  /** fleetcast_predictions_total, by `known`. */
  predictions: Counter<'known'>;
  /** Servers per model call in the streamed fleet forecast. */
  chunkSize: number;
}

/**
 * Forecasts with whatever model the slot serves: each request holds a lease on its model for its
 * whole duration (a swap releases the old session only after its last request), reads the
 * in-memory windows, and counts every forecast as known or unknown.
 */
export class Forecaster {
  constructor(private readonly deps: ForecasterDeps) {}

  /** Forecasts the named servers (already validated names). */
  async predict(servers: readonly string[]): Promise<ForecastBatch> {
    return this.withModel(async (model, snapshot) => {
      const profiles = fleetProfiles(this.deps.state.fleetFor(snapshot));
      return this.forecastMany(model, snapshot, [...new Set(servers)], profiles);
    });
  }

  /** The whole fleet in one batch, with coverage. */
  async fleetForecast(): Promise<FleetForecast> {
    return this.withModel(async (model, snapshot) => {
      const fleet = this.deps.state.fleetFor(snapshot);
      const names = fleet.map((s) => s.name);
      const { forecasts, ...rest } = await this.forecastMany(model, snapshot, names, fleetProfiles(fleet));
      return {
        ...rest,
        coverage: fleetCoverage(model, fleet, snapshot.windows, this.deps.state.hasManifest),
        servers: fleetEntries(model, fleet, forecasts, rest.missing),
      };
    });
  }

  /**
   * The same document as `fleetForecast()`, as JSON text in pieces for a streamed response. The
   * fleet goes to the model in chunks with the next chunk queued before the current one is awaited,
   * so each chunk is formatted, serialized and sent while the model computes the next one: the JSON
   * and HTTP work overlaps the model instead of following it. Errors that decide the status code
   * (no model: 503; unreadable metrics) are thrown here, before the first piece.
   */
  async fleetForecastJson(chunkSize = this.deps.chunkSize): Promise<AsyncGenerator<string>> {
    // Pre-flight with a short lease; the generator takes its own lease when it starts, so a
    // generator that is never iterated holds nothing.
    await this.withModel(async () => undefined);
    return this.fleetJsonPieces(chunkSize);
  }

  private async *fleetJsonPieces(chunkSize: number): AsyncGenerator<string> {
    const lease = this.deps.slot.acquire();
    if (lease === null) throw this.unavailable();
    const pending: Array<Promise<ForecastResult[]>> = [];
    try {
      const model = lease.model;
      const snapshot = await this.snapshotFor(model);
      const fleet = this.deps.state.fleetFor(snapshot);
      const profiles = fleetProfiles(fleet);
      const chunks: FleetMember[][] = [];
      for (let i = 0; i < fleet.length; i += chunkSize) chunks.push(fleet.slice(i, i + chunkSize));
      const plans = chunks.map((chunk) =>
        planInputs(
          snapshot,
          chunk.map((s) => s.name),
          profiles,
        ),
      );
      const start = (i: number): void => {
        const plan = plans[i];
        if (plan === undefined || pending[i] !== undefined) return;
        const run = plan.inputs.length > 0 ? model.forecast(plan.inputs) : Promise.resolve([]);
        run.catch(() => undefined); // awaited below; this keeps an abandoned chunk from being unhandled
        pending[i] = run;
      };
      start(0);
      const head = JSON.stringify({
        ...batchMeta(model, this.deps.state.now()),
        missing: plans.flatMap((p) => p.missing),
        coverage: fleetCoverage(model, fleet, snapshot.windows, this.deps.state.hasManifest),
      });
      yield `${head.slice(0, -1)},"servers":[`;
      for (let i = 0; i < chunks.length; i++) {
        start(i + 1);
        const plan = plans[i]!;
        const forecasts = this.recordResults(model, plan.inputs, await pending[i]!);
        const entries = JSON.stringify(fleetEntries(model, chunks[i]!, forecasts, plan.missing));
        yield `${i > 0 ? ',' : ''}${entries.slice(1, -1)}`;
      }
      yield ']}';
    } finally {
      // a stopped consumer must not release the model under a chunk still running on it
      await Promise.allSettled(pending);
      lease.done();
    }
  }

  private unavailable(): ModelUnavailableError {
    return new ModelUnavailableError(this.deps.state.swap.failure?.reason ?? 'no model loaded yet');
  }

  private async snapshotFor(model: ServingModel): Promise<WindowSnapshot> {
    return this.deps.windows.get(model.encoders) ?? (await this.deps.windows.ensure(model.encoders));
  }

  private async withModel<T>(fn: (model: ServingModel, snapshot: WindowSnapshot) => Promise<T>): Promise<T> {
    const lease = this.deps.slot.acquire();
    if (lease === null) throw this.unavailable();
    try {
      return await fn(lease.model, await this.snapshotFor(lease.model));
    } finally {
      lease.done();
    }
  }

  private async forecastMany(
    model: ServingModel,
    snapshot: WindowSnapshot,
    servers: readonly string[],
    profiles: ReadonlyMap<string, string | null>,
  ): Promise<ForecastBatch> {
    const { inputs, missing } = planInputs(snapshot, servers, profiles);
    const results = inputs.length > 0 ? await model.forecast(inputs) : [];
    return {
      ...batchMeta(model, this.deps.state.now()),
      forecasts: this.recordResults(model, inputs, results),
      missing,
    };
  }

  /** Formats results and counts them as known/unknown predictions (rolling rate, /metrics). */
  private recordResults(
    model: ServingModel,
    inputs: readonly ForecastInput[],
    results: readonly ForecastResult[],
  ): ServerForecast[] {
    let unknown = 0;
    const forecasts = results.map((result, i) => {
      this.deps.unknown.record(result.server, result.known);
      if (!result.known) unknown++;
      const profile = result.known
        ? (model.encoders.server_profiles[result.server] ?? null)
        : (inputs[i]!.profile ?? null);
      return formatForecast(result, model.encoders, profile);
    });
    const { predictions } = this.deps;
    if (results.length - unknown > 0) predictions.inc({ known: 'true' }, results.length - unknown);
    if (unknown > 0) predictions.inc({ known: 'false' }, unknown);
    return forecasts;
  }
}
