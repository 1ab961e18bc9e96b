import Fastify, { LogController, type FastifyError } from 'fastify';
import { getErrorMessage } from '../../core/errors.js';
import { ModelOutputError } from '../../model/model-load-error.js';
import { ModelUnavailableError } from '../serving/errors.js';
import type { ForecastService } from '../serving/forecast-service.js';
import { dashboardRoutes } from './dashboard.js';
import { HttpError, errorBody } from './errors.js';
import { adminRoutes, forecastRoutes, monitorRoutes } from './routes.js';
import type { GracefulShutdown } from './shutdown.js';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from './zod-schema.js';

export interface AppOptions {
  service: ForecastService;
  /** Enables POST /admin/*; without it the admin routes do not exist. */
  adminToken?: string;
  /** Enables POST /admin/shutdown (with the token). */
  shutdown?: GracefulShutdown;
  /** Largest accepted request body in bytes (larger → 413). Default 1 MiB. */
  bodyLimit?: number;
  /** Most servers in one POST /predict. Default 10,000. */
  maxServersPerRequest?: number;
}

/**
 * Builds the HTTP app (routes, validation, error mapping, metrics hooks) without listening, so
 * tests drive it with app.inject() and server.ts only adds the socket and shutdown handling.
 */
export function buildApp(options: AppOptions) {
  const { service } = options;
  const app = Fastify({
    loggerInstance: service.logger,
    // Per-request logs would dominate under load; latency and status go to /metrics instead.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    return503OnClosing: true,
    // how often Node checks the header and request timeouts that server.ts sets (default 30 s,
    // which would make the 10 s header limit up to 40 s)
    http: { connectionsCheckingInterval: 1000 },
    // Longer than any valid server name (128), so /predict/:server answers for every valid name and
    // a bad one gets the app's own "invalid server name"; beyond it, a short 414 that echoes nothing.
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors: (error, _request, reply) => {
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      const body = tooLong ? errorBody(414, 'path parameter too long') : errorBody(400, 'malformed URL');
      void reply.raw.writeHead(body.status_code, { 'content-type': 'application/json; charset=utf-8' });
      reply.raw.end(JSON.stringify(body));
    },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

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
    // the model's output had the wrong shape: nothing of it was served, and the answer says so
    if (error instanceof ModelOutputError)
      return reply.code(500).send(errorBody(500, service.publicText(error.message)));
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

  forecastRoutes(app, service, options.maxServersPerRequest ?? 10_000);
  monitorRoutes(app, service);
  dashboardRoutes(app);
  if (options.adminToken !== undefined && options.adminToken !== '')
    adminRoutes(app, service, options.adminToken, options.shutdown);
  return app;
}

export type FleetcastApp = ReturnType<typeof buildApp>;
