import { Readable } from 'node:stream';
import { z } from 'zod';
import { preview, serverNameProblem } from '../../core/server-name.js';
import { ForecastBatch, SingleForecast } from '../serving/forecast-batch.js';
import type { ForecastService } from '../serving/forecast-service.js';
import {
  HealthResponse,
  LiveResponse,
  ReadyResponse,
  ReloadResponse,
  healthResponse,
  readyResponse,
  reloadResponse,
} from '../serving/health.js';
import { StatusResponse, statusResponse } from '../serving/status.js';
import { bearerMatches } from './auth.js';
import { ErrorResponse, HttpError, errorBody } from './errors.js';
import { ShutdownResponse, type GracefulShutdown } from './shutdown.js';
import type { FleetcastInstance } from './zod-schema.js';

/** A server name from a request: validated before anything else (src/core/server-name.ts). */
const RequestServerName = z.string().superRefine((name, ctx) => {
  const problem = serverNameProblem(name);
  if (problem !== undefined)
    ctx.addIssue({ code: 'custom', message: `invalid server name ${preview(name)}: ${problem}` });
});

function predictBody(maxServers: number) {
  return z.strictObject({
    servers: z
      .array(RequestServerName)
      .min(1, 'servers must name at least one server')
      .max(maxServers, `at most ${maxServers} servers per request`),
  });
}

const ServerParams = z.strictObject({ server: RequestServerName });

/** POST /predict, GET /predict/:server, GET /forecast/fleet. */
export function forecastRoutes(app: FleetcastInstance, service: ForecastService, maxServers: number): void {
  app.post(
    '/predict',
    { schema: { body: predictBody(maxServers), response: { 200: ForecastBatch, '4xx': ErrorResponse } } },
    async (request) => service.predict(request.body.servers),
  );

  app.get(
    '/predict/:server',
    { schema: { params: ServerParams, response: { 200: SingleForecast, '4xx': ErrorResponse } } },
    async (request) => {
      const name = request.params.server;
      const { forecasts, missing, ...meta } = await service.predict([name]);
      const forecast = forecasts[0];
      if (forecast === undefined) throw new HttpError(404, `${name}: ${missing[0]?.reason ?? 'no forecast'}`);
      return { ...meta, ...forecast };
    },
  );

  // Streamed: the JSON of one chunk of servers goes out while the model computes the next. The
  // text is the FleetForecast document (service.fleetForecast()), written piece by piece rather
  // than serialized, so the route declares no response schema to serialize with.
  app.get('/forecast/fleet', async (_request, reply) => {
    const pieces = await service.fleetForecastJson();
    return reply.type('application/json; charset=utf-8').send(Readable.from(pieces, { objectMode: false }));
  });
}

/**
 * GET /livez (the process answers), GET /readyz (a model serves: 503 until one does), GET /health
 * (the details: 503 while no model serves, `degraded` with reasons), GET /status, GET /metrics.
 */
export function monitorRoutes(app: FleetcastInstance, service: ForecastService): void {
  app.get('/livez', { schema: { response: { 200: LiveResponse } } }, async () => ({
    status: 'alive' as const,
  }));

  app.get(
    '/readyz',
    { schema: { response: { 200: ReadyResponse, 503: ReadyResponse } } },
    async (_request, reply) => {
      const ready = readyResponse(service);
      return reply.code(ready.status === 'ready' ? 200 : 503).send(ready);
    },
  );

  app.get(
    '/health',
    { schema: { response: { 200: HealthResponse, 503: HealthResponse } } },
    async (_request, reply) => {
      const health = healthResponse(service);
      return reply.code(health.status === 'unavailable' ? 503 : 200).send(health);
    },
  );

  app.get('/status', { schema: { response: { 200: StatusResponse } } }, async () => statusResponse(service));

  app.get('/metrics', async (_request, reply) => {
    const text = await service.metrics.registry.metrics();
    return reply.type(service.metrics.registry.contentType).send(text);
  });
}

/**
 * POST /admin/reload-model and POST /admin/shutdown (when a shutdown is wired) behind a bearer
 * token; without a token the routes do not exist.
 */
export function adminRoutes(
  app: FleetcastInstance,
  service: ForecastService,
  token: string,
  shutdown?: GracefulShutdown,
): void {
  app.register(
    async (admin: FleetcastInstance) => {
      admin.addHook('onRequest', async (request, reply) => {
        if (!bearerMatches(request.headers.authorization, token)) {
          return reply
            .code(401)
            .header('www-authenticate', 'Bearer realm="fleetcast-admin"')
            .send(errorBody(401, 'missing or wrong bearer token'));
        }
      });
      admin.post(
        '/reload-model',
        { schema: { response: { 200: ReloadResponse, 500: ReloadResponse } } },
        async (_request, reply) => {
          const outcome = await service.reload('admin');
          return reply.code(outcome.result === 'failure' ? 500 : 200).send(reloadResponse(outcome, service));
        },
      );
      if (shutdown !== undefined)
        admin.post(
          '/shutdown',
          { schema: { response: { 202: ShutdownResponse } } },
          async (_request, reply) => reply.code(202).send(shutdown.request()),
        );
    },
    { prefix: '/admin' },
  );
}
