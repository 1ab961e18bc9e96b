import * as ort from 'onnxruntime-node';
import { windowProblem, type ForecastInput } from '../features/forecast-input.js';
import { Encoders } from '../registry/schemas.js';
import { timeFeatureBlock, KNOWN_FEATURES } from '../features/time-features.js';
import { InputError } from '../core/errors.js';
import {
  FORECAST_FAILURE_REASONS,
  type ForecastFailure,
  type ForecastFailureReason,
  type ForecastOutcomes,
  type ForecastResult,
} from './forecast-outcomes.js';
import { ModelOutputError } from './model-load-error.js';
import { INPUT_NAMES, MODEL_FILE, OUTPUT_NAME, openModelFiles, type LoadOptions } from './open-model.js';

export { ModelOutputError };

export { INPUT_NAMES, MODEL_FILE, OUTPUT_NAME, type LoadOptions };
export type { ForecastInput };

export type { ForecastResult, ForecastFailure, ForecastFailureReason, ForecastOutcomes };
export { FORECAST_FAILURE_REASONS };

/** A verified model with one long-lived onnxruntime session. */
export class LoadedModel {
  readonly vocabulary: ReadonlySet<string>;
  private readonly profileIndex: ReadonlyMap<string, number>;
  private readonly maxBatch: number;
  private readonly inputNames: ReadonlySet<string>;
  private readonly knownCache = new Map<string, Float32Array>();
  private released = false;

  private constructor(
    readonly id: string,
    readonly dir: string,
    readonly digest: string,
    readonly encoders: Encoders,
    private readonly session: ort.InferenceSession,
    options: LoadOptions,
  ) {
    this.vocabulary = new Set(Object.keys(encoders.server_id.classes));
    this.profileIndex = new Map(Object.entries(encoders.profile.classes));
    this.maxBatch = options.maxBatch ?? 4096;
    this.inputNames = new Set(session.inputNames);
  }

  /**
   * Verifies every file against SHA256SUMS (and the pinned digest), validates encoders.json and
   * the ONNX signature, then opens one session from the bytes that were hashed.
   */
  static async load(dir: string, options: LoadOptions = {}): Promise<LoadedModel> {
    const { modelDir, digest, encoders, session } = await openModelFiles(dir, options);
    return new LoadedModel(encoders.model_id, modelDir, digest, encoders, session, options);
  }

  get lookback(): number {
    return this.encoders.lookback_steps;
  }
  get horizon(): number {
    return this.encoders.horizon_steps;
  }
  get stepSeconds(): number {
    return this.encoders.resolution_seconds;
  }

  /** Embedding row of a server; 0 (unknown) outside the vocabulary. */
  serverIndex(server: string): number {
    return this.encoders.server_id.classes[server] ?? 0;
  }

  /** Index into `values` of (step, target, quantile). */
  valueIndex(step: number, target: number, quantile: number): number {
    const { targets, quantiles } = this.encoders;
    return (step * targets.length + target) * quantiles.length + quantile;
  }

  /**
   * Forecasts a batch: one session.run per `maxBatch` inputs. Strict: a bad window fails the whole
   * call (InputError), and so does an output of the wrong shape (ModelOutputError); non-finite
   * forecast values are returned as they are. The service uses `forecastEach`.
   */
  async forecast(inputs: readonly ForecastInput[]): Promise<ForecastResult[]> {
    if (this.released) throw new Error(`model ${this.id} was released`);
    const results: ForecastResult[] = [];
    for (let i = 0; i < inputs.length; i += this.maxBatch) {
      results.push(...(await this.runBatch(inputs.slice(i, i + this.maxBatch))));
    }
    return results;
  }

  /**
   * Forecasts a batch server by server: a server whose window is unusable (wrong size, NaN or Inf)
   * is not sent to the model, and a server whose forecast has a NaN or Inf is not returned; each is
   * a failure with its reason, and every other server gets its forecast. An output of the wrong
   * shape still fails the whole call (ModelOutputError): its values belong to no server.
   */
  async forecastEach(inputs: readonly ForecastInput[]): Promise<ForecastOutcomes> {
    const failures: ForecastFailure[] = [];
    const invalid = (input: ForecastInput, message: string): void => {
      failures.push({
        server: input.server,
        known: this.vocabulary.has(input.server),
        reason: 'invalid_window',
        message,
      });
    };
    let usable: ForecastInput[] = [];
    const size = this.lookback * this.encoders.observed_features.length;
    for (const input of inputs) {
      if (input.past.length === size) usable.push(input);
      else invalid(input, this.windowProblem(input)!);
    }
    let forecasts: ForecastResult[];
    try {
      // buildFeeds scans every value once; only a batch with a bad window pays for a second scan
      forecasts = await this.forecast(usable);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      const checked: ForecastInput[] = [];
      for (const input of usable) {
        const problem = this.windowProblem(input);
        if (problem === undefined) checked.push(input);
        else invalid(input, problem);
      }
      usable = checked;
      forecasts = await this.forecast(usable);
    }
    const results: ForecastResult[] = [];
    for (const result of forecasts) {
      let bad = 0;
      for (const v of result.values) if (!Number.isFinite(v)) bad++;
      if (bad === 0) {
        results.push(result);
        continue;
      }
      failures.push({
        server: result.server,
        known: result.known,
        reason: 'non_finite_output',
        message: `the model returned non-finite forecast values (${bad} of ${result.values.length}) through ${result.known ? 'its own embedding row' : 'the unknown slot'}`,
      });
    }
    return { results, failures };
  }

  /** Why a lookback window cannot go to the model (wrong size, a NaN or Inf), or undefined. */
  windowProblem(input: ForecastInput): string | undefined {
    return windowProblem(input.past, this.encoders);
  }

  /** Builds the five input tensors for a batch (exposed for benchmarks against raw session.run). */
  buildFeeds(batch: readonly ForecastInput[]): Record<string, ort.Tensor> {
    const { lookback, horizon, stepSeconds } = this;
    const nObs = this.encoders.observed_features.length;
    const nKnown = KNOWN_FEATURES.length;
    const b = batch.length;
    const serverIdx = new Int32Array(b);
    const profileIdx = new Int32Array(b);
    const past = new Float32Array(b * lookback * nObs);
    const pastKnown = new Float32Array(b * lookback * nKnown);
    const futureKnown = new Float32Array(b * horizon * nKnown);
    batch.forEach((input, i) => {
      if (input.past.length !== lookback * nObs) {
        throw new InputError(
          `${input.server}: lookback window has ${input.past.length} values, expected ${lookback} steps × ${nObs} features`,
        );
      }
      const known = this.encoders.server_id.classes[input.server];
      serverIdx[i] = known ?? 0;
      const profile =
        known !== undefined ? this.encoders.server_profiles[input.server] : (input.profile ?? undefined);
      profileIdx[i] = (profile !== undefined && this.profileIndex.get(profile)) || 0;
      past.set(input.past, i * lookback * nObs);
      pastKnown.set(this.knownBlock(input.pastStart, lookback), i * lookback * nKnown);
      futureKnown.set(
        this.knownBlock(input.pastStart + lookback * stepSeconds, horizon),
        i * horizon * nKnown,
      );
    });
    for (let i = 0; i < past.length; i++) {
      if (!Number.isFinite(past[i]!)) {
        const row = Math.floor(i / (lookback * nObs));
        throw new InputError(`${batch[row]!.server}: lookback window contains a non-finite value`);
      }
    }
    const feeds: Record<string, ort.Tensor> = {
      server_idx: new ort.Tensor('int32', serverIdx, [b]),
      profile_idx: new ort.Tensor('int32', profileIdx, [b]),
      past_observed: new ort.Tensor('float32', past, [b, lookback, nObs]),
      past_known: new ort.Tensor('float32', pastKnown, [b, lookback, nKnown]),
      future_known: new ort.Tensor('float32', futureKnown, [b, horizon, nKnown]),
    };
    for (const name of Object.keys(feeds)) if (!this.inputNames.has(name)) delete feeds[name];
    return feeds;
  }

  /**
   * Runs the session on prepared feeds and returns the raw output tensor data, after checking that
   * its shape is exactly [batch, horizon, targets, quantiles] as encoders.json declares: a shorter
   * or differently laid out output would hand one server's values to another.
   */
  async runFeeds(feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
    const output = await this.session.run(feeds);
    const tensor = output[OUTPUT_NAME];
    if (tensor === undefined)
      throw new ModelOutputError(`model ${this.id} returned no ${OUTPUT_NAME} output`);
    const batch = feeds.past_observed?.dims[0] ?? 0;
    const { targets, quantiles } = this.encoders;
    const expected = [batch, this.horizon, targets.length, quantiles.length];
    const dims = tensor.dims;
    const size = expected.reduce((a, b) => a * b, 1);
    if (
      tensor.type !== 'float32' ||
      dims.length !== expected.length ||
      dims.some((d, i) => d !== expected[i]) ||
      tensor.data.length !== size
    ) {
      throw new ModelOutputError(
        `model ${this.id}: output ${OUTPUT_NAME} has shape [${dims.join(',')}] (${tensor.type}), expected [${expected.join(',')}] (batch × horizon × targets × quantiles of encoders.json)`,
      );
    }
    return tensor.data as Float32Array;
  }

  private async runBatch(batch: readonly ForecastInput[]): Promise<ForecastResult[]> {
    if (batch.length === 0) return [];
    const feeds = this.buildFeeds(batch);
    const data = await this.runFeeds(feeds);
    const per = this.horizon * this.encoders.targets.length * this.encoders.quantiles.length;
    return batch.map((input, i) => ({
      server: input.server,
      known: this.serverIndex(input.server) !== 0,
      serverIndex: this.serverIndex(input.server),
      start: input.pastStart + this.lookback * this.stepSeconds,
      stepSeconds: this.stepSeconds,
      values: data.slice(i * per, (i + 1) * per),
    }));
  }

  /** Time features depend only on the start time; many servers share it, so cache a few. */
  private knownBlock(start: number, steps: number): Float32Array {
    const key = `${start}:${steps}`;
    let block = this.knownCache.get(key);
    if (block === undefined) {
      block = timeFeatureBlock(start, this.stepSeconds, steps);
      if (this.knownCache.size >= 64) this.knownCache.clear();
      this.knownCache.set(key, block);
    }
    return block;
  }

  /** Releases the native session; call once no request uses this model any more. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

/** Convenience wrapper for `LoadedModel.load`. */
export function loadModel(dir: string, options: LoadOptions = {}): Promise<LoadedModel> {
  return LoadedModel.load(dir, options);
}
