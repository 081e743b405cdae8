// The role matrix over the real route table: which role may call which route, on which tenant.
import { authorize } from '../../client/auth/roles';
import type { Principal, Role } from '../../client/auth/roles';
import { createRoutes } from '../../client/http';
import type { Route } from '../../client/http';

const principal = (role: Role, tenant = 'acme'): Principal => ({
  kind: 'key',
  id: `key:${role}`,
  subject: role,
  tenant,
  roles: [role],
});

/** operationId → the roles that may call it on their own tenant (admin for all tenants may call everything). */
const MATRIX: Record<string, Role[]> = {
  ingestDocument: ['writer', 'admin'],
  listDocuments: ['reader', 'writer', 'reviewer', 'admin'],
  getDocument: ['reader', 'writer', 'reviewer', 'admin'],
  deleteDocument: ['writer', 'admin'],
  purgeTenant: ['admin'],
  askQuestion: ['reader', 'writer', 'reviewer', 'admin'],
  getAnswer: ['reader', 'writer', 'reviewer', 'admin'],
  listReviews: ['reviewer', 'admin'],
  getReview: ['reviewer', 'admin'],
  approveReview: ['reviewer', 'admin'],
  editReview: ['reviewer', 'admin'],
  rejectReview: ['reviewer', 'admin'],
  runEvaluation: ['admin'],
  scheduleEvaluation: ['admin'],
  deleteEvaluationSchedule: ['admin'],
  listAudit: ['admin'],
  evaluationReportPage: ['admin'],
  getUsage: ['reader', 'writer', 'reviewer', 'admin'],
  getBudget: ['reader', 'writer', 'reviewer', 'admin'],
  setBudget: ['admin'],
  // Not about one tenant: an admin key for all tenants only.
  listKeys: [],
  createKey: [],
  revokeKey: [],
  encodePayloads: [],
  decodePayloads: [],
  // The HTTP API's own metrics cover every tenant.
  metrics: [],
};

const routes = createRoutes().filter((r): r is Route & { access: Role } => r.access !== 'public');
const ROLES: Role[] = ['reader', 'writer', 'reviewer', 'admin'];

test('every protected route is in the role matrix', () => {
  // A route added to the table must be added here with the roles it allows (document-lifecycle routes included).
  expect(routes.map((r) => r.operationId).sort()).toEqual(Object.keys(MATRIX).sort());
});

test.each(routes.map((r) => [r.operationId, r] as const))(
  '%s: the roles of the matrix, on their own tenant only',
  (id, route) => {
    for (const role of ROLES) {
      const allowed = authorize(principal(role), route.access, route.tenantScoped ? 'acme' : undefined).allowed;
      expect([id, role, allowed]).toEqual([id, role, (MATRIX[id] ?? []).includes(role)]);
      if (route.tenantScoped)
        expect([id, role, authorize(principal(role), route.access, 'globex').allowed]).toEqual([id, role, false]);
    }
    expect(authorize(principal('admin', '*'), route.access, route.tenantScoped ? 'globex' : undefined)).toEqual({
      allowed: true,
    });
  },
);

test('a principal holding all tenants without the admin role reaches no tenant', () => {
  expect(authorize(principal('reader', '*'), 'reader', 'acme').allowed).toBe(false);
  expect(authorize({ ...principal('reader'), roles: [] }, 'reader', 'acme').allowed).toBe(false);
});
