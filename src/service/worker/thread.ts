import { parentPort } from 'node:worker_threads';
import { loadModel, type LoadedModel } from '../../model/loaded-model.js';
import { ModelLoadError, ModelOutputError } from '../../model/model-load-error.js';
import { getErrorMessage } from '../../core/errors.js';
import type { ForecastRequest, FromWorker, LoadRequest, ToWorker } from './protocol.js';

/**
 * A model worker thread: hosts onnxruntime sessions for the service. Creating a session blocks the
 * thread that creates it for 50+ ms, which would stall every request during a hot swap if done on
 * the service's event loop; tensor building and session.run also happen here. The thread outlives
 * the models it hosts (starting a thread and its module graph costs far more than a session), so
 * a swap loads the new model in the other worker of the pool while this one keeps serving.
 */

const port = parentPort!;
const send = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);
const models = new Map<number, LoadedModel>();

async function load(request: LoadRequest): Promise<void> {
  try {
    const model = await loadModel(
      request.dir,
      request.expectedDigest !== undefined ? { expectedDigest: request.expectedDigest } : {},
    );
    models.set(request.key, model);
    send({
      type: 'loaded',
      seq: request.seq,
      id: model.id,
      dir: model.dir,
      digest: model.digest,
      encoders: model.encoders,
      vocabulary: [...model.vocabulary],
    });
  } catch (error) {
    send({
      type: 'load-error',
      seq: request.seq,
      reason: error instanceof ModelLoadError ? error.reason : null,
      message: getErrorMessage(error),
    });
  }
}

async function forecast(request: ForecastRequest): Promise<void> {
  const model = models.get(request.key);
  if (model === undefined) throw new Error(`no model ${request.key} in this worker`);
  const n = request.servers.length;
  const per = request.past.length / Math.max(1, n);
  const inputs = request.servers.map((server, i) => ({
    server,
    profile: request.profiles[i] ?? null,
    past: request.past.subarray(i * per, (i + 1) * per),
    pastStart: request.pastStarts[i]!,
  }));
  const { results, failures } = await model.forecastEach(inputs);
  // runFeeds checked the output shape, so every result has exactly this many values
  const { horizon_steps, targets, quantiles } = model.encoders;
  const size = horizon_steps * targets.length * quantiles.length;
  const count = results.length;
  const values = new Float32Array(count * size);
  const position = new Int32Array(count);
  const known = new Uint8Array(count);
  const serverIndex = new Int32Array(count);
  const start = new Float64Array(count);
  let next = 0;
  results.forEach((r, i) => {
    // results keep the request's order; find this one's position in it
    while (next < n && inputs[next]!.server !== r.server) next++;
    position[i] = next++;
    values.set(r.values, i * size);
    known[i] = r.known ? 1 : 0;
    serverIndex[i] = r.serverIndex;
    start[i] = r.start;
  });
  send(
    {
      type: 'result',
      seq: request.seq,
      position,
      known,
      serverIndex,
      start,
      stepSeconds: model.stepSeconds,
      values,
      failures,
    },
    [values.buffer, position.buffer, known.buffer, serverIndex.buffer, start.buffer],
  );
}

async function release(key: number): Promise<void> {
  const model = models.get(key);
  models.delete(key);
  await model?.release();
}

port.on('message', (message: ToWorker) => {
  const done =
    message.type === 'load'
      ? load(message)
      : message.type === 'forecast'
        ? forecast(message)
        : release(message.key).then(() => send({ type: 'released', seq: message.seq }));
  done.catch((error: unknown) =>
    send({
      type: 'error',
      seq: message.seq,
      kind: error instanceof ModelOutputError ? 'output' : 'other',
      message: getErrorMessage(error),
    }),
  );
});
