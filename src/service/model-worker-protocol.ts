import type { Encoders } from '../registry/schemas.js';
import type { ModelLoadFailure } from '../model/model-load-error.js';

/** Messages between the service and a model worker (src/service/model-worker.ts). */

export interface WorkerInit {
  dir: string;
  expectedDigest?: string;
}

/** A batch, packed into a few typed arrays so it crosses the thread boundary as one copy. */
export interface ForecastRequest {
  type: 'forecast';
  seq: number;
  servers: string[];
  profiles: Array<string | null>;
  pastStarts: Float64Array;
  /** Every input's `past`, concatenated. */
  past: Float32Array;
}

export interface ReleaseRequest {
  type: 'release';
}

export type ToWorker = ForecastRequest | ReleaseRequest;

export type FromWorker =
  | { type: 'ready'; id: string; dir: string; digest: string; encoders: Encoders; vocabulary: string[] }
  | { type: 'load-error'; reason: ModelLoadFailure | null; message: string }
  | {
      type: 'result';
      seq: number;
      known: Uint8Array;
      serverIndex: Int32Array;
      start: Float64Array;
      stepSeconds: number;
      /** Every result's values, concatenated ([batch, horizon, targets, quantiles]). */
      values: Float32Array;
    }
  | { type: 'error'; seq: number; message: string }
  | { type: 'released' };
