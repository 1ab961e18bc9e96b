import { Worker } from 'node:worker_threads';
import { ModelLoadError } from '../model/model-load-error.js';
import type { Encoders } from '../registry/schemas.js';
import { FleetcastError } from '../util/errors.js';
import type { FromWorker, ToWorker, WorkerInit } from './model-worker-protocol.js';
import type { ForecastInput, ForecastResult, ModelLoader, ServingModel } from './types.js';

const BOOT = new URL('./model-worker-boot.mjs', import.meta.url);

type Pending = {
  resolve: (results: ForecastResult[]) => void;
  reject: (error: Error) => void;
  servers: string[];
};

/**
 * A model whose session lives in a worker thread (src/service/model-worker.ts), so loading a new
 * model never blocks the event loop that answers requests, and tensor work runs beside it.
 */
export class WorkerModel implements ServingModel {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private dead: Error | null = null;
  private releasing: Promise<void> | null = null;
  /** Called once if the worker dies while the model is still meant to serve. */
  onUnexpectedExit: ((error: Error) => void) | null = null;

  private constructor(
    private readonly worker: Worker,
    readonly id: string,
    readonly dir: string,
    readonly digest: string,
    readonly encoders: Encoders,
    readonly vocabulary: ReadonlySet<string>,
  ) {
    worker.on('message', (message: FromWorker) => this.onMessage(message));
    worker.on('error', (error) =>
      this.fail(new FleetcastError(`model ${id} worker failed: ${error.message}`)),
    );
    worker.on('exit', () => this.fail(new FleetcastError(`model ${id} worker exited`)));
  }

  static load(dir: string, options: { expectedDigest?: string } = {}): Promise<WorkerModel> {
    const init: WorkerInit = {
      dir,
      ...(options.expectedDigest !== undefined ? { expectedDigest: options.expectedDigest } : {}),
    };
    const worker = new Worker(BOOT, { workerData: init });
    return new Promise<WorkerModel>((resolve, reject) => {
      const onError = (error: Error): void =>
        reject(new FleetcastError(`${dir}: model worker failed: ${error.message}`));
      const onExit = (code: number): void =>
        reject(new FleetcastError(`${dir}: model worker exited (${code}) before loading`));
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.once('message', (message: FromWorker) => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (message.type === 'ready') {
          resolve(
            new WorkerModel(
              worker,
              message.id,
              message.dir,
              message.digest,
              message.encoders,
              new Set(message.vocabulary),
            ),
          );
        } else if (message.type === 'load-error') {
          void worker.terminate();
          reject(
            message.reason
              ? new ModelLoadError(message.reason, message.message)
              : new FleetcastError(message.message),
          );
        } else {
          void worker.terminate();
          reject(
            new FleetcastError(`${dir}: unexpected first message from the model worker: ${message.type}`),
          );
        }
      });
    });
  }

  forecast(inputs: readonly ForecastInput[]): Promise<ForecastResult[]> {
    if (this.dead) return Promise.reject(this.dead);
    if (inputs.length === 0) return Promise.resolve([]);
    const per = inputs[0]!.past.length;
    const past = new Float32Array(inputs.length * per);
    const pastStarts = new Float64Array(inputs.length);
    inputs.forEach((input, i) => {
      if (input.past.length !== per)
        throw new FleetcastError(`${input.server}: window length ${input.past.length}, expected ${per}`);
      past.set(input.past, i * per);
      pastStarts[i] = input.pastStart;
    });
    const seq = ++this.seq;
    const servers = inputs.map((i) => i.server);
    const message: ToWorker = {
      type: 'forecast',
      seq,
      servers,
      profiles: inputs.map((i) => i.profile ?? null),
      pastStarts,
      past,
    };
    return new Promise<ForecastResult[]>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject, servers });
      this.worker.postMessage(message, [past.buffer, pastStarts.buffer]);
    });
  }

  /** Releases the session and ends the worker; resolves when it is gone. */
  release(): Promise<void> {
    this.releasing ??= new Promise<void>((resolve) => {
      if (this.dead) return resolve();
      this.worker.once('exit', () => resolve());
      this.worker.postMessage({ type: 'release' } satisfies ToWorker);
      // A worker stuck in native code must not keep shutdown waiting forever.
      setTimeout(() => void this.worker.terminate(), 10_000).unref();
    });
    return this.releasing;
  }

  private onMessage(message: FromWorker): void {
    if (message.type !== 'result' && message.type !== 'error') return;
    const pending = this.pending.get(message.seq);
    if (!pending) return;
    this.pending.delete(message.seq);
    if (message.type === 'error') return pending.reject(new FleetcastError(message.message));
    const size = message.values.length / Math.max(1, pending.servers.length);
    pending.resolve(
      pending.servers.map((server, i) => ({
        server,
        known: message.known[i] === 1,
        serverIndex: message.serverIndex[i]!,
        start: message.start[i]!,
        stepSeconds: message.stepSeconds,
        values: message.values.subarray(i * size, (i + 1) * size),
      })),
    );
  }

  get alive(): boolean {
    return this.dead === null;
  }

  private fail(error: Error): void {
    const first = this.dead === null;
    this.dead ??= error;
    if (first && this.releasing === null) this.onUnexpectedExit?.(error);
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}

/** The service's default loader: each model in its own worker thread. */
export const workerModelLoader: ModelLoader = (dir, options) => WorkerModel.load(dir, options);
