// Tenant-id validation shared by every adapter: checked before any filter or query is built.
import { TENANT_ID_PATTERN } from '../../workflows/definitions';

export class InvalidTenantError extends Error {
  override readonly name = 'InvalidTenantError';
  constructor() {
    super('The tenant id is not valid.');
  }
}

export function assertTenant(tenantId: string): void {
  if (typeof tenantId !== 'string' || !TENANT_ID_PATTERN.test(tenantId)) throw new InvalidTenantError();
}
