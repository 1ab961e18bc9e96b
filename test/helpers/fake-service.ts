import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One model's live accuracy as the service's /status reports it (src/service/serving/live-accuracy.ts). */
export interface FakeLiveModel {
  model: string;
  /** Live q-risk per target at P50 and P90; naive beside it; ratio = model loss / naive loss. */
  p50: number;
  p90: number;
  naiveP50?: number;
  naiveP90?: number;
  points: number;
  naivePoints?: number;
  hours: number;
  targets?: string[];
}

/** A service body as /status has it: P10/P50/P90 per target, naive on the same points. */
export function liveStatusOf(models: readonly FakeLiveModel[]): unknown {
  return {
    live_accuracy: {
      errors: 0,
      models: models.map((m) => {
        const naive = { 0.1: m.naiveP50 ?? null, 0.5: m.naiveP50 ?? null, 0.9: m.naiveP90 ?? null };
        const own = { 0.1: m.p50, 0.5: m.p50, 0.9: m.p90 };
        return {
          model: m.model,
          scored_points: m.points,
          naive_points: m.naivePoints ?? (m.naiveP50 === undefined ? 0 : m.points),
          scored_hours: m.hours,
          window_seconds: 86_400,
          q_risk: (m.targets ?? ['cpu_pct', 'mem_pct']).flatMap((target) =>
            ([0.1, 0.5, 0.9] as const).map((quantile) => ({
              target,
              quantile,
              q_risk: own[quantile],
              naive_q_risk: naive[quantile],
              ratio_vs_naive: naive[quantile] === null ? null : own[quantile] / naive[quantile]!,
            })),
          ),
          worst_servers: [],
        };
      }),
    },
  };
}

export interface FakeService {
  url: string;
  /** What /health and /status answer next. */
  set(state: { modelId: string; live: FakeLiveModel[]; status?: number }): void;
  /** Authorization headers seen, newest last. */
  authorizations: Array<string | undefined>;
  close(): Promise<void>;
}

/** A local HTTP service answering /health and /status like the inference service (no outside network). */
export async function startFakeService(): Promise<FakeService> {
  let state: { modelId: string; live: FakeLiveModel[]; status?: number } = { modelId: '', live: [] };
  const authorizations: Array<string | undefined> = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    authorizations.push(req.headers.authorization);
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (state.status !== undefined && state.status !== 200) return send(state.status, { error: 'down' });
    if (req.url === '/health') return send(200, { status: 'ok', model_id: state.modelId });
    if (req.url === '/status')
      return send(200, { model_id: state.modelId, ...(liveStatusOf(state.live) as object) });
    return send(404, { error: 'not found' });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    set: (next) => {
      state = next;
    },
    authorizations,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
