import type { Encoders } from '../../registry/schemas.js';
import type { ModelLoadFailure } from '../../model/model-load-error.js';
import type { ForecastFailure } from '../serving-model.js';

/**
 * Messages between the service and a model worker thread (src/service/worker/thread.ts). A worker
 * lives across swaps and hosts models by `key`; every request carries a `seq` that its reply echoes.
 */

export interface LoadRequest {
  type: 'load';
  seq: number;
  key: number;
  dir: string;
  expectedDigest?: string;
}

/** A batch, packed into a few typed arrays so it crosses the thread boundary as one copy. */
export interface ForecastRequest {
  type: 'forecast';
  seq: number;
  key: number;
  servers: string[];
  profiles: Array<string | null>;
  pastStarts: Float64Array;
  /** Every input's `past`, concatenated. */
  past: Float32Array;
}

export interface ReleaseRequest {
  type: 'release';
  seq: number;
  key: number;
}

export type ToWorker = LoadRequest | ForecastRequest | ReleaseRequest;

export interface LoadedReply {
  type: 'loaded';
  seq: number;
  id: string;
  dir: string;
  digest: string;
  encoders: Encoders;
  vocabulary: string[];
}

/** A batch forecast server by server (LoadedModel.forecastEach): the usable forecasts and the failures. */
export interface ResultReply {
  type: 'result';
  seq: number;
  /** Position in the request of each usable forecast, in order. */
  position: Int32Array;
  known: Uint8Array;
  serverIndex: Int32Array;
  start: Float64Array;
  stepSeconds: number;
  /** The usable forecasts' values, concatenated ([results, horizon, targets, quantiles]). */
  values: Float32Array;
  failures: ForecastFailure[];
}

/**
 * A request that failed: `output` when the model's output could not be attributed to servers
 * (ModelOutputError: wrong shape), `other` for anything else.
 */
export interface ErrorReply {
  type: 'error';
  seq: number;
  kind: 'output' | 'other';
  message: string;
}

export type FromWorker =
  | LoadedReply
  | { type: 'load-error'; seq: number; reason: ModelLoadFailure | null; message: string }
  | ResultReply
  | ErrorReply
  | { type: 'released'; seq: number };
