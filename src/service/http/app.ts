import { Readable } from 'node:stream';
import Fastify, { LogController, type FastifyError } from 'fastify';
import { z } from 'zod';
import { serverNameProblem, preview } from '../../core/server-name.js';
import { getErrorMessage } from '../../core/errors.js';
import { bearerMatches } from './auth.js';
import { loadDashboardAssets } from './dashboard-assets.js';
import { HttpError } from './errors.js';
import { ModelUnavailableError } from '../serving/errors.js';
import type { ForecastService } from '../serving/forecast-service.js';

export interface AppOptions {
  service: ForecastService;
  /** Enables POST /admin/*; without it the admin routes do not exist. */
  adminToken?: string;
  /** Largest accepted request body in bytes (larger → 413). Default 1 MiB. */
  bodyLimit?: number;
  /** Most servers in one POST /predict. Default 10,000. */
  maxServersPerRequest?: number;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

/**
 * Builds the HTTP app (routes, validation, error mapping, metrics hooks) without listening, so
 * tests drive it with app.inject() and server.ts only adds the socket and shutdown handling.
 */
export function buildApp(options: AppOptions) {
  const { service } = options;
  const maxServers = options.maxServersPerRequest ?? 10_000;
  const app = Fastify({
    loggerInstance: service.logger,
    // Per-request logs would dominate under load; latency and status go to /metrics instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    return503OnClosing: true,
  });

  app.addHook('onResponse', async (request, reply) => {
    service.metrics.requestDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HttpError)
      return reply.code(error.statusCode).send(errorBody(error.statusCode, error.message));
    if (error instanceof ModelUnavailableError) return reply.code(503).send(errorBody(503, error.message));
    const status =
      error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 600
        ? error.statusCode
        : 500;
    if (status >= 500)
      request.log.error({ error: getErrorMessage(error), route: request.routeOptions.url }, 'request failed');
    return reply.code(status).send(errorBody(status, status >= 500 ? 'internal error' : error.message));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody(404, `no route ${request.method} ${request.url.split('?')[0]}`)),
  );

  const PredictBody = z.strictObject({
    servers: z
      .array(z.string())
      .min(1, 'servers must name at least one server')
      .max(maxServers, `at most ${maxServers} servers per request`),
  });

  app.post('/predict', async (request) => {
    const parsed = PredictBody.safeParse(request.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new HttpError(
        400,
        `body${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`,
      );
    }
    parsed.data.servers.forEach((name, i) => checkServerName(name, `servers[${i}]`));
    return service.predict(parsed.data.servers);
  });

  app.get<{ Params: { server: string } }>('/predict/:server', async (request) => {
    const name = checkServerName(request.params.server, 'server');
    const batch = await service.predict([name]);
    const forecast = batch.forecasts[0];
    if (forecast === undefined)
      throw new HttpError(404, `${name}: ${batch.missing[0]?.reason ?? 'no forecast'}`);
    const { forecasts: _f, missing: _m, ...meta } = batch;
    return { ...meta, forecast };
  });

  // Streamed: the JSON of one chunk of servers goes out while the model computes the next.
  app.get('/forecast/fleet', async (_request, reply) => {
    const pieces = await service.fleetForecastJson();
    return reply.type('application/json; charset=utf-8').send(Readable.from(pieces, { objectMode: false }));
  });

  app.get('/health', async (_request, reply) => {
    const health = service.health();
    return reply.code(health.status === 'unavailable' ? 503 : 200).send(health);
  });

  app.get('/status', async () => service.status());

  app.get('/metrics', async (_request, reply) => {
    const text = await service.metrics.registry.metrics();
    return reply.type(service.metrics.registry.contentType).send(text);
  });

  const assets = loadDashboardAssets();
  for (const [route, asset] of assets) {
    app.get(route, async (_request, reply) =>
      reply
        .headers(SECURITY_HEADERS)
        .header('cache-control', route === '/' ? 'no-cache' : 'public, max-age=3600')
        .type(asset.contentType)
        .send(asset.body),
    );
  }

  const token = options.adminToken;
  if (token !== undefined && token !== '') {
    app.register(
      async (admin) => {
        admin.addHook('onRequest', async (request, reply) => {
          if (!bearerMatches(request.headers.authorization, token)) {
            return reply
              .code(401)
              .header('www-authenticate', 'Bearer realm="fleetcast-admin"')
              .send(errorBody(401, 'missing or wrong bearer token'));
          }
        });
        admin.post('/reload-model', async (_request, reply) => {
          const outcome = await service.reload('admin');
          return reply
            .code(outcome.result === 'failure' ? 500 : 200)
            .send({ ...outcome, health: service.health() });
        });
      },
      { prefix: '/admin' },
    );
  }
  return app;
}

function checkServerName(name: string, where: string): string {
  const problem = serverNameProblem(name);
  if (problem !== undefined)
    throw new HttpError(400, `${where}: invalid server name ${preview(name)}: ${problem}`);
  return name;
}

function errorBody(
  statusCode: number,
  message: string,
): { statusCode: number; error: string; message: string } {
  const names: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    404: 'Not Found',
    413: 'Payload Too Large',
    415: 'Unsupported Media Type',
    500: 'Internal Server Error',
    503: 'Service Unavailable',
  };
  return { statusCode, error: names[statusCode] ?? 'Error', message };
}

export type FleetcastApp = ReturnType<typeof buildApp>;
