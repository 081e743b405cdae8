// The HTTP API (JSON) for backend services. Validates with zod, talks to Temporal only, and answers
// errors as { error: { code, message } } without echoing document content.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import type { Config } from '../common/config';
import { TENANT_ID_SOURCE, documentIdFromName } from '../common/ids';
import { TenantIdKey, answerProgressQuery } from '../workflows/definitions';
import {
  ClientInputError,
  GroundworkClient,
  documentIdSchema,
  goldenSetSchema,
  questionSchema,
} from './groundwork-client';

const MAX_BODY = 512 * 1024;

const ingestOptions = {
  documentId: documentIdSchema.optional(),
  password: z.string().optional(),
  includeHiddenSheets: z.boolean().optional(),
  chunkAcrossPages: z.boolean().optional(),
};
const ingestBody = z.union([
  z.object({ ...ingestOptions, path: z.string().min(1) }),
  z.object({ ...ingestOptions, name: z.string().min(1).max(300), contentBase64: z.string().min(1) }),
]);
const askBody = z.object({
  question: questionSchema,
  topK: z.number().int().min(1).max(50).optional(),
  escalate: z.boolean().optional(),
});
const approveBody = z.object({ reviewerId: z.string().min(1), note: z.string().optional() });
const editBody = z.object({
  reviewerId: z.string().min(1),
  answer: z.string().min(1),
  citations: z.array(z.object({ chunkId: z.string(), quote: z.string().optional() })),
  note: z.string().optional(),
});
const rejectBody = z.object({ reviewerId: z.string().min(1), reason: z.string().min(1) });
const evalBody = z.object({ golden: goldenSetSchema, setBaseline: z.boolean().optional() });

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'BODY_TOO_LARGE', `Request bodies are limited to ${MAX_BODY} bytes.`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'INVALID_JSON', 'The request body is not valid JSON.');
  }
}

function validate<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success)
    throw new HttpError(
      400,
      'INVALID_INPUT',
      r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    );
  return r.data;
}

/** The HTTP status of a refusal: a decided task is a conflict, an unknown one not found, anything else bad input. */
export function statusForCode(code: string): number {
  if (code === 'REVIEW_CLOSED') return 409;
  if (code.endsWith('NOT_FOUND')) return 404;
  return 400;
}

type Handler = (params: string[], body: () => Promise<unknown>, url: URL) => Promise<[number, unknown]>;

export function createRoutes(client: GroundworkClient): { method: string; pattern: RegExp; handler: Handler }[] {
  const T = `(${TENANT_ID_SOURCE})`;
  return [
    { method: 'GET', pattern: /^\/healthz$/, handler: async () => [200, { ok: true }] },
    {
      method: 'POST',
      pattern: new RegExp(`^/v1/tenants/${T}/documents$`),
      handler: async ([tenantId], body, url) => {
        const b = validate(ingestBody, await body());
        const source =
          'path' in b
            ? { kind: 'path' as const, path: b.path }
            : { kind: 'inline' as const, name: b.name, contentBase64: b.contentBase64 };
        const documentId = b.documentId ?? documentIdFromName('path' in b ? b.path : b.name);
        const handle = await client.startIngest({
          tenantId: tenantId as string,
          documentId,
          source,
          password: b.password,
          includeHiddenSheets: b.includeHiddenSheets,
          chunkAcrossPages: b.chunkAcrossPages,
        });
        if (url.searchParams.get('wait') === 'true') return [200, await handle.result()];
        return [202, { workflowId: handle.workflowId, documentId }];
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/v1/tenants/${T}/questions$`),
      handler: async ([tenantId], body, url) => {
        const b = validate(askBody, await body());
        const handle = await client.startAsk({ tenantId: tenantId as string, ...b });
        if (url.searchParams.get('wait') === 'true')
          return [200, { workflowId: handle.workflowId, ...(await handle.result()) }];
        return [202, { workflowId: handle.workflowId }];
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/tenants/${T}/answers/([^/]+)$`),
      handler: async ([tenantId, id]) => {
        const workflowId = decodeURIComponent(id as string);
        if (!workflowId.startsWith(`answer:${tenantId}:`))
          throw new HttpError(404, 'NOT_FOUND', 'No such answer for this tenant.');
        const handle = client.temporal.workflow.getHandle(workflowId);
        const desc = await handle.describe();
        if (desc.type !== 'answerQuestion' || desc.typedSearchAttributes.get(TenantIdKey) !== tenantId)
          throw new HttpError(404, 'NOT_FOUND', 'No such answer for this tenant.');
        if (desc.status.name === 'RUNNING')
          return [200, { workflowId, done: false, progress: await handle.query(answerProgressQuery) }];
        return [200, { workflowId, done: true, result: await handle.result() }];
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/tenants/${T}/reviews$`),
      handler: async ([tenantId], _b, url) => {
        const status = z
          .enum(['pending', 'open', 'escalated', 'approved', 'edited', 'rejected', 'expired', 'all'])
          .catch('pending')
          .parse(url.searchParams.get('status') ?? 'pending');
        return [200, { tasks: await client.listReviews(tenantId as string, status) }];
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/tenants/${T}/reviews/([^/]+)$`),
      handler: async ([tenantId, id]) => [
        200,
        await client.getReview(tenantId as string, decodeURIComponent(id as string)),
      ],
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/v1/tenants/${T}/reviews/([^/]+)/(approve|edit|reject)$`),
      handler: async ([tenantId, id, action], body) => {
        const [tenant, taskId, raw] = [tenantId as string, decodeURIComponent(id as string), await body()];
        if (action === 'approve') {
          const b = validate(approveBody, raw);
          return [200, await client.approve(tenant, taskId, b.reviewerId, b.note)];
        }
        if (action === 'edit') return [200, await client.edit(tenant, taskId, validate(editBody, raw))];
        const b = validate(rejectBody, raw);
        return [200, await client.reject(tenant, taskId, b.reviewerId, b.reason)];
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/v1/tenants/${T}/evaluations$`),
      handler: async ([tenantId], body) => {
        const b = validate(evalBody, await body());
        return [
          200,
          await client.runEvaluation({ tenantId: tenantId as string, golden: b.golden, setBaseline: b.setBaseline }),
        ];
      },
    },
  ];
}

export interface HttpApi {
  url: string;
  close(): Promise<void>;
}

export async function startHttpApi(config: Config, options: { port: number; host?: string }): Promise<HttpApi> {
  const client = await GroundworkClient.fromConfig(config);
  const routes = createRoutes(client);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, value: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(value));
    };
    void (async () => {
      try {
        for (const route of routes) {
          const m = route.pattern.exec(url.pathname);
          if (!m) continue;
          if (route.method !== req.method) continue;
          const [status, value] = await route.handler(m.slice(1), () => readJson(req), url);
          return send(status, value);
        }
        send(404, { error: { code: 'NOT_FOUND', message: 'No such route.' } });
      } catch (err) {
        if (err instanceof HttpError) return send(err.status, { error: { code: err.code, message: err.message } });
        if (err instanceof ClientInputError)
          return send(statusForCode(err.code), { error: { code: err.code, message: err.message } });
        if (err instanceof WorkflowNotFoundError)
          return send(404, { error: { code: 'NOT_FOUND', message: 'No such workflow for this tenant.' } });
        if (err instanceof WorkflowFailedError) {
          const cause = err.cause as { type?: string; message?: string } | undefined;
          return send(422, {
            error: { code: cause?.type ?? 'WORKFLOW_FAILED', message: cause?.message ?? 'The workflow failed.' },
          });
        }
        send(500, { error: { code: 'INTERNAL', message: 'Internal error.' } });
      }
    })();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await client.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await client.close();
    },
  };
}
