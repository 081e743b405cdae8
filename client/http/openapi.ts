// The OpenAPI 3.1 document, generated from the route table: paths and operations from the entries, schemas from
// their zod schemas (request bodies as accepted, responses as sent), security from their required roles.
import { z } from 'zod';
import type { Route } from './route';
import { errorResponse } from './schemas';

type Json = Record<string, unknown>;

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed request: bad URL or escape, invalid JSON or input (INVALID_URL, INVALID_JSON, INVALID_INPUT)',
  401: 'No credential, or one not accepted (UNAUTHENTICATED)',
  403: 'The credential lacks the role, or is for another tenant (FORBIDDEN)',
  404: 'No such resource for this tenant, or not on this server (NOT_FOUND, REVIEW_NOT_FOUND, CODEC_UNAVAILABLE, …)',
  405: 'The path exists but not with this method (METHOD_NOT_ALLOWED)',
  409: 'Conflict, e.g. the review task is already decided (REVIEW_CLOSED)',
  413: 'The request body is too large (BODY_TOO_LARGE)',
  422: 'The workflow failed; the code is the failure type (e.g. UNSUPPORTED_TYPE)',
  429: 'Too many requests for this credential (RATE_LIMITED); see Retry-After',
  500: 'Internal error (INTERNAL)',
  503: 'Temporal or the identity provider is unreachable (UPSTREAM_UNAVAILABLE, AUTH_UNAVAILABLE)',
};

export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  return rest;
}

function parameters(route: Route): Json[] {
  const out: Json[] = [];
  for (const [where, obj] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!obj) continue;
    for (const [name, schema] of Object.entries(obj.shape) as [string, z.ZodType][]) {
      const s = jsonSchema(schema, 'input');
      const { description, ...rest } = s;
      out.push({
        name,
        in: where,
        required: where === 'path' || !schema.safeParse(undefined).success,
        ...(description ? { description } : {}),
        schema: rest,
      });
    }
  }
  return out;
}

function operation(route: Route): Json {
  const errors = new Set<number>([400, 429, 500, ...(route.errors ?? [])]);
  if (route.access !== 'public') [401, 403, 503].forEach((s) => errors.add(s));
  if (route.params) errors.add(404);
  if (route.body) errors.add(413);
  const responses: Json = {};
  for (const [status, r] of Object.entries(route.responses)) {
    responses[status] = {
      description: r.description,
      ...(r.schema
        ? { content: { 'application/json': { schema: jsonSchema(r.schema, 'output') } } }
        : r.contentType
          ? { content: { [r.contentType]: {} } }
          : {}),
    };
  }
  const error = jsonSchema(errorResponse, 'output');
  for (const status of [...errors].sort((a, b) => a - b)) {
    responses[String(status)] ??= {
      description: ERROR_DESCRIPTIONS[status] ?? 'Error',
      ...(status === 429
        ? { headers: { 'Retry-After': { schema: { type: 'integer' }, description: 'seconds' } } }
        : {}),
      content: { 'application/json': { schema: error } },
    };
  }
  const role = route.access === 'public' ? 'none (public)' : route.access;
  const scope =
    route.access === 'public' ? '' : route.tenantScoped ? ' of this tenant (or all tenants)' : ' for all tenants (*)';
  return {
    operationId: route.operationId,
    summary: route.summary,
    description: [route.description, `Required role: ${role}${scope}.`].filter(Boolean).join('\n\n'),
    tags: [route.tag],
    'x-required-role': route.access,
    security: route.access === 'public' ? [] : [{ apiKey: [] }, { jwt: [] }],
    parameters: parameters(route),
    ...(route.body
      ? {
          requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } },
        }
      : route.rawBody
        ? {
            requestBody: {
              required: true,
              description: route.rawBody.description,
              content: Object.fromEntries(
                route.rawBody.contentTypes.map((t) => [
                  t,
                  route.rawBody?.schemas?.[t] ? { schema: route.rawBody.schemas[t] } : {},
                ]),
              ),
            },
          }
        : {}),
    responses,
  };
}

export function buildOpenApi(routes: Route[]): Json {
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    (paths[route.path] as Json)[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Groundwork HTTP API',
      version: '1',
      description:
        'Production RAG on Temporal. Every route except /healthz and this document needs `Authorization: Bearer <credential>`: ' +
        'a Groundwork API key (gw_<keyId>_<secret>, `groundwork keys create`) or a JWT of the configured identity provider. ' +
        'Errors are `{ "error": { "code", "message" } }`.',
    },
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'gw_<keyId>_<secret>',
          description:
            'A Groundwork API key: one tenant (or * for admins) and one role: reader, writer, reviewer or admin.',
        },
        jwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            "A token of the identity provider: tenant and roles from the configured claims, the reviewer from 'sub'.",
        },
      },
    },
    paths,
  };
}
