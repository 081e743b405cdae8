// The review console: its page and static files (public: they hold no data), and the JSON API the page calls with
// the reviewer's credential (an API key with the reviewer role, or a JWT). The tenant and the reviewer come from the
// credential. These routes are the console's own, outside the versioned API and its OpenAPI document.
import { Readable } from 'node:stream';
import { z } from 'zod';
import { ReviewSourceCache } from '../../../activities/review-sources';
import { ASSET_NAME, CONSOLE_SECURITY_HEADERS, consoleAssets } from '../console/assets';
import { loadQueue } from '../console/queue';
import { computeStats } from '../console/stats';
import { HttpError } from '../errors';
import { defineRoute } from '../route';
import type { Reply, Route } from '../route';
import { tenantParams, workflowIdSchema } from './params';
import { actorOf } from './audit';
import { openObjectStore } from '../../../common/shared-state';

/** Routes about the caller only: any credential with the route's role may call them (see server.ts). */
export const IDENTITY_PATHS: ReadonlySet<string> = new Set(['/console/api/me']);

const taskParams = tenantParams.extend({ taskId: workflowIdSchema });
const sourceParams = taskParams.extend({ chunkId: z.string().regex(/^[A-Za-z0-9-]{1,100}$/) });
const json = z.unknown();

function page(name: string): Reply {
  const asset = consoleAssets().get(name);
  if (!asset) throw new HttpError(404, 'NOT_FOUND', 'No such console file.');
  return {
    status: 200,
    stream: Readable.from([asset.body]),
    headers: {
      'content-type': asset.contentType,
      'content-length': String(asset.body.length),
      'cache-control': name.endsWith('.html') ? 'no-store' : 'no-cache',
      ...CONSOLE_SECURITY_HEADERS,
    },
  };
}

const sourceNotReady = (): HttpError =>
  new HttpError(404, 'SOURCE_NOT_READY', 'The source view is being prepared; try again in a moment.');

export function consoleRoutes(): Route[] {
  const common = { tag: 'console', access: 'reviewer' as const };
  const html = { 200: { description: 'The console page', contentType: 'text/html' } };
  return [
    defineRoute({
      method: 'GET',
      path: '/console',
      operationId: 'consoleRedirect',
      summary: 'The console (redirects to /console/)',
      tag: 'console',
      access: 'public',
      responses: { 308: { description: 'To /console/' } },
      handler: async () => ({ status: 308, headers: { location: '/console/' } }),
    }),
    ...['/console/', '/console/stats'].map((path) =>
      defineRoute({
        method: 'GET',
        path,
        operationId: `consolePage${path.length}`,
        summary: 'The review console page',
        tag: 'console',
        access: 'public',
        responses: html,
        handler: async () => page('index.html'),
      }),
    ),
    defineRoute({
      method: 'GET',
      path: '/console/{asset}',
      operationId: 'consoleAsset',
      summary: 'A static file of the console',
      tag: 'console',
      access: 'public',
      params: z.object({ asset: z.string().regex(ASSET_NAME) }),
      responses: { 200: { description: 'The file', contentType: 'application/octet-stream' } },
      handler: async ({ params }) => page(params.asset),
    }),
    defineRoute({
      method: 'GET',
      path: '/console/api/me',
      operationId: 'consoleMe',
      summary: 'Who the credential is: reviewer name, tenant, roles',
      ...common,
      responses: { 200: { description: 'The identity', schema: json } },
      handler: async ({ principal }) => ({
        status: 200,
        body: { reviewer: principal.subject, tenant: principal.tenant, roles: principal.roles },
      }),
    }),
    defineRoute({
      method: 'GET',
      path: '/console/api/tenants/{tenantId}/queue',
      operationId: 'consoleQueue',
      summary: 'Every review task of the tenant, newest first',
      ...common,
      params: tenantParams,
      responses: { 200: { description: 'The rows', schema: json } },
      handler: async ({ params, deps }) => ({
        status: 200,
        body: { now: new Date().toISOString(), tasks: await loadQueue(deps.client, params.tenantId) },
      }),
    }),
    defineRoute({
      method: 'GET',
      path: '/console/api/tenants/{tenantId}/stats',
      operationId: 'consoleStats',
      summary: 'Backlog, time to decision, decisions per week, agreement per confidence band',
      ...common,
      params: tenantParams,
      responses: { 200: { description: 'The statistics', schema: json } },
      handler: async ({ params, deps }) => ({
        status: 200,
        body: computeStats(await loadQueue(deps.client, params.tenantId)),
      }),
    }),
    defineRoute({
      method: 'GET',
      path: '/console/api/tenants/{tenantId}/tasks/{taskId}',
      operationId: 'consoleTask',
      summary: 'A task: question, draft, citations, retrieved chunks, claim, outcome',
      ...common,
      params: taskParams,
      responses: { 200: { description: 'The task', schema: json } },
      errors: [404],
      handler: async ({ params, deps }) => ({
        status: 200,
        body: await deps.client.getReview(params.tenantId, params.taskId),
      }),
    }),
    ...(['claim', 'release'] as const).map((action) =>
      defineRoute({
        method: 'POST',
        path: `/console/api/tenants/{tenantId}/tasks/{taskId}/${action}`,
        operationId: `console-${action}`,
        summary: action === 'claim' ? 'Claim the task' : 'Release your claim',
        ...common,
        params: taskParams,
        body: z.object({}).strict(),
        responses: { 200: { description: 'Done', schema: json } },
        errors: [404, 409],
        handler: async ({ params, principal, deps }) => ({
          status: 200,
          body: await deps.client[action](params.tenantId, params.taskId, principal.subject, actorOf(principal)),
        }),
      }),
    ),
    defineRoute({
      method: 'POST',
      path: '/console/api/tenants/{tenantId}/tasks/{taskId}/search',
      operationId: 'consoleSearch',
      summary: "Search the tenant's documents for a chunk to cite",
      ...common,
      params: taskParams,
      body: z.object({ text: z.string().max(500) }).strict(),
      responses: { 200: { description: 'The chunks found', schema: json } },
      errors: [404, 409],
      handler: async ({ params, body, principal, deps }) => ({
        status: 200,
        body: {
          chunks: await deps.client.searchSources(params.tenantId, params.taskId, principal.subject, body.text),
        },
      }),
    }),
    defineRoute({
      method: 'POST',
      path: '/console/api/tenants/{tenantId}/tasks/{taskId}/approve',
      operationId: 'consoleApprove',
      summary: 'Approve the draft',
      ...common,
      params: taskParams,
      body: z.object({ note: z.string().max(4000).optional() }).strict(),
      responses: { 200: { description: 'The outcome', schema: json } },
      errors: [404, 409],
      handler: async ({ params, body, principal, deps }) => ({
        status: 200,
        body: await deps.client.approve(
          params.tenantId,
          params.taskId,
          principal.subject,
          body.note,
          actorOf(principal),
        ),
      }),
    }),
    defineRoute({
      method: 'POST',
      path: '/console/api/tenants/{tenantId}/tasks/{taskId}/edit',
      operationId: 'consoleEdit',
      summary: 'Replace the draft with a corrected answer and citations',
      ...common,
      params: taskParams,
      body: z
        .object({
          answer: z.string().max(20_000),
          citations: z
            .array(z.object({ chunkId: z.string().max(200), quote: z.string().max(2000).optional() }))
            .max(50),
          note: z.string().max(4000).optional(),
        })
        .strict(),
      responses: { 200: { description: 'The outcome', schema: json } },
      errors: [404, 409],
      handler: async ({ params, body, principal, deps }) => ({
        status: 200,
        body: await deps.client.edit(
          params.tenantId,
          params.taskId,
          { ...body, reviewerId: principal.subject },
          actorOf(principal),
        ),
      }),
    }),
    defineRoute({
      method: 'POST',
      path: '/console/api/tenants/{tenantId}/tasks/{taskId}/reject',
      operationId: 'consoleReject',
      summary: 'Reject the draft with a reason',
      ...common,
      params: taskParams,
      body: z.object({ reason: z.string().max(4000) }).strict(),
      responses: { 200: { description: 'The outcome', schema: json } },
      errors: [404, 409],
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
    defineRoute({
      method: 'GET',
      path: '/console/api/tenants/{tenantId}/tasks/{taskId}/sources/{chunkId}',
      operationId: 'consoleSource',
      summary: "A chunk's source view: PDF page, sheet rows or text lines",
      ...common,
      params: sourceParams,
      responses: { 200: { description: 'The view', schema: json } },
      errors: [404],
      handler: async ({ params, deps }) => {
        await checkSourceOfTask(deps, params);
        const view = await ReviewSourceCache.inStore(openObjectStore(deps.config)).readView(
          params.tenantId,
          params.chunkId,
        );
        if (!view) throw sourceNotReady();
        return { status: 200, body: view };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/console/api/tenants/{tenantId}/tasks/{taskId}/sources/{chunkId}/page.png',
      operationId: 'consoleSourcePage',
      summary: 'The rendered PDF page of a chunk',
      ...common,
      params: sourceParams,
      responses: { 200: { description: 'PNG', contentType: 'image/png' } },
      errors: [404],
      handler: async ({ params, deps }) => {
        await checkSourceOfTask(deps, params);
        const png = await ReviewSourceCache.inStore(openObjectStore(deps.config)).readImage(
          params.tenantId,
          params.chunkId,
        );
        if (!png) throw sourceNotReady();
        return {
          status: 200,
          stream: Readable.from([png]),
          headers: { 'content-type': 'image/png', 'content-length': String(png.length), 'cache-control': 'private' },
        };
      },
    }),
  ];
}

/** Only chunks of the task (retrieved, cited or found by a search) are shown through it; the task must be the tenant's. */
async function checkSourceOfTask(
  deps: Parameters<Route['handler']>[0]['deps'],
  params: { tenantId: string; taskId: string; chunkId: string },
): Promise<void> {
  const state = await deps.client.getReview(params.tenantId, params.taskId);
  const ids = new Set([
    ...state.retrieved.map((r) => r.chunkId),
    ...(state.found ?? []).map((r) => r.chunkId),
    ...state.draft.citations.map((c) => c.chunkId),
    ...(state.outcome?.citations ?? []).map((c) => c.chunkId),
  ]);
  if (!ids.has(params.chunkId)) throw new HttpError(404, 'NOT_FOUND', 'No such source in this task.');
}
