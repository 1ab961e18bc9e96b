import { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ForecastService } from '../serving/forecast-service.js';
import {
  DashboardAccuracy,
  ServerDetail,
  encodeDocument,
  fleetDocuments,
  quantileSeries,
  targetInfo,
  type EncodedDocument,
} from './dashboard-data.js';
import { ErrorResponse, HttpError } from './errors.js';
import { RequestServerName } from './routes.js';
import type { FleetcastInstance } from './zod-schema.js';

/** A built fleet table is reused this long at most, even within one window cycle (stale flags age). */
const FLEET_MAX_AGE_MS = 60_000;
/** A dashboard asked for the table this recently: a swapped-in model's table is built ahead of it. */
const VIEWER_RECENT_MS = 600_000;
const PREBUILD_CHECK_MS = 1000;

const FleetQuery = z.strictObject({
  target: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,62}$/, 'a target is a lowercase snake_case column name')
    .optional(),
});
const ServerParams = z.strictObject({ server: RequestServerName });

interface FleetTables {
  key: string;
  modelKey: string;
  builtAt: number;
  docs: Map<string, EncodedDocument>;
}

/**
 * The fleet table's documents, one per target, built once per model and window cycle (between two
 * loads no forecast changes) and shared by every dashboard that asks; concurrent requests wait for
 * the same build. When a new cycle starts, the previous cycle's tables of the same model are
 * answered while the new ones are built (each document says when it was made, `generated_at`), so
 * a dashboard never waits on a fleet forecast. After a swap, while someone has looked at the
 * dashboard in the last 10 minutes, the new model's tables are built without waiting for a request.
 */
class FleetTableCache {
  private current: FleetTables | null = null;
  private building: { key: string; promise: Promise<Map<string, EncodedDocument>> } | null = null;
  private lastViewAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly service: ForecastService) {}

  async get(): Promise<Map<string, EncodedDocument>> {
    this.lastViewAt = Date.now();
    const model = this.service.model;
    const modelKey = `${model?.id}@${model?.digest}`;
    const key = `${modelKey}#${this.service.snapshot?.cycle ?? 'none'}`;
    const current = this.current;
    if (current !== null && current.key === key && Date.now() - current.builtAt < FLEET_MAX_AGE_MS)
      return current.docs;
    const build = this.start(key, modelKey);
    if (current !== null && current.modelKey === modelKey) {
      build.catch(() => undefined); // logged by the request that waits for it, or by the next one
      return current.docs;
    }
    return build;
  }

  /** Builds a newly swapped-in model's tables ahead of the next request, while a viewer is around. */
  prebuild(): void {
    const model = this.service.model;
    if (model === null || this.building !== null || Date.now() - this.lastViewAt > VIEWER_RECENT_MS) return;
    const modelKey = `${model.id}@${model.digest}`;
    if (this.current?.modelKey === modelKey) return;
    this.start(`${modelKey}#${this.service.snapshot?.cycle ?? 'none'}`, modelKey).catch(() => undefined);
  }

  private start(key: string, modelKey: string): Promise<Map<string, EncodedDocument>> {
    if (this.building !== null && this.building.key === key) return this.building.promise;
    const promise = this.build()
      .then((docs) => {
        this.current = { key, modelKey, builtAt: Date.now(), docs };
        return docs;
      })
      .finally(() => {
        if (this.building?.promise === promise) this.building = null;
      });
    this.building = { key, promise };
    return promise;
  }

  private async build(): Promise<Map<string, EncodedDocument>> {
    const fleet = await this.service.fleetForecast();
    const model = this.service.model;
    const snapshot = this.service.snapshot;
    if (model === null || model.id !== fleet.model_id) throw new HttpError(503, 'the model changed; retry');
    const dataTimes = new Map<string, number>();
    for (const entry of fleet.servers) {
      const window = 'forecast' in entry ? undefined : snapshot?.windows.get(entry.server);
      if (window !== undefined)
        dataTimes.set(entry.server, (window.lastObservedStep + 1) * model.encoders.resolution_seconds);
    }
    const docs = fleetDocuments({
      fleet,
      encoders: model.encoders,
      dataTimes,
      qRisks: this.service.live.serverQRisks(model.id),
    });
    const encoded = new Map<string, EncodedDocument>();
    for (const [target, doc] of docs) encoded.set(target, await encodeDocument(doc));
    return encoded;
  }
}

function sendEncoded(request: FastifyRequest, reply: FastifyReply, doc: EncodedDocument): FastifyReply {
  const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  reply.header('vary', 'accept-encoding').header('cache-control', 'no-cache');
  if (gzip) reply.header('content-encoding', 'gzip');
  return reply.type('application/json; charset=utf-8').send(gzip ? doc.gzip : doc.raw);
}

/**
 * GET /dashboard/fleet (the fleet table), GET /dashboard/servers/:server (one server's actuals,
 * forecast band and swap markers), GET /dashboard/live-accuracy (live q-risk over time per model).
 * Documents and their schemas: dashboard-data.ts.
 */
export function dashboardDataRoutes(app: FleetcastInstance, service: ForecastService): void {
  const cache = new FleetTableCache(service);
  const prebuild = setInterval(() => cache.prebuild(), PREBUILD_CHECK_MS);
  prebuild.unref();
  app.addHook('onClose', async () => clearInterval(prebuild));

  app.get(
    '/dashboard/fleet',
    { schema: { querystring: FleetQuery, response: { '4xx': ErrorResponse } } },
    async (request, reply) => {
      const docs = await cache.get();
      const target = request.query.target ?? docs.keys().next().value;
      const doc = target === undefined ? undefined : docs.get(target);
      if (doc === undefined)
        throw new HttpError(
          400,
          `querystring.target: this model forecasts ${[...docs.keys()].join(', ')}, not ${JSON.stringify(target)}`,
        );
      return sendEncoded(request, reply, doc);
    },
  );

  app.get(
    '/dashboard/servers/:server',
    { schema: { params: ServerParams, response: { 200: ServerDetail, '4xx': ErrorResponse } } },
    async (request) => serverDetail(service, request.params.server),
  );

  app.get('/dashboard/live-accuracy', { schema: { response: { 200: DashboardAccuracy } } }, async () => {
    const candidate = service.candidate.status();
    return {
      generated_at: service.now().toISOString(),
      serving_model: service.model?.id ?? null,
      candidate: candidate === null ? null : { model_id: candidate.model_id, mode: candidate.mode },
      models: [...service.history.accuracy],
      swaps: [...service.history.swapEvents],
      problems: [...service.history.loadProblems].map(([file, reason]) => `${file}: ${reason}`),
    };
  });
}

async function serverDetail(service: ForecastService, name: string): Promise<ServerDetail> {
  const batch = await service.predict([name]);
  const model = service.model;
  const snapshot = service.snapshot;
  if (model === null || snapshot === undefined || model.id !== batch.model_id)
    throw new HttpError(503, 'the model changed; retry');
  const member = service.fleetFor(snapshot).find((s) => s.name === name);
  if (member === undefined)
    throw new HttpError(404, `${name}: not in the fleet (not in the manifest, and no recent metrics)`);
  const { encoders } = model;
  const res = encoders.resolution_seconds;
  const forecast = batch.forecasts[0];
  const window = snapshot.windows.get(name);
  const features = encoders.observed_features;
  const qRisk = service.live.serverQRisks(model.id).get(name);
  const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();
  const served = service.live
    .servedForecasts(model.id, name)
    .filter((o) => forecast === undefined || iso(o.start) !== forecast.start);
  const targets = targetInfo(encoders).map(({ name: target, unit }, t) => {
    let actuals: ServerDetail['targets'][number]['actuals'] = null;
    if (window !== undefined) {
      const f = features.indexOf(target);
      const past = window.input.past;
      const steps = past.length / features.length;
      const imputed = window.imputed.includes(target);
      const values = Array.from({ length: steps }, (_, i) => {
        const v = past[i * features.length + f]!;
        return imputed || !Number.isFinite(v) ? null : Number(v.toPrecision(4));
      });
      actuals = { start: iso(window.input.pastStart), values };
    }
    return {
      name: target,
      unit,
      actuals,
      forecast:
        forecast === undefined ? null : { start: forecast.start, quantiles: forecast.forecast[target] ?? {} },
      served: served.map((o) => ({
        start: iso(o.start),
        quantiles: quantileSeries(
          o.values,
          t,
          encoders.targets.length,
          encoders.quantiles,
          encoders.horizon_steps,
        ),
      })),
    };
  });
  const dataTime =
    forecast?.data_time ?? (window === undefined ? null : iso((window.lastObservedStep + 1) * res));
  return {
    server: name,
    model_id: model.id,
    generated_at: batch.generated_at,
    known: forecast?.known ?? model.vocabulary.has(name),
    profile: forecast?.profile ?? member.profile,
    in_manifest: member.inManifest,
    pending: member.pending !== null,
    stale: forecast?.stale ?? false,
    data_time: dataTime,
    reason: forecast === undefined ? (batch.missing[0]?.reason ?? 'no forecast') : null,
    step_seconds: res,
    quantiles: [...encoders.quantiles],
    live_q_risk:
      qRisk === undefined ? null : { q_risk: Number(qRisk.q_risk.toPrecision(4)), points: qRisk.points },
    targets,
    swaps: [...service.history.swapEvents],
  };
}
