// Model usage and cost per tenant (the cost ledger, activities/ledger.ts) and the tenant's monthly budget.
import { z } from 'zod';
import { AuditLog } from '../../../common/audit';
import type { Config } from '../../../common/config';
import {
  BudgetExceededError,
  BudgetStore,
  assertWithinBudget as assertBudget,
  monthBounds,
  usageReport,
} from '../../../activities/ledger';
import type { Principal } from '../../auth/roles';
import { HttpError } from '../errors';
import { defineRoute } from '../route';
import type { Route } from '../route';
import { tenantParams } from './params';

const tokens = z.object({ embedding: z.number(), prompt: z.number(), completion: z.number() });

const budgetStatus = z.object({
  usd: z.number().meta({ description: 'Monthly budget in US dollars' }),
  spentUsd: z.number().meta({ description: 'Spent this (UTC) month' }),
  state: z.enum(['ok', 'warning', 'exceeded']).meta({ description: 'warning from 80%; exceeded: model calls refused' }),
  source: z.enum(['set', 'default']).meta({ description: 'set through the API or CLI, or GROUNDWORK_TENANT_BUDGETS' }),
});

export const usageResponse = z.object({
  tenantId: z.string(),
  from: z.string().meta({ description: 'Start of the period (inclusive), ISO time' }),
  to: z.string().meta({ description: 'End of the period (exclusive), ISO time' }),
  calls: z.number().int(),
  tokens,
  costUsd: z.number(),
  byModel: z.record(
    z.string(),
    z.object({ calls: z.number().int(), tokens, costUsd: z.number(), priced: z.boolean() }),
  ),
  answers: z.number().int().meta({ description: 'Answer runs with model calls in the period' }),
  ingestions: z.number().int().meta({ description: 'Ingestion runs with model calls in the period' }),
  costPerAnswerUsd: z.number().nullable(),
  budget: budgetStatus.optional().meta({ description: "This month's budget state, when the tenant has a budget" }),
});

const budgetResponse = budgetStatus.extend({ tenantId: z.string() });

const isoDate = z
  .string()
  .max(40)
  .regex(/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/, 'must be an ISO date or time')
  .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO date or time');

/** The period of a request: from/to as given, else the current UTC month. */
export function usagePeriod(
  from: string | undefined,
  to: string | undefined,
  now = new Date(),
): { from: Date; to: Date } {
  const month = monthBounds(now);
  return { from: from ? new Date(from) : month.from, to: to ? new Date(to) : month.to };
}

/**
 * Refuses a new ask with 429 BUDGET_EXCEEDED once the tenant's month's budget is spent. An answer cache lookup
 * belongs before this check: cached answers cost nothing and are served over budget.
 */
export async function assertWithinBudget(config: Config, tenantId: string): Promise<void> {
  // A configuration without a data dir (a partial one, in tests of the routes) has no budgets to check.
  if (!config.dataDir) return;
  try {
    await assertBudget(BudgetStore.inDataDir(config.dataDir, config.usage?.tenantBudgets ?? {}), tenantId);
  } catch (err) {
    if (err instanceof BudgetExceededError) throw new HttpError(429, err.code, err.message);
    throw err;
  }
}

function actorOf(principal: Principal): { kind: 'key' | 'jwt'; id: string } {
  return { kind: principal.kind, id: principal.id };
}

export const usageRoutes: Route[] = [
  defineRoute({
    method: 'GET',
    path: '/v1/tenants/{tenantId}/usage',
    operationId: 'getUsage',
    summary: "The tenant's model calls, tokens and cost over a period, and its budget state",
    description:
      'Every model call (embeddings at ingestion and for questions, chat answers) is recorded with its tokens and ' +
      'cost from the price table (GROUNDWORK_PRICES). `from` and `to` are ISO dates or times, `to` exclusive; ' +
      'default: the current UTC month.',
    tag: 'usage',
    access: 'reader',
    params: tenantParams,
    query: z.object({ from: isoDate.optional(), to: isoDate.optional() }),
    responses: { 200: { description: 'Usage over the period', schema: usageResponse } },
    handler: async ({ params, query, deps }) => ({
      status: 200,
      body: await usageReport(
        deps.config.dataDir,
        deps.config.usage.tenantBudgets,
        params.tenantId,
        usagePeriod(query.from, query.to),
      ),
    }),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/tenants/{tenantId}/budget',
    operationId: 'getBudget',
    summary: "The tenant's monthly model budget and this month's spend",
    tag: 'usage',
    access: 'reader',
    params: tenantParams,
    responses: { 200: { description: 'The budget', schema: budgetResponse } },
    errors: [404],
    handler: async ({ params, deps }) => {
      const status = await BudgetStore.inDataDir(deps.config.dataDir, deps.config.usage.tenantBudgets).status(
        params.tenantId,
      );
      if (!status) throw new HttpError(404, 'NOT_FOUND', 'This tenant has no budget.');
      return { status: 200, body: { tenantId: params.tenantId, ...status } };
    },
  }),
  defineRoute({
    method: 'PUT',
    path: '/v1/tenants/{tenantId}/budget',
    operationId: 'setBudget',
    summary: "Set the tenant's monthly model budget in US dollars (audited)",
    description:
      'From 80% of it the usage shows `warning`; at 100% new asks answer 429 BUDGET_EXCEEDED and model calls are ' +
      'refused until the month ends or the budget is raised.',
    tag: 'usage',
    access: 'admin',
    params: tenantParams,
    body: z.object({ usd: z.number().min(0).max(1e9).meta({ description: 'Monthly budget in US dollars' }) }),
    responses: { 200: { description: 'The budget now', schema: budgetResponse } },
    handler: async ({ params, body, principal, deps }) => {
      const budgets = BudgetStore.inDataDir(deps.config.dataDir, deps.config.usage.tenantBudgets);
      const { previousUsd } = await budgets.set(params.tenantId, body.usd);
      await AuditLog.forDataDir(deps.config.dataDir).append({
        tenantId: params.tenantId,
        actor: actorOf(principal),
        action: 'budget.set',
        target: { kind: 'budget', id: params.tenantId },
        details: { usd: body.usd, ...(previousUsd !== undefined ? { previousUsd } : {}), via: 'http' },
      });
      const status = await budgets.status(params.tenantId);
      return { status: 200, body: { tenantId: params.tenantId, ...status! } };
    },
  }),
];
