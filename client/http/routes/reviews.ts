// Review tasks. Decisions are recorded under the caller's identity (its key's name, its token's subject):
// a reviewerId in the body is refused.
import { z } from 'zod';
import { defineRoute } from '../route';
import type { Route } from '../route';
import { reviewList, reviewOutcome, reviewState, reviewStatus } from '../schemas';
import { tenantParams, workflowIdSchema } from './params';
import { actorOf } from './audit';

const noReviewerId = z
  .never({ error: 'the reviewer is the authenticated caller; do not send reviewerId' })
  .optional()
  .meta({ description: 'Not accepted: the reviewer is the authenticated caller.' });

const approveBody = z.object({ note: z.string().max(4000).optional(), reviewerId: noReviewerId });
const editBody = z.object({
  answer: z.string().min(1),
  citations: z.array(z.object({ chunkId: z.string(), quote: z.string().optional() })),
  note: z.string().max(4000).optional(),
  reviewerId: noReviewerId,
});
const rejectBody = z.object({ reason: z.string().min(1).max(4000), reviewerId: noReviewerId });

const taskParams = tenantParams.extend({ taskId: workflowIdSchema });
const decisionErrors = [404, 409];

export const reviewRoutes: Route[] = [
  defineRoute({
    method: 'GET',
    path: '/v1/tenants/{tenantId}/reviews',
    operationId: 'listReviews',
    summary: 'Review tasks of the tenant (default: pending, i.e. open and escalated)',
    tag: 'reviews',
    access: 'reviewer',
    params: tenantParams,
    query: z.object({ status: z.enum([...reviewStatus.options, 'pending', 'all']).optional() }),
    responses: { 200: { description: 'The tasks', schema: reviewList } },
    handler: async ({ params, query, deps }) => ({
      status: 200,
      body: { tasks: await deps.client.listReviews(params.tenantId, query.status ?? 'pending') },
    }),
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/tenants/{tenantId}/reviews/{taskId}',
    operationId: 'getReview',
    summary: 'A review task: question, draft, threshold, the retrieved chunks an edit may cite',
    tag: 'reviews',
    access: 'reviewer',
    params: taskParams,
    responses: { 200: { description: 'The task state', schema: reviewState } },
    errors: [404],
    handler: async ({ params, deps }) => {
      // The documented task state; the console's own API (/console/api) also shows claims and search hits.
      const {
        escalatesAt: _escalatesAt,
        claim: _claim,
        found: _found,
        ...state
      } = await deps.client.getReview(params.tenantId, params.taskId);
      return { status: 200, body: state };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/tenants/{tenantId}/reviews/{taskId}/approve',
    operationId: 'approveReview',
    summary: 'Approve the drafted answer',
    tag: 'reviews',
    access: 'reviewer',
    params: taskParams,
    body: approveBody,
    responses: { 200: { description: 'The outcome the task recorded', schema: reviewOutcome } },
    errors: decisionErrors,
    handler: async ({ params, body, principal, deps }) => ({
      status: 200,
      body: await deps.client.approve(params.tenantId, params.taskId, principal.subject, body.note, actorOf(principal)),
    }),
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/tenants/{tenantId}/reviews/{taskId}/edit',
    operationId: 'editReview',
    summary: 'Replace the draft with a corrected answer citing retrieved chunks',
    tag: 'reviews',
    access: 'reviewer',
    params: taskParams,
    body: editBody,
    responses: { 200: { description: 'The outcome the task recorded', schema: reviewOutcome } },
    errors: decisionErrors,
    handler: async ({ params, body, principal, deps }) => ({
      status: 200,
      body: await deps.client.edit(
        params.tenantId,
        params.taskId,
        { reviewerId: principal.subject, answer: body.answer, citations: body.citations, note: body.note },
        actorOf(principal),
      ),
    }),
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/tenants/{tenantId}/reviews/{taskId}/reject',
    operationId: 'rejectReview',
    summary: 'Reject the draft: the question is answered with no answer',
    tag: 'reviews',
    access: 'reviewer',
    params: taskParams,
    body: rejectBody,
    responses: { 200: { description: 'The outcome the task recorded', schema: reviewOutcome } },
    errors: decisionErrors,
    handler: async ({ params, body, principal, deps }) => ({
      status: 200,
      body: await deps.client.reject(
        params.tenantId,
        params.taskId,
        principal.subject,
        body.reason,
        actorOf(principal),
      ),
    }),
  }),
];
