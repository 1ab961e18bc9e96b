import type { Counter } from 'prom-client';
import { getErrorMessage } from '../../core/errors.js';
import { ModelOutputError } from '../../model/model-load-error.js';
import type { ForecastInput, ForecastOutcomes, ForecastResult, ServingModel } from '../serving-model.js';
import { ModelUnavailableError } from './errors.js';
import type { FleetMember } from './fleet.js';
import {
  batchMeta,
  fleetEntries,
  fleetProfiles,
  planInputs,
  type FleetForecast,
  type ForecastBatch,
  type MissingForecast,
} from './forecast-batch.js';
import type { ForecastFailures } from './forecast-failures.js';
import { formatForecast, type ServerForecast } from './forecast-format.js';
import type { ModelLease, ModelSlot } from './model-slot.js';
import { fleetCoverage } from './monitor.js';
import type { ServiceState } from './service-state.js';
import type { UnknownPredictionTracker } from './unknown-tracker.js';
import type { WindowCache, WindowSnapshot } from './window-cache.js';

export interface ForecasterDeps {
  slot: ModelSlot;
  windows: WindowCache;
  /** The fleet, whether there is a manifest, why no model serves, and the clock. */
  state: Pick<ServiceState, 'fleetFor' | 'hasManifest' | 'swap' | 'now' | 'publicText'>;
  unknown: UnknownPredictionTracker;
  /** fleetcast_predictions_total, by `known`. */
  predictions: Counter<'known'>;
  /** fleetcast_forecast_failures_total, by `reason`. */
  failureCount: Counter<'reason'>;
  /** The servers whose latest forecast failed. */
  failures: ForecastFailures;
  /** A server's data older than this is stale, for this model. */
  staleAfterSeconds(model: ServingModel): number;
  /** A model call's output could not be attributed to servers (wrong shape): nothing was served. */
  onModelError(model: ServingModel, error: ModelOutputError): void;
  /** Servers per model call in the streamed fleet forecast. */
  chunkSize: number;
  /**
   * A/B (candidate.ts): a lease on the candidate and the servers it serves, for one request; null
   * when no candidate serves. Its servers are forecast by it, each forecast says so (`model_id`).
   */
  abCandidate?(serving: ServingModel): AbLease | null;
  /** The forecasts just served, with the windows they came from (live accuracy); must not throw. */
  onServed?(model: ServingModel, snapshot: WindowSnapshot, results: readonly ForecastResult[]): void;
}

export interface AbLease {
  lease: ModelLease;
  serves(server: string): boolean;
}

/** A plan's inputs as served: the serving model's share and, in A/B, the candidate's. */
interface RoutedRun {
  serving: { inputs: readonly ForecastInput[]; outcomes: ForecastOutcomes };
  candidate: { model: ServingModel; inputs: readonly ForecastInput[]; outcomes: ForecastOutcomes } | null;
}

/**
 * Forecasts with whatever model the slot serves: each request holds a lease on its model for its
 * whole duration (a swap releases the old session only after its last request), reads the
 * in-memory windows, and forecasts server by server: a server whose window or forecast is unusable
 * is reported missing with its reason (and counted), every other server gets its forecast.
 * Forecasts are counted as known or unknown once per server and forecast cycle.
 */
export class Forecaster {
  /** Each fleet (cached per windows snapshot and manifest) by name, built once per fleet. */
  private readonly byName = new WeakMap<readonly FleetMember[], ReadonlyMap<string, FleetMember>>();

  constructor(private readonly deps: ForecasterDeps) {}

  private members(fleet: readonly FleetMember[]): ReadonlyMap<string, FleetMember> {
    let index = this.byName.get(fleet);
    if (index === undefined) {
      index = new Map(fleet.map((s) => [s.name, s]));
      this.byName.set(fleet, index);
    }
    return index;
  }

  /** Forecasts the named servers (already validated names). */
  async predict(servers: readonly string[]): Promise<ForecastBatch> {
    return this.withModel(async (model, snapshot) => {
      const fleet = this.deps.state.fleetFor(snapshot);
      return this.forecastMany(model, snapshot, [...new Set(servers)], fleet);
    });
  }

  /** The whole fleet in one batch, with coverage. */
  async fleetForecast(): Promise<FleetForecast> {
    return this.withModel(async (model, snapshot) => {
      const fleet = this.deps.state.fleetFor(snapshot);
      const names = fleet.map((s) => s.name);
      const { forecasts, missing, ...meta } = await this.forecastMany(model, snapshot, names, fleet);
      return {
        ...meta,
        coverage: fleetCoverage(model, fleet, snapshot.windows, this.deps.state.hasManifest),
        servers: fleetEntries(model, fleet, forecasts, missing),
        missing,
      };
    });
  }

  /**
   * The same document as `fleetForecast()`, as JSON text in pieces for a streamed response. The
   * fleet goes to the model in chunks with the next chunk queued before the current one is awaited,
   * so each chunk is formatted, serialized and sent while the model computes the next one: the JSON
   * and HTTP work overlaps the model instead of following it. `missing` comes last, once every
   * chunk has said which servers failed. Errors that decide the status code (no model: 503;
   * unreadable metrics) are thrown here, before the first piece.
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
    const pending: Array<Promise<RoutedRun>> = [];
    const ab = this.deps.abCandidate?.(lease.model) ?? null;
    try {
      const model = lease.model;
      const snapshot = await this.snapshotFor(model);
      const fleet = this.deps.state.fleetFor(snapshot);
      const profiles = fleetProfiles(fleet);
      const chunks: FleetMember[][] = [];
      for (let i = 0; i < fleet.length; i += chunkSize) chunks.push(fleet.slice(i, i + chunkSize));
      const plans = chunks.map((chunk) =>
        planInputs(
          model,
          snapshot,
          chunk.map((s) => s.name),
          profiles,
        ),
      );
      const start = (i: number): void => {
        const plan = plans[i];
        if (plan === undefined || pending[i] !== undefined) return;
        const run = this.runRouted(model, plan.inputs, ab);
        run.catch(() => undefined); // awaited below; this keeps an abandoned chunk from being unhandled
        pending[i] = run;
      };
      start(0);
      const head = JSON.stringify({
        ...batchMeta(model, this.deps.state.now()),
        coverage: fleetCoverage(model, fleet, snapshot.windows, this.deps.state.hasManifest),
      });
      yield `${head.slice(0, -1)},"servers":[`;
      const missing: MissingForecast[] = [];
      for (let i = 0; i < chunks.length; i++) {
        start(i + 1);
        const plan = plans[i]!;
        const { forecasts, failed } = this.recordRouted(model, snapshot, fleet, plan, await pending[i]!);
        const chunkMissing = [...plan.missing, ...failed];
        missing.push(...chunkMissing);
        const entries = JSON.stringify(fleetEntries(model, chunks[i]!, forecasts, chunkMissing));
        yield `${i > 0 ? ',' : ''}${entries.slice(1, -1)}`;
      }
      yield `],"missing":${JSON.stringify(missing)}}`;
    } finally {
      // a stopped consumer must not release the model under a chunk still running on it
      await Promise.allSettled(pending);
      ab?.lease.done();
      lease.done();
    }
  }

  private unavailable(): ModelUnavailableError {
    const reason = this.deps.state.swap.failure?.reason;
    return new ModelUnavailableError(
      reason === undefined ? 'no model loaded yet' : this.deps.state.publicText(reason),
    );
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
    fleet: readonly FleetMember[],
  ): Promise<ForecastBatch> {
    const plan = planInputs(model, snapshot, servers, fleetProfiles(fleet));
    const ab = this.deps.abCandidate?.(model) ?? null;
    let routed: RoutedRun;
    try {
      routed = await this.runRouted(model, plan.inputs, ab);
    } finally {
      ab?.lease.done();
    }
    const { forecasts, failed } = this.recordRouted(model, snapshot, fleet, plan, routed);
    return {
      ...batchMeta(model, this.deps.state.now()),
      forecasts,
      missing: [...plan.missing, ...failed],
    };
  }

  /** The plan's inputs on the serving model, and in A/B the candidate's servers on the candidate, at once. */
  private async runRouted(
    model: ServingModel,
    inputs: readonly ForecastInput[],
    ab: AbLease | null,
  ): Promise<RoutedRun> {
    if (ab === null) return { serving: { inputs, outcomes: await this.run(model, inputs) }, candidate: null };
    const mine: ForecastInput[] = [];
    const theirs: ForecastInput[] = [];
    for (const input of inputs) (ab.serves(input.server) ? theirs : mine).push(input);
    const candidate = ab.lease.model;
    const [servingOut, candidateOut] = await Promise.all([
      this.run(model, mine),
      this.run(candidate, theirs),
    ]);
    return {
      serving: { inputs: mine, outcomes: servingOut },
      candidate: { model: candidate, inputs: theirs, outcomes: candidateOut },
    };
  }

  /** `record` of each model's part; in A/B every forecast names the model that made it. */
  private recordRouted(
    model: ServingModel,
    snapshot: WindowSnapshot,
    fleet: readonly FleetMember[],
    plan: { inputs: readonly ForecastInput[]; invalid: ForecastOutcomes['failures'] },
    routed: RoutedRun,
  ): { forecasts: ServerForecast[]; failed: MissingForecast[] } {
    const served = this.record(
      model,
      snapshot,
      fleet,
      { inputs: routed.serving.inputs, invalid: plan.invalid },
      routed.serving.outcomes,
    );
    const ab = routed.candidate;
    if (ab === null) return served;
    const byCandidate = this.record(
      ab.model,
      snapshot,
      fleet,
      { inputs: ab.inputs, invalid: [] },
      ab.outcomes,
    );
    const order = new Map(plan.inputs.map((input, i) => [input.server, i]));
    const forecasts = [
      ...served.forecasts.map((f) => ({ ...f, model_id: model.id })),
      ...byCandidate.forecasts.map((f) => ({ ...f, model_id: ab.model.id })),
    ].sort((a, b) => (order.get(a.server) ?? 0) - (order.get(b.server) ?? 0));
    return { forecasts, failed: [...served.failed, ...byCandidate.failed] };
  }

  /**
   * One model call. When its output has the wrong shape, every server of the call is counted as
   * failed (`output_shape`) and the error goes on: nothing of it is served. Other errors (a dead
   * worker) go on as they are.
   */
  private async run(model: ServingModel, inputs: readonly ForecastInput[]): Promise<ForecastOutcomes> {
    if (inputs.length === 0) return { results: [], failures: [] };
    try {
      return await model.forecastEach(inputs);
    } catch (error) {
      if (error instanceof ModelOutputError) {
        const message = getErrorMessage(error);
        this.deps.failures.failAll(
          inputs.map((i) => i.server),
          'output_shape',
          message,
        );
        this.deps.failureCount.inc({ reason: 'output_shape' }, inputs.length);
        this.deps.onModelError(model, error);
      }
      throw error; // a dead worker, say: the request fails (500) and the crash reload takes over
    }
  }

  /**
   * Formats the usable forecasts and turns failures (from planning and from the model) into
   * missing entries; records both (failure list, counters) and counts each forecast as known or
   * unknown in its cycle (pending servers apart).
   */
  private record(
    model: ServingModel,
    snapshot: WindowSnapshot,
    fleet: readonly FleetMember[],
    plan: { inputs: readonly ForecastInput[]; invalid: ForecastOutcomes['failures'] },
    outcomes: ForecastOutcomes,
  ): { forecasts: ServerForecast[]; failed: MissingForecast[] } {
    const { failures, failureCount, unknown: tracker, predictions } = this.deps;
    const members = this.members(fleet);
    const profiles = new Map(plan.inputs.map((i) => [i.server, i.profile ?? null]));
    const staleBefore = this.deps.state.now().getTime() / 1000 - this.deps.staleAfterSeconds(model);
    let unknown = 0;
    const forecasts = outcomes.results.map((result) => {
      failures.succeed(result.server);
      tracker.record(
        snapshot.cycle,
        result.server,
        result.known,
        (members.get(result.server)?.pending ?? null) !== null,
      );
      if (!result.known) unknown++;
      const profile = result.known
        ? (model.encoders.server_profiles[result.server] ?? null)
        : (profiles.get(result.server) ?? null);
      const imputed = snapshot.windows.get(result.server)?.imputed ?? [];
      return formatForecast(result, model.encoders, profile, staleBefore, imputed);
    });
    try {
      this.deps.onServed?.(model, snapshot, outcomes.results);
    } catch {
      // live accuracy logs and counts its own errors; it never fails a request
    }
    if (forecasts.length - unknown > 0) predictions.inc({ known: 'true' }, forecasts.length - unknown);
    if (unknown > 0) predictions.inc({ known: 'false' }, unknown);
    const failed = [...plan.invalid, ...outcomes.failures].map((failure) => {
      failures.fail(failure);
      failureCount.inc({ reason: failure.reason });
      return { server: failure.server, reason: `${failure.reason}: ${failure.message}` };
    });
    return { forecasts, failed };
  }
}
