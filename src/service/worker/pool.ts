import { Worker } from 'node:worker_threads';
import { ModelLoadError, ModelOutputError } from '../../model/model-load-error.js';
import type { Encoders } from '../../registry/schemas.js';
import { FleetcastError } from '../../core/errors.js';
import type { FromWorker, ResultReply, ToWorker } from './protocol.js';
import type {
  ForecastFailure,
  ForecastInput,
  ForecastOutcomes,
  ForecastResult,
  ModelLoader,
  ServingModel,
} from '../serving-model.js';

const BOOT = new URL('./thread-boot.mjs', import.meta.url);
/** A release that gets no answer (native code stuck) ends the whole worker after this long. */
const RELEASE_TIMEOUT_MS = 10_000;

type Reply = Exclude<FromWorker, { type: 'error' }>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** One long-lived worker thread (src/service/worker/thread.ts) and the models it hosts. */
class HostWorker {
  readonly worker: Worker;
  readonly models = new Set<WorkerModel>();
  dead: Error | null = null;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();

  constructor(private readonly onDeath: (host: HostWorker) => void) {
    this.worker = new Worker(BOOT);
    this.worker.on('message', (message: FromWorker) => {
      const waiter = this.pending.get(message.seq);
      if (!waiter) return;
      this.pending.delete(message.seq);
      if (message.type === 'error')
        waiter.reject(
          message.kind === 'output'
            ? new ModelOutputError(message.message)
            : new FleetcastError(message.message),
        );
      else waiter.resolve(message);
    });
    this.worker.on('error', (error) =>
      this.fail(new FleetcastError(`model worker failed: ${error.message}`)),
    );
    this.worker.on('exit', (code) => this.fail(new FleetcastError(`model worker exited (${code})`)));
  }

  request(message: DistributiveOmit<ToWorker, 'seq'>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    const seq = ++this.seq;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ ...message, seq } as ToWorker, transfer);
    });
  }

  private fail(error: Error): void {
    if (this.dead) return;
    this.dead = error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
    for (const model of this.models) model.hostDied(error);
    this.onDeath(this);
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/**
 * Model worker threads shared by every model the service loads (two by default): a new model
 * goes to the worker hosting the fewest models, so during a swap it loads beside the serving one
 * instead of stalling it, and no swap pays for starting a thread. Dead workers are replaced.
 */
export class ModelWorkerPool {
  private readonly hosts: HostWorker[] = [];
  private nextKey = 0;
  private closed = false;

  constructor(private readonly size = 2) {}

  readonly load: ModelLoader = async (dir, options) => {
    // a thread started after close() would keep the process alive
    if (this.closed) throw new FleetcastError(`${dir}: the model worker pool is closed`);
    const host = this.pickHost();
    const key = ++this.nextKey;
    const reply = await host.request({
      type: 'load',
      key,
      dir,
      ...(options.expectedDigest !== undefined ? { expectedDigest: options.expectedDigest } : {}),
    });
    if (reply.type === 'load-error')
      throw reply.reason
        ? new ModelLoadError(reply.reason, reply.message)
        : new FleetcastError(reply.message);
    if (reply.type !== 'loaded')
      throw new FleetcastError(`${dir}: unexpected reply from the model worker: ${reply.type}`);
    const model = new WorkerModel(
      host,
      key,
      reply.id,
      reply.dir,
      reply.digest,
      reply.encoders,
      reply.vocabulary,
    );
    if (this.closed) {
      await model.release().catch(() => undefined);
      throw new FleetcastError(`${dir}: the model worker pool closed during the load`);
    }
    host.models.add(model);
    // start the spare now, so the next swap (maybe hours away) does not pay for a thread start
    while (this.hosts.length < this.size) this.spawn();
    return model;
  };

  /** Ends every worker (and the models they host). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.hosts.splice(0).map((h) => h.terminate()));
  }

  private pickHost(): HostWorker {
    const idlest = [...this.hosts].sort((a, b) => a.models.size - b.models.size)[0];
    if (idlest && (idlest.models.size === 0 || this.hosts.length >= this.size)) return idlest;
    return this.spawn();
  }

  private spawn(): HostWorker {
    const host = new HostWorker((dead) => {
      const at = this.hosts.indexOf(dead);
      if (at >= 0) this.hosts.splice(at, 1);
    });
    this.hosts.push(host);
    return host;
  }
}

/** A model whose onnxruntime session lives in a pooled worker thread. */
export class WorkerModel implements ServingModel {
  private dead: Error | null = null;
  private releasing: Promise<void> | null = null;
  readonly vocabulary: ReadonlySet<string>;
  /** Called once if the worker dies while the model is still meant to serve. */
  onUnexpectedExit: ((error: Error) => void) | null = null;

  constructor(
    private readonly host: HostWorker,
    private readonly key: number,
    readonly id: string,
    readonly dir: string,
    readonly digest: string,
    readonly encoders: Encoders,
    vocabulary: readonly string[],
  ) {
    this.vocabulary = new Set(vocabulary);
  }

  /** The hosting thread (shared with other models). */
  get worker(): Worker {
    return this.host.worker;
  }

  async forecastEach(inputs: readonly ForecastInput[]): Promise<ForecastOutcomes> {
    if (this.dead) throw this.dead;
    if (inputs.length === 0) return { results: [], failures: [] };
    // The batch crosses to the thread as one array of equal-sized windows; a window of another
    // size is that server's failure (the thread checks the values, as LoadedModel.forecastEach).
    const { lookback_steps, observed_features } = this.encoders;
    const per = lookback_steps * observed_features.length;
    const sized = inputs.filter((input) => input.past.length === per);
    const failures: ForecastFailure[] = inputs
      .filter((input) => input.past.length !== per)
      .map((input) => ({
        server: input.server,
        known: this.vocabulary.has(input.server),
        reason: 'invalid_window',
        message: `lookback window has ${input.past.length} values, expected ${lookback_steps} steps × ${observed_features.length} features`,
      }));
    if (sized.length === 0) return { results: [], failures };
    const past = new Float32Array(sized.length * per);
    const pastStarts = new Float64Array(sized.length);
    sized.forEach((input, i) => {
      past.set(input.past, i * per);
      pastStarts[i] = input.pastStart;
    });
    const servers = sized.map((i) => i.server);
    const reply = await this.host.request(
      {
        type: 'forecast',
        key: this.key,
        servers,
        profiles: sized.map((i) => i.profile ?? null),
        pastStarts,
        past,
      },
      [past.buffer, pastStarts.buffer],
    );
    if (reply.type !== 'result') throw new FleetcastError(`model ${this.id}: unexpected reply ${reply.type}`);
    return { results: this.unpack(servers, reply), failures: [...failures, ...reply.failures] };
  }

  /**
   * The worker's packed results, each exactly horizon × targets × quantiles values as encoders.json
   * declares: the thread checked the output shape, and this checks what crossed the boundary, so
   * values are never padded, cut or shifted between servers.
   */
  private unpack(servers: readonly string[], reply: ResultReply): ForecastResult[] {
    const { horizon_steps, targets, quantiles } = this.encoders;
    const size = horizon_steps * targets.length * quantiles.length;
    const count = reply.position.length;
    if (reply.values.length !== count * size)
      throw new ModelOutputError(
        `model ${this.id}: the worker returned ${reply.values.length} values for ${count} forecasts, expected ${count} × ${size}`,
      );
    return Array.from({ length: count }, (_, i) => ({
      server: servers[reply.position[i]!]!,
      known: reply.known[i] === 1,
      serverIndex: reply.serverIndex[i]!,
      start: reply.start[i]!,
      stepSeconds: reply.stepSeconds,
      values: reply.values.subarray(i * size, (i + 1) * size),
    }));
  }

  /** Releases the session (the worker stays for the next model); resolves when it is gone. */
  release(): Promise<void> {
    this.releasing ??= (async () => {
      if (this.dead) return;
      const timer = setTimeout(() => void this.host.terminate(), RELEASE_TIMEOUT_MS);
      try {
        await this.host.request({ type: 'release', key: this.key });
      } catch {
        // the worker died meanwhile: the session went with it
      } finally {
        clearTimeout(timer);
        this.host.models.delete(this);
      }
    })();
    return this.releasing;
  }

  get alive(): boolean {
    return this.dead === null;
  }

  /** The hosting worker died: every forecast fails from now on. */
  hostDied(error: Error): void {
    if (this.dead) return;
    this.dead = new FleetcastError(`model ${this.id}: ${error.message}`);
    if (this.releasing === null) this.onUnexpectedExit?.(this.dead);
  }
}
