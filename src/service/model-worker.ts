import { parentPort, workerData } from 'node:worker_threads';
import { loadModel, type LoadedModel } from '../model/loaded-model.js';
import { ModelLoadError } from '../model/model-load-error.js';
import { getErrorMessage } from '../util/errors.js';
import type { ForecastRequest, FromWorker, ToWorker, WorkerInit } from './model-worker-protocol.js';

/**
 * Owns one model's onnxruntime session in its own thread: creating a session blocks the thread
 * that creates it for 100+ ms, which would stall every request during a hot swap if done on the
 * service's event loop. Tensor building and session.run also happen here.
 */

const port = parentPort!;
const init = workerData as WorkerInit;
const send = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

async function forecast(model: LoadedModel, request: ForecastRequest): Promise<void> {
  const n = request.servers.length;
  const per = request.past.length / Math.max(1, n);
  const inputs = request.servers.map((server, i) => ({
    server,
    profile: request.profiles[i] ?? null,
    past: request.past.subarray(i * per, (i + 1) * per),
    pastStart: request.pastStarts[i]!,
  }));
  const results = await model.forecast(inputs);
  const size = results[0]?.values.length ?? 0;
  const values = new Float32Array(n * size);
  const known = new Uint8Array(n);
  const serverIndex = new Int32Array(n);
  const start = new Float64Array(n);
  results.forEach((r, i) => {
    values.set(r.values, i * size);
    known[i] = r.known ? 1 : 0;
    serverIndex[i] = r.serverIndex;
    start[i] = r.start;
  });
  send(
    { type: 'result', seq: request.seq, known, serverIndex, start, stepSeconds: model.stepSeconds, values },
    [values.buffer, known.buffer, serverIndex.buffer, start.buffer],
  );
}

let model: LoadedModel;
try {
  model = await loadModel(
    init.dir,
    init.expectedDigest !== undefined ? { expectedDigest: init.expectedDigest } : {},
  );
} catch (error) {
  send({
    type: 'load-error',
    reason: error instanceof ModelLoadError ? error.reason : null,
    message: getErrorMessage(error),
  });
  port.close();
  process.exit(0);
}
port.on('message', (message: ToWorker) => {
  if (message.type === 'release') {
    void model.release().finally(() => {
      send({ type: 'released' });
      port.close();
    });
    return;
  }
  forecast(model, message).catch((error: unknown) =>
    send({ type: 'error', seq: message.seq, message: getErrorMessage(error) }),
  );
});
send({
  type: 'ready',
  id: model.id,
  dir: model.dir,
  digest: model.digest,
  encoders: model.encoders,
  vocabulary: [...model.vocabulary],
});
