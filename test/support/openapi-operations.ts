import { randomUUID } from 'node:crypto';

/** The part of JSON Schema (as the OpenAPI document writes it) that the generated suites read. */
export type JsonSchema = {
  $ref?: string;
  type?: string | string[];
  format?: string;
  pattern?: string;
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  example?: unknown;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
};

export type Parameter = { name: string; in: 'path' | 'query'; required: boolean; schema: JsonSchema };

/** One operation of GET /api/openapi.json, in the router's terms. */
export type Operation = {
  /** "PATCH /api/users/:id": the same key as the router's own routes. */
  key: string;
  method: string;
  /** Hono form of the path (`{id}` becomes `:id`). */
  path: string;
  /** The route's `x-opsbase-access`: public, authenticated, cron or a permission. */
  access: string;
  /** The application/json request body schema, $refs resolved. */
  body: JsonSchema | undefined;
  pathParams: Parameter[];
  queryParams: Parameter[];
};

type RequestingApp = { request: (path: string, init?: RequestInit) => Response | Promise<Response> };

type OpenApiDocument = {
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components?: { schemas?: Record<string, JsonSchema> };
};

/** Every operation the served OpenAPI document declares. */
export async function readOperations(app: RequestingApp): Promise<Operation[]> {
  const res = await app.request('/api/openapi.json');
  if (res.status !== 200) throw new Error(`GET /api/openapi.json answered ${res.status}`);
  const document = (await res.json()) as OpenApiDocument;
  const resolve = (schema: JsonSchema | undefined, depth = 0): JsonSchema | undefined => {
    if (!schema || depth > 20) return schema;
    if (schema.$ref) {
      const name = schema.$ref.split('/').at(-1) ?? '';
      return resolve(document.components?.schemas?.[name], depth + 1);
    }
    return {
      ...schema,
      ...(schema.properties && {
        properties: Object.fromEntries(
          Object.entries(schema.properties).map(([key, value]) => [key, resolve(value, depth + 1) ?? {}]),
        ),
      }),
      ...(schema.items && { items: resolve(schema.items, depth + 1) }),
      ...(schema.anyOf && { anyOf: schema.anyOf.map((s) => resolve(s, depth + 1) ?? {}) }),
      ...(schema.oneOf && { oneOf: schema.oneOf.map((s) => resolve(s, depth + 1) ?? {}) }),
    };
  };
  return Object.entries(document.paths).flatMap(([template, operations]) =>
    Object.entries(operations).map(([method, operation]) => {
      const parameters = ((operation.parameters ?? []) as Parameter[]).map((p) => ({
        ...p,
        required: p.required === true,
        schema: resolve(p.schema) ?? {},
      }));
      const requestBody = operation.requestBody as { content?: Record<string, { schema: JsonSchema }> } | undefined;
      const path = template.replace(/\{(\w+)\}/g, ':$1');
      return {
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        access: String(operation['x-opsbase-access']),
        body: resolve(requestBody?.content?.['application/json']?.schema),
        pathParams: parameters.filter((p) => p.in === 'path'),
        queryParams: parameters.filter((p) => p.in === 'query'),
      };
    }),
  );
}

/** The router's own routes as "METHOD /path", middleware (ALL) left out, each once. */
export function servedRoutes(app: { routes: readonly { method: string; path: string }[] }): string[] {
  return [...new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${r.path}`))].sort();
}

let sampleCounter = 0;

/** A value the schema accepts: enum's first, a unique address for emails, the example, or the shortest valid string. */
export function sampleValue(schema: JsonSchema): unknown {
  if (schema.enum) return schema.enum[0];
  if (schema.anyOf?.[0]) return sampleValue(schema.anyOf[0]);
  if (schema.oneOf?.[0]) return sampleValue(schema.oneOf[0]);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object':
      return sampleBody(schema);
    case 'array':
      return [];
    case 'boolean':
      return true;
    case 'integer':
    case 'number':
      return schema.example ?? schema.default ?? schema.minimum ?? 1;
    default:
      if (schema.format === 'email') return `sample-${++sampleCounter}-${Date.now()}@example.test`;
      if (schema.format === 'uuid') return randomUUID();
      if (schema.format === 'date-time') return new Date().toISOString();
      if (schema.example !== undefined) return schema.example;
      return 's'.repeat(Math.max(schema.minLength ?? 1, 8));
  }
}

/** A body with every declared property set to a sample value (so an all-optional body is not empty). */
export function sampleBody(schema: JsonSchema): Record<string, unknown> {
  return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, value]) => [key, sampleValue(value)]));
}

/** Whether a path or query value breaks its parameter schema's declared constraints. */
export function violates(schema: JsonSchema, value: string): boolean {
  if (schema.enum) return !schema.enum.includes(value);
  if (schema.type === 'integer' || schema.type === 'number') {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) return true;
    if (schema.type === 'integer' && !Number.isInteger(n)) return true;
    return (schema.minimum !== undefined && n < schema.minimum) || (schema.maximum !== undefined && n > schema.maximum);
  }
  if (schema.format === 'uuid' && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) {
    return true;
  }
  if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) return true;
  if (schema.pattern && !new RegExp(schema.pattern).test(value)) return true;
  if (schema.maxLength !== undefined && value.length > schema.maxLength) return true;
  return schema.minLength !== undefined && value.length < schema.minLength;
}

/** The path with every parameter filled by `value` (URL-encoded). */
export function fillPath(operation: Operation, value: (parameter: Parameter) => string): string {
  return operation.pathParams.reduce(
    (path, parameter) => path.replace(`:${parameter.name}`, encodeURIComponent(value(parameter))),
    operation.path,
  );
}

/** A path value the schema accepts: the given id for a uuid, else the declared example or default. */
export function samplePathValue(parameter: Parameter, id: string): string {
  if (parameter.schema.format === 'uuid') return id;
  const value = parameter.schema.example ?? parameter.schema.default ?? parameter.schema.enum?.[0];
  if (typeof value !== 'string') {
    throw new Error(`path parameter ${parameter.name} needs an example in its zod declaration to be generated`);
  }
  return value;
}
