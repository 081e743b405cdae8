// What needs no credential: the health check and the OpenAPI document of all routes.
import { z } from 'zod';
import { buildOpenApi } from '../openapi';
import { defineRoute } from '../route';
import type { Route } from '../route';

export function metaRoutes(all: () => Route[]): Route[] {
  let document: Record<string, unknown> | undefined;
  return [
    defineRoute({
      method: 'GET',
      path: '/healthz',
      operationId: 'health',
      summary: 'Liveness of the HTTP API',
      tag: 'meta',
      access: 'public',
      responses: { 200: { description: 'Up', schema: z.object({ ok: z.literal(true) }) } },
      handler: async () => ({ status: 200, body: { ok: true } }),
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/openapi.json',
      operationId: 'openapi',
      summary: 'This API as an OpenAPI 3.1 document',
      tag: 'meta',
      access: 'public',
      responses: { 200: { description: 'The OpenAPI document', schema: z.record(z.string(), z.unknown()) } },
      handler: async () => {
        document ??= buildOpenApi(all());
        return { status: 200, body: document };
      },
    }),
  ];
}
