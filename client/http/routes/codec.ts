// A Temporal codec server for operators (admin for all tenants): the Temporal UI or CLI posts
// `{ payloads: [{ metadata, data }] }` (base64 fields) and gets them back encoded or decoded.
import { z } from 'zod';
import { HttpError } from '../errors';
import { defineRoute } from '../route';
import type { HttpDeps, Route } from '../route';

const payloads = z.object({
  payloads: z.array(
    z.object({
      metadata: z.record(z.string(), z.string()).optional().meta({ description: 'values in base64' }),
      data: z.string().optional().meta({ description: 'base64' }),
    }),
  ),
});

function codecOf(deps: HttpDeps): NonNullable<HttpDeps['codec']> {
  if (!deps.codec)
    throw new HttpError(
      404,
      'CODEC_UNAVAILABLE',
      'This server has no payload codec (GROUNDWORK_PAYLOAD_KEY is not set).',
    );
  return deps.codec;
}

const codecRoute = (action: 'encode' | 'decode'): Route =>
  defineRoute({
    method: 'POST',
    path: `/v1/codec/${action}`,
    operationId: `${action}Payloads`,
    summary: `${action === 'encode' ? 'Encode (encrypt)' : 'Decode (decrypt)'} Temporal payloads`,
    description: 'The Temporal codec-server protocol; GROUNDWORK_PAYLOAD_KEY holds the keys.',
    tag: 'codec',
    access: 'admin',
    body: payloads,
    maxBodyBytes: 4 * 1024 * 1024,
    responses: { 200: { description: `The ${action}d payloads`, schema: payloads } },
    errors: [404],
    handler: async ({ body, deps }) => ({ status: 200, body: await codecOf(deps)[action](body) }),
  });

export const codecRoutes: Route[] = [codecRoute('encode'), codecRoute('decode')];
