// Questions and their answers.
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { TenantIdKey, answerProgressQuery } from '../../../workflows/definitions';
import { hasRole } from '../../auth/roles';
import { questionSchema } from '../../groundwork-client';
import { HttpError } from '../errors';
import { defineRoute } from '../route';
import type { Route } from '../route';
import { accepted, answerState, answerWithId } from '../schemas';
import { tenantParams, waitQuery, workflowIdSchema } from './params';
import { consoleUrlFor } from '../console/links';
import { assertWithinBudget } from './usage';
import { labelsFor, metrics } from '../../../common/metrics';

const askBody = z.object({
  question: questionSchema,
  topK: z.number().int().min(1).max(50).optional(),
  escalate: z.boolean().optional().meta({ description: 'false: never open a review task (admin only); default true' }),
});

/** With wait=true, a question that needs a reviewer is answered at once with the task (unless waitReview=true). */
const escalatedAnswer = z.object({
  workflowId: z.string(),
  status: z.literal('escalated'),
  reviewTaskId: z.string(),
  reviewUrl: z.string().optional().meta({ description: "The task's page in the review console" }),
});

const askQuery = waitQuery.extend({
  waitReview: z
    .enum(['true', 'false'])
    .optional()
    .meta({ description: 'true (with wait=true): wait for the reviewer instead of answering "escalated" at once' }),
});

const noSuchAnswer = (): HttpError => new HttpError(404, 'NOT_FOUND', 'No such answer for this tenant.');

export const questionRoutes: Route[] = [
  defineRoute({
    method: 'POST',
    path: '/v1/tenants/{tenantId}/questions',
    operationId: 'askQuestion',
    summary: 'Ask a question; a low-confidence answer goes to a reviewer',
    description:
      'Sending `escalate: false` (no human review) needs the admin role. With `wait=true`, a question that needs a ' +
      'reviewer answers at once with status `escalated`, the review task and its console link; `waitReview=true` ' +
      'waits for the reviewed answer instead. GET /answers/{workflowId} reports the outcome once decided.',
    tag: 'questions',
    access: 'reader',
    params: tenantParams,
    query: askQuery,
    body: askBody,
    responses: {
      200: {
        description: 'The answer, or the review task it waits for (with wait=true)',
        schema: z.union([answerWithId, escalatedAnswer]),
      },
      202: { description: 'Answering started', schema: accepted },
    },
    errors: [422],
    handler: async ({ params, query, body, principal, deps, req }) => {
      if (body.escalate === false && !hasRole(principal, 'admin'))
        throw new HttpError(403, 'FORBIDDEN', 'Only admins may ask without escalation (escalate: false).');
      const asked = { tenantId: params.tenantId, ...body };
      // A question this API answered before, on the tenant's current documents: no workflow round trip, no model
      // call (so also over budget).
      if (query.wait === 'true' && deps.served) {
        const hit = await deps.served.lookup(asked);
        if (hit) {
          metrics.cacheHits.inc(labelsFor({}, params.tenantId));
          return { status: 200, body: hit };
        }
      }
      // Over its month's model budget a tenant is still served cached answers (no model call); anything else is
      // 429 BUDGET_EXCEEDED.
      const overBudget = await assertWithinBudget(deps.config, params.tenantId).then(
        () => undefined,
        (err: unknown) => {
          if (err instanceof HttpError && err.code === 'BUDGET_EXCEEDED') return err;
          throw err;
        },
      );
      if (overBudget) {
        const cached = await deps.client.askUntilEscalated(
          { tenantId: params.tenantId, ...body, onlyFromCache: true },
          { consoleUrl: consoleUrlFor(deps.config, req) },
        );
        if (cached.status === 'not_cached') throw overBudget;
        return query.wait === 'true'
          ? { status: 200, body: cached }
          : { status: 202, body: { workflowId: cached.workflowId } };
      }
      if (query.wait === 'true') {
        const generation = await deps.served?.generation(params.tenantId);
        const answer = await deps.client.askUntilEscalated(asked, {
          waitReview: query.waitReview === 'true',
          consoleUrl: consoleUrlFor(deps.config, req),
        });
        if (generation !== undefined) deps.served?.remember(asked, generation, answer);
        return { status: 200, body: answer };
      }
      const handle = await deps.client.startAsk({ tenantId: params.tenantId, ...body });
      return { status: 202, body: { workflowId: handle.workflowId } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/tenants/{tenantId}/answers/{workflowId}',
    operationId: 'getAnswer',
    summary: 'Progress of an answer, or the answer once done',
    tag: 'questions',
    access: 'reader',
    params: tenantParams.extend({ workflowId: workflowIdSchema }),
    responses: { 200: { description: 'Progress or the answer', schema: answerState } },
    errors: [404, 422],
    handler: async ({ params, deps }) => {
      const { tenantId, workflowId } = params;
      if (!workflowId.startsWith(`answer:${tenantId}:`)) throw noSuchAnswer();
      const handle = deps.client.temporal.workflow.getHandle(workflowId);
      const desc = await handle.describe().catch((err: unknown) => {
        throw err instanceof WorkflowNotFoundError ? noSuchAnswer() : err;
      });
      // The run's own TenantId decides, not the id the caller sent.
      if (desc.type !== 'answerQuestion' || desc.typedSearchAttributes.get(TenantIdKey) !== tenantId)
        throw noSuchAnswer();
      if (desc.status.name === 'RUNNING')
        return { status: 200, body: { workflowId, done: false, progress: await handle.query(answerProgressQuery) } };
      return { status: 200, body: { workflowId, done: true, result: await handle.result() } };
    },
  }),
];
