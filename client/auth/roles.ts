// Who may do what: four roles, the principal a credential stands for, and the one authorization rule every
// route goes through (role granted, and the path's tenant is the credential's, or the credential is for all tenants).
import { z } from 'zod';
import { TENANT_ID_PATTERN } from '../../common/ids';

export const ROLES = ['reader', 'writer', 'reviewer', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const roleSchema = z.enum(ROLES);

/** The tenant of a credential valid for every tenant; only admins may hold it. */
export const ALL_TENANTS = '*';

/**
 * What each role grants. Routes name the role they require; a principal satisfies it when one of its roles grants
 * it. Writer and reviewer are not ordered: a writer cannot decide reviews, a reviewer cannot ingest.
 */
const GRANTS: Record<Role, readonly Role[]> = {
  reader: ['reader'],
  writer: ['reader', 'writer'],
  reviewer: ['reader', 'reviewer'],
  admin: ROLES,
};

/** The caller, as established from its credential: nothing about identity comes from the request body. */
export interface Principal {
  kind: 'key' | 'jwt';
  /** Stable id of the credential (rate limiting, logs): `key:<keyId>` or `jwt:<issuer>:<subject>`. */
  id: string;
  /** The identity recorded for decisions (the reviewer): the key's name (or id), the token's subject. */
  subject: string;
  /** A tenant id, or ALL_TENANTS. */
  tenant: string;
  roles: Role[];
}

export function hasRole(principal: Principal, required: Role): boolean {
  return principal.roles.some((r) => GRANTS[r].includes(required));
}

/** True when the principal may act on this tenant: its own, or any when it is an admin for all tenants. */
export function canAccessTenant(principal: Principal, tenantId: string): boolean {
  if (principal.tenant === ALL_TENANTS) return hasRole(principal, 'admin');
  return principal.tenant === tenantId;
}

export const isTenantScope = (value: string): boolean => value === ALL_TENANTS || TENANT_ID_PATTERN.test(value);

export type Decision = { allowed: true } | { allowed: false; message: string };

/**
 * The one rule: the role must be granted, and the tenant (a tenant-scoped route) must be the principal's, or the
 * principal must hold every tenant (a route that is not about one tenant, such as keys and the codec).
 */
export function authorize(principal: Principal, required: Role, tenantId: string | undefined): Decision {
  if (!hasRole(principal, required))
    return {
      allowed: false,
      message: `This needs the ${required} role; the credential has ${principal.roles.join(', ') || 'none'}.`,
    };
  if (tenantId === undefined) {
    if (principal.tenant !== ALL_TENANTS)
      return { allowed: false, message: 'This needs a credential for all tenants.' };
  } else if (!canAccessTenant(principal, tenantId)) {
    return { allowed: false, message: 'The credential is not valid for this tenant.' };
  }
  return { allowed: true };
}
