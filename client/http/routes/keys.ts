// API keys, for admins holding every tenant (`keys create --tenant '*' --role admin`). The CLI's `keys` commands
// manage the same store.
import { z } from 'zod';
import { KEY_NAME_PATTERN } from '../../auth/key-store';
import { roleSchema } from '../../auth/roles';
import { defineRoute } from '../route';
import { actorOf } from './audit';
import type { Route } from '../route';
import { createdKey, keyInfo } from '../schemas';

export const keyRoutes: Route[] = [
  defineRoute({
    method: 'GET',
    path: '/v1/keys',
    operationId: 'listKeys',
    summary: 'API keys (never their secrets)',
    tag: 'keys',
    access: 'admin',
    query: z.object({
      tenant: z.string().max(128).optional(),
      includeRevoked: z.enum(['true', 'false']).optional(),
    }),
    responses: { 200: { description: 'The keys', schema: z.object({ keys: z.array(keyInfo) }) } },
    handler: async ({ query, deps }) => ({
      status: 200,
      body: { keys: await deps.keys.list({ tenant: query.tenant, includeRevoked: query.includeRevoked === 'true' }) },
    }),
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/keys',
    operationId: 'createKey',
    summary: 'Create an API key; the response is the only time the key is shown',
    tag: 'keys',
    access: 'admin',
    body: z.object({
      tenant: z.string().max(128).meta({ description: 'A tenant id, or * (admin keys only)' }),
      role: roleSchema,
      name: z.string().regex(KEY_NAME_PATTERN).optional().meta({ description: 'Recorded as the reviewer' }),
    }),
    responses: { 201: { description: 'The new key', schema: createdKey } },
    handler: async ({ body, principal, deps }) => {
      const { key, info } = await deps.keys.create(body, actorOf(principal));
      return { status: 201, body: { ...info, key } };
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/v1/keys/{keyId}',
    operationId: 'revokeKey',
    summary: 'Revoke an API key (at once, in every process sharing the key store)',
    tag: 'keys',
    access: 'admin',
    params: z.object({ keyId: z.string().regex(/^[0-9a-f]{16}$/) }),
    responses: { 200: { description: 'The revoked key', schema: keyInfo } },
    errors: [404],
    handler: async ({ params, principal, deps }) => ({
      status: 200,
      body: await deps.keys.revoke(params.keyId, actorOf(principal)),
    }),
  }),
];
