// Re-evaluation of golden questions: now, or on the tenant's Schedule. Admin only: evaluations answer without
// escalation and may set the drift baseline.
import path from 'node:path';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { EvaluationStore } from '../../../activities/evaluation-store';
import { goldenSetSchema } from '../../groundwork-client';
import { loadReportData } from '../../report/load';
import { REPORT_CONTENT_SECURITY_POLICY, renderEvaluationReport } from '../../report/render';
import { defineRoute } from '../route';
import { actorOf } from './audit';
import type { Route } from '../route';
import { deleted, evaluationReport, evaluationSchedule } from '../schemas';
import { tenantParams } from './params';
import { openObjectStore } from '../../../common/shared-state';

const HTML = 'text/html; charset=utf-8';
/** A golden set of 10,000 questions fits (the JSON limit of other routes is 512 KB). */
const GOLDEN_BODY_BYTES = 16 * 1024 * 1024;

export const evaluationRoutes: Route[] = [
  defineRoute({
    method: 'GET',
    path: '/v1/tenants/{tenantId}/evaluations/report',
    operationId: 'evaluationReportPage',
    summary: "The tenant's evaluation report as one self-contained HTML page",
    description:
      'Metrics over time, the last run against its baseline, its risk–coverage curve, the worst questions and the ' +
      'cost per query, from the runs the data dir keeps. Inline CSS and SVG only: no script, nothing fetched.',
    tag: 'evaluations',
    access: 'admin',
    params: tenantParams,
    responses: { 200: { description: 'The report page', contentType: HTML } },
    handler: async ({ params, deps }) => {
      const store = EvaluationStore.inStore(openObjectStore(deps.config), deps.config.dataDir);
      const data = await loadReportData(store, params.tenantId, {
        driftTolerance: deps.config.evaluation.driftTolerance,
      });
      const body = Buffer.from(renderEvaluationReport(data));
      return {
        status: 200,
        stream: Readable.from([body]),
        headers: {
          'content-type': HTML,
          'content-length': String(body.length),
          'content-security-policy': REPORT_CONTENT_SECURITY_POLICY,
        },
      };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/v1/tenants/{tenantId}/evaluations',
    operationId: 'runEvaluation',
    summary: 'Evaluate a golden set now and compare with the baseline',
    tag: 'evaluations',
    access: 'admin',
    params: tenantParams,
    body: z.object({ golden: goldenSetSchema, setBaseline: z.boolean().optional() }),
    maxBodyBytes: GOLDEN_BODY_BYTES,
    responses: { 200: { description: 'The evaluation report', schema: evaluationReport } },
    errors: [422],
    handler: async ({ params, body, principal, deps }) => ({
      status: 200,
      body: await deps.client.runEvaluation(
        { tenantId: params.tenantId, golden: body.golden, setBaseline: body.setBaseline },
        actorOf(principal),
      ),
    }),
  }),
  defineRoute({
    method: 'PUT',
    path: '/v1/tenants/{tenantId}/evaluations/schedule',
    operationId: 'scheduleEvaluation',
    summary: "Create or update the tenant's re-evaluation Schedule",
    tag: 'evaluations',
    access: 'admin',
    params: tenantParams,
    maxBodyBytes: GOLDEN_BODY_BYTES,
    body: z.object({
      golden: goldenSetSchema,
      every: z
        .string()
        .regex(/^\d+(s|m|h|d)$/, 'use an interval such as 30m, 6h or 1d')
        .default('1d'),
      trigger: z.boolean().optional().meta({ description: 'also run it once now' }),
    }),
    responses: { 200: { description: 'The Schedule', schema: evaluationSchedule } },
    handler: async ({ params, body, principal, deps }) => {
      const scheduleId = await deps.client.scheduleEvaluation(
        { tenantId: params.tenantId, golden: body.golden, every: body.every },
        actorOf(principal),
      );
      if (body.trigger) await deps.client.triggerEvaluation(params.tenantId, actorOf(principal));
      return { status: 200, body: { scheduleId, every: body.every } };
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/v1/tenants/{tenantId}/evaluations/schedule',
    operationId: 'deleteEvaluationSchedule',
    summary: "Delete the tenant's re-evaluation Schedule",
    tag: 'evaluations',
    access: 'admin',
    params: tenantParams,
    responses: { 200: { description: 'Deleted', schema: deleted } },
    errors: [404],
    handler: async ({ params, principal, deps }) => {
      await deps.client.deleteEvaluationSchedule(params.tenantId, actorOf(principal));
      return { status: 200, body: { deleted: true } };
    },
  }),
];
