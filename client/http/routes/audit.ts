// The audit trail of a tenant: who ingested, deleted, purged, created or revoked keys, claimed and decided reviews,
// changed schedules and budgets. Admins of the tenant (or of all tenants) read it; nothing here writes it.
import { z } from 'zod';
import { AUDIT_ACTIONS, AUDIT_ACTOR_KINDS, AuditLog, auditSafeId } from '../../../common/audit';
import type { AuditActor } from '../../../common/audit';
import type { Principal } from '../../auth/roles';
import { defineRoute } from '../route';
import type { Route } from '../route';
import { tenantParams } from './params';

/** The audit actor for an HTTP caller: its credential id, and its key name or token subject. */
export function actorOf(principal: Principal): AuditActor {
  return { kind: principal.kind, id: auditSafeId(principal.id), name: auditSafeId(principal.subject) };
}

export const auditEntry = z.object({
  seq: z.number().int().min(1),
  at: z.string().meta({ description: 'ISO time of the entry' }),
  tenantId: z.string().meta({ description: 'The tenant, or * for keys valid for all tenants' }),
  actor: z.object({
    kind: z.enum(AUDIT_ACTOR_KINDS),
    id: z.string().meta({ description: 'key:<keyId>, jwt:<issuer>:<subject>, the operator user name, or a component' }),
    name: z.string().optional(),
  }),
  action: z.enum(AUDIT_ACTIONS),
  target: z.object({ kind: z.string(), id: z.string() }).optional(),
  outcome: z.enum(['ok', 'refused']),
  details: z
    .record(z.string(), z.union([z.string().max(256), z.number(), z.boolean()]))
    .optional()
    .meta({ description: 'Ids, codes, roles, counts and numbers (allow-listed keys); never document text' }),
  prev: z.string().meta({ description: 'SHA-256 of the previous line of the log (the hash chain)' }),
});

export const auditPage = z.object({
  entries: z.array(auditEntry),
  nextCursor: z.string().optional().meta({ description: 'Pass as cursor for the next page' }),
});

const time = z
  .string()
  .max(64)
  .refine((v) => /^\d{1,6}(m|h|d)$/.test(v) || Number.isFinite(Date.parse(v)), 'use an ISO time or an age such as 7d');

export const auditRoutes: Route[] = [
  defineRoute({
    method: 'GET',
    path: '/v1/tenants/{tenantId}/audit',
    operationId: 'listAudit',
    summary: "The tenant's audit trail, oldest first: who did what, to which id, when",
    tag: 'audit',
    access: 'admin',
    params: tenantParams,
    query: z.object({
      from: time.optional().meta({ description: 'From this time (inclusive): ISO, or an age such as 7d' }),
      to: time.optional().meta({ description: 'Before this time: ISO, or an age' }),
      action: z.enum(AUDIT_ACTIONS).optional(),
      actorId: z.string().max(300).optional(),
      limit: z
        .string()
        .regex(/^\d{1,4}$/, 'a whole number from 1 to 1000')
        .transform(Number)
        .refine((n) => n >= 1 && n <= 1000, 'a whole number from 1 to 1000')
        .optional(),
      cursor: z
        .string()
        .regex(/^\d{1,15}$/, 'the nextCursor of a previous page')
        .optional(),
    }),
    responses: { 200: { description: 'A page of entries', schema: auditPage } },
    handler: async ({ params, query, deps }) => ({
      status: 200,
      body: await (deps.client.audit ?? AuditLog.forDataDir(deps.config.dataDir)).query(params.tenantId, {
        from: query.from,
        to: query.to,
        action: query.action,
        actorId: query.actorId,
        limit: query.limit,
        cursor: query.cursor,
      }),
    }),
  }),
];
