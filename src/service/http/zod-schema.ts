import type { IncomingMessage, ServerResponse } from 'node:http';
import type {
  FastifyInstance,
  FastifySchemaCompiler,
  FastifySerializerCompiler,
  FastifyTypeProvider,
  RawServerDefault,
} from 'fastify';
import type { z } from 'zod';
import type { Logger } from '../../core/logger.js';
import { HttpError } from './errors.js';

/**
 * Route schemas are zod schemas (the project's one schema language): request parts are parsed by
 * them, and handlers are type-checked against the declared response schemas. A small adapter in
 * place of a plugin dependency.
 */
export interface ZodTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends z.ZodType ? z.output<this['schema']> : unknown;
  serializer: this['schema'] extends z.ZodType ? z.input<this['schema']> : unknown;
}

/** `body.servers[3]: <message>`: where the first problem is, in the request part it came from. */
export function issueMessage(part: string, issue: z.core.$ZodIssue): string {
  const path = issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('');
  return `${part}${path}: ${issue.message}`;
}

/** Parses a request part (body, params) with its schema; a failure is a 400 naming the field. */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data) => {
    const result = schema.safeParse(data);
    if (result.success) return { value: result.data };
    return { error: new HttpError(400, issueMessage(httpPart ?? 'request', result.error.issues[0]!)) };
  };

/**
 * Responses are written with JSON.stringify; their schemas are the contract that handlers are
 * type-checked against and tests parse answers with. Not checked again at run time: for a
 * 10,000-server /predict a zod pass costs half of JSON.stringify, and fastify's schema
 * serializer (fast-json-stringify) is three times slower than JSON.stringify on the forecast arrays.
 */
export const serializerCompiler: FastifySerializerCompiler<z.ZodType> = () => (data) => JSON.stringify(data);

/** The app as routes see it: fleetcast's logger, zod route schemas. */
export type FleetcastInstance = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  Logger,
  ZodTypeProvider
>;
