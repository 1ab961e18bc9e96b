import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * Checks requests and responses of the fake GitHub server against GitHub's published OpenAPI
 * description (@octokit/openapi, api.github.com), so the fake cannot drift from the real API:
 * the operation must exist for the method and path, request parameters and bodies must match
 * their schemas (required fields, no unknown fields, types, enums), and every response status
 * must be documented, with a body whose fields are all declared and typed as described.
 */

type Schema = {
  $ref?: string;
  type?: string | string[];
  nullable?: boolean;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
};
type Parameter = { $ref?: string; name: string; in: string; required?: boolean; schema?: Schema };
type Operation = {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema?: Schema }> }>;
};
type Spec = {
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, unknown>>;
};

let spec: Spec | undefined;
let routes: Array<{ template: string; regex: RegExp; names: string[] }> | undefined;

function load(): Spec {
  if (spec === undefined) {
    const require = createRequire(import.meta.url);
    const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
    spec = JSON.parse(readFileSync(file, 'utf8')) as Spec;
    routes = Object.keys(spec.paths).map((template) => {
      const names: string[] = [];
      const pattern = template
        .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
        .replace(/\{([^}]+)\}/g, (_, name: string) => {
          names.push(name);
          return '([^/]+)';
        });
      return { template, regex: new RegExp(`^${pattern}$`), names };
    });
  }
  return spec;
}

function deref<T>(value: T & { $ref?: string }): T {
  let current: T & { $ref?: string } = value;
  for (let i = 0; i < 20 && current.$ref !== undefined; i++) {
    const [, , kind, name] = current.$ref.split('/');
    current = load().components[kind!]![name!] as T & { $ref?: string };
  }
  return current;
}

export interface MatchedOperation {
  template: string;
  operation: Operation;
  params: Record<string, string>;
}

/** The documented operation for `method` and a raw (still percent-encoded) path. */
export function findOperation(method: string, rawPath: string): MatchedOperation | undefined {
  const s = load();
  for (const route of routes!) {
    const match = route.regex.exec(rawPath);
    if (match === null) continue;
    const operation = s.paths[route.template]![method.toLowerCase()];
    if (operation === undefined) continue;
    const params = Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(match[i + 1]!)]));
    return { template: route.template, operation, params };
  }
  return undefined;
}

function typeOk(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'null':
      return value === null;
    default:
      return typeof value === type;
  }
}

/** Problems of `value` against `schema`; `checkRequired` off for responses (the fake sends a subset). */
export function validate(
  value: unknown,
  raw: Schema,
  path: string,
  checkRequired: boolean,
  depth = 0,
): string[] {
  const schema = deref(raw);
  if (depth > 12) return [];
  if (schema.allOf) {
    // allOf of object schemas is one object with every part's fields: check unknown fields against
    // the union (checking each part alone would call the other parts' fields undocumented).
    const parts = schema.allOf.map((s) => deref(s));
    if (parts.every((p) => p.properties !== undefined && !p.allOf && !p.oneOf && !p.anyOf)) {
      const merged: Schema = {
        type: 'object',
        properties: Object.assign({}, ...parts.map((p) => p.properties)),
        required: parts.flatMap((p) => p.required ?? []),
      };
      return validate(value, merged, path, checkRequired, depth + 1);
    }
    return schema.allOf.flatMap((s) => validate(value, s, path, checkRequired, depth + 1));
  }
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (alternatives) {
    const results = alternatives.map((s) => validate(value, s, path, checkRequired, depth + 1));
    return results.some((r) => r.length === 0)
      ? []
      : [`${path}: matches none of the documented alternatives (${results.map((r) => r[0]).join('; ')})`];
  }
  if (value === null && (schema.nullable || (Array.isArray(schema.type) && schema.type.includes('null'))))
    return [];
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.length > 0 && !types.some((t) => typeOk(value, t))) {
    return [
      `${path}: expected ${types.join('|')}, got ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}`,
    ];
  }
  if (schema.enum && !schema.enum.includes(value))
    return [`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`];
  const problems: string[] = [];
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, i) =>
      problems.push(...validate(item, schema.items!, `${path}[${i}]`, checkRequired, depth + 1)),
    );
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && schema.properties) {
    const record = value as Record<string, unknown>;
    if (checkRequired) {
      for (const key of schema.required ?? [])
        if (!(key in record)) problems.push(`${path}.${key}: required but missing`);
    }
    for (const [key, inner] of Object.entries(record)) {
      const prop = schema.properties[key];
      if (prop === undefined) {
        if (schema.additionalProperties === undefined || schema.additionalProperties === false)
          problems.push(`${path}.${key}: not a documented field`);
        continue;
      }
      problems.push(...validate(inner, prop, `${path}.${key}`, checkRequired, depth + 1));
    }
  }
  return problems;
}

export function checkRequest(matched: MatchedOperation, query: URLSearchParams, body: unknown): string[] {
  const { operation } = matched;
  const where = `${operation.operationId}`;
  const problems: string[] = [];
  const params = (operation.parameters ?? []).map((p) => deref(p));
  for (const p of params.filter((p) => p.in === 'query')) {
    if (p.required && !query.has(p.name)) problems.push(`${where}: query parameter ${p.name} is required`);
    const value = query.get(p.name);
    if (value !== null && p.schema) {
      const schema = deref(p.schema);
      if (schema.enum && !schema.enum.includes(value) && !schema.enum.includes(Number(value)))
        problems.push(`${where}: query ${p.name}=${value} not in ${JSON.stringify(schema.enum)}`);
    }
  }
  for (const key of query.keys()) {
    if (!params.some((p) => p.in === 'query' && p.name === key))
      problems.push(`${where}: undocumented query parameter ${key}`);
  }
  const schema = operation.requestBody?.content?.['application/json']?.schema;
  if (body === undefined) {
    if (operation.requestBody?.required) problems.push(`${where}: request body is required`);
  } else if (schema === undefined) {
    problems.push(`${where}: sends a body, but the operation takes none`);
  } else {
    problems.push(...validate(body, schema, `${where} request`, true));
  }
  return problems;
}

export function checkResponse(matched: MatchedOperation, status: number, body: unknown): string[] {
  const { operation } = matched;
  const where = `${operation.operationId}`;
  const documented = operation.responses[String(status)] ?? operation.responses.default;
  if (documented === undefined) return [`${where}: response status ${status} is not documented`];
  const response = deref(documented);
  const schema = response.content?.['application/json']?.schema;
  if (body === undefined || schema === undefined) return [];
  return validate(body, schema, `${where} ${status}`, false);
}
