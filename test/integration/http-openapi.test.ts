// The OpenAPI document says what the server really does: every route is called on the real stack, and every
// response (successes and errors) is validated with ajv against the schema the document gives for that operation and
// status. A route added to the table without a call here fails the coverage check at the end.
import { randomBytes } from 'node:crypto';
import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv/dist/2020';
import { KeyStore } from '../../client/auth/key-store';
import type { Role } from '../../client/auth/roles';
import { startHttpApi } from '../../client/http';
import type { HttpApi } from '../../client/http';
import { eventually, startHarness } from './harness';
import type { Harness } from './harness';

const TENANT = 'oaco';

type Operation = {
  operationId: string;
  parameters: { name: string; in: string; required: boolean; schema: object }[];
  requestBody?: { content: Record<string, { schema?: object }> };
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
  security: unknown[];
};
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>> };

let h: Harness;
let api: HttpApi;
let doc: Doc;
const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
const validators = new Map<object, ValidateFunction>();
/** operationId → statuses seen and validated. */
const covered = new Map<string, Set<number>>();
const keys: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness({
    GROUNDWORK_TENANT_THRESHOLDS: `${TENANT}=0.99`,
    GROUNDWORK_PAYLOAD_KEY: `oa:${randomBytes(32).toString('base64')}`,
  });
  api = await startHttpApi(h.config, { port: 0 });
  const store = KeyStore.forDataDir(h.dataDir);
  const make = async (name: string, tenant: string, role: Role) =>
    (keys[name] = (await store.create({ tenant, role, name })).key);
  await make('reader', TENANT, 'reader');
  await make('writer', TENANT, 'writer');
  await make('reviewer', TENANT, 'reviewer');
  await make('admin', TENANT, 'admin');
  await make('root', '*', 'admin');
  doc = (await (await fetch(`${api.url}/v1/openapi.json`)).json()) as Doc;
});
afterAll(async () => {
  await api?.close();
  await h?.client.deleteEvaluationSchedule(TENANT).catch(() => undefined);
  await h?.stop();
});

function validatorFor(schema: object): ValidateFunction {
  let v = validators.get(schema);
  if (!v) {
    v = ajv.compile(schema);
    validators.set(schema, v);
  }
  return v;
}

interface CallOptions {
  key?: string;
  body?: unknown;
  /** A non-JSON body (an upload), sent as is with its content type. */
  raw?: { data: Uint8Array; contentType: string };
  query?: string;
  base?: string;
}

/**
 * Calls the operation at `template` with the path parameters filled in, and validates the response against the
 * document: the status must be documented for the operation, and a JSON body must match its schema.
 */
async function call<T = Record<string, unknown>>(
  method: string,
  template: string,
  params: Record<string, string> = {},
  options: CallOptions = {},
): Promise<{ status: number; body: T }> {
  const op = doc.paths[template]?.[method.toLowerCase()];
  if (!op) throw new Error(`the document has no ${method} ${template}`);
  const path = template.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(params[name] ?? ''));
  const res = await fetch(`${options.base ?? api.url}${path}${options.query ?? ''}`, {
    method,
    headers: {
      ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.raw ? { 'content-type': options.raw.contentType } : {}),
    },
    body: options.raw
      ? Buffer.from(options.raw.data)
      : options.body === undefined
        ? undefined
        : JSON.stringify(options.body),
  });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  // A documented non-JSON body (GET /metrics: the Prometheus text format) is checked by its content type below.
  const body = (text && !contentType.startsWith('text/') ? JSON.parse(text) : undefined) as T;
  const response = op.responses[String(res.status)];
  const where = `${method} ${template} → ${res.status} ${text.slice(0, 300)}`;
  expect([where, response !== undefined]).toEqual([where, true]);
  const schema = response?.content?.['application/json']?.schema;
  if (schema) {
    const validate = validatorFor(schema);
    const ok = validate(body);
    expect([where, ok ? [] : validate.errors]).toEqual([where, []]);
  } else if (response?.content && Object.keys(response.content).length > 0)
    expect([where, contentType]).toEqual([where, Object.keys(response.content)[0]]);
  else expect([where, text]).toEqual([where, '']);
  const seen = covered.get(op.operationId) ?? new Set<number>();
  seen.add(res.status);
  covered.set(op.operationId, seen);
  return { status: res.status, body };
}

const inline = (name: string, text: string) => ({ name, contentBase64: Buffer.from(text).toString('base64') });

test('the document is OpenAPI 3.1 with valid JSON Schemas, bearer security and declared path parameters', () => {
  expect(doc.openapi).toBe('3.1.0');
  const ids = new Set<string>();
  for (const [template, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      expect(ids.has(op.operationId)).toBe(false);
      ids.add(op.operationId);
      const declared = op.parameters.filter((p) => p.in === 'path').map((p) => p.name);
      expect([method, template, declared.sort()]).toEqual([
        method,
        template,
        [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort(),
      ]);
      // ajv in strict mode compiles every schema: no keyword outside JSON Schema 2020-12.
      for (const p of op.parameters) validatorFor(p.schema);
      for (const c of Object.values(op.requestBody?.content ?? {})) if (c.schema) validatorFor(c.schema);
      for (const r of Object.values(op.responses))
        for (const c of Object.values(r.content ?? {})) if (c.schema) validatorFor(c.schema);
    }
  }
  expect(ids.size).toBeGreaterThanOrEqual(16);
});

test('GET /metrics answers the Prometheus text to an admin of all tenants only', async () => {
  expect((await call('GET', '/metrics', {}, { key: keys.root })).status).toBe(200);
  expect((await call('GET', '/metrics', {}, { key: keys.admin })).status).toBe(403);
  expect((await call('GET', '/metrics')).status).toBe(401);
});

test('health, the document itself, and errors of unauthenticated and forbidden calls match the document', async () => {
  expect((await call('GET', '/healthz')).status).toBe(200);
  expect((await call('GET', '/v1/openapi.json')).status).toBe(200);
  expect((await call('GET', '/v1/tenants/{tenantId}/reviews', { tenantId: TENANT })).status).toBe(401);
  expect(
    (await call('GET', '/v1/tenants/{tenantId}/reviews', { tenantId: 'globex' }, { key: keys.reviewer })).status,
  ).toBe(403);
  expect((await call('GET', '/v1/keys', {}, { key: keys.admin })).status).toBe(403);
});

test('documents: 202 started, 200 ingested (wait=true), 422 unsupported, 400 invalid, 403 for a reader', async () => {
  const p = { tenantId: TENANT };
  const t = '/v1/tenants/{tenantId}/documents';
  const started = await call('POST', t, p, {
    key: keys.writer,
    body: inline('lunch.md', '# Lunch\n\nLunch is served in the canteen from noon to two.\n'),
  });
  expect(started.status).toBe(202);
  const done = await call('POST', t, p, {
    key: keys.writer,
    query: '?wait=true',
    body: inline(
      'parking.md',
      '# Parking\n\nParking spaces are assigned by the facilities team.\n\nVisitors park on level two.\n\nBikes go in the courtyard.\n',
    ),
  });
  expect([done.status, done.body.status]).toEqual([200, 'ingested']);
  const bad = await call('POST', t, p, {
    key: keys.writer,
    query: '?wait=true',
    body: inline('x.bin', '\u0000\u0001'),
  });
  expect(bad.status).toBe(422);
  expect((await call('POST', t, p, { key: keys.writer, body: { name: '' } })).status).toBe(400);
  expect((await call('POST', t, p, { key: keys.reader, body: inline('r.md', '# R\n\nText.\n') })).status).toBe(403);
});

test('document lifecycle: raw and multipart uploads, list, show, delete; 404 unknown; tenant purge', async () => {
  const p = { tenantId: TENANT };
  const t = '/v1/tenants/{tenantId}/documents';
  const raw = await call('POST', t, p, {
    key: keys.writer,
    query: '?wait=true&name=garden.md',
    raw: { data: Buffer.from('# Garden\n\nThe roof garden opens at eight.\n'), contentType: 'text/markdown' },
  });
  expect([raw.status, raw.body.documentId, raw.body.status]).toEqual([200, 'garden.md', 'ingested']);
  const form = new FormData();
  form.append('documentId', 'gym.md');
  form.append('file', new Blob(['# Gym\n\nThe gym is in the basement.\n']), 'gym notes.md');
  const multipart = await fetch(`${api.url}/v1/tenants/${TENANT}/documents?wait=true`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.writer}` },
    body: form,
  });
  expect([multipart.status, ((await multipart.json()) as { documentId: string }).documentId]).toEqual([200, 'gym.md']);
  const listed = await call<{ documents: { documentId: string; status: string }[] }>('GET', t, p, { key: keys.reader });
  expect(listed.body.documents.map((d) => d.documentId)).toEqual(expect.arrayContaining(['garden.md', 'gym.md']));
  const one = await call('GET', `${t}/{documentId}`, { ...p, documentId: 'garden.md' }, { key: keys.reader });
  expect([one.status, one.body.status]).toEqual([200, 'live']);
  expect((await call('GET', `${t}/{documentId}`, { ...p, documentId: 'nope.md' }, { key: keys.reader })).status).toBe(
    404,
  );
  const removed = await call('DELETE', `${t}/{documentId}`, { ...p, documentId: 'gym.md' }, { key: keys.writer });
  expect([removed.status, removed.body.found]).toEqual([200, true]);
  expect((await call('DELETE', `${t}/{documentId}`, { ...p, documentId: 'gym.md' }, { key: keys.reader })).status).toBe(
    403,
  );
  const purged = await call('DELETE', '/v1/tenants/{tenantId}', { tenantId: 'oapurge' }, { key: keys.root });
  expect([purged.status, purged.body.tenantId]).toEqual([200, 'oapurge']);
  expect((await call('DELETE', '/v1/tenants/{tenantId}', p, { key: keys.writer })).status).toBe(403);
});

let reviewTasks: string[] = [];

test('questions and answers: 200 answered, 202 started, progress while waiting for review, 404 unknown', async () => {
  const p = { tenantId: TENANT };
  const answered = await call<{ workflowId: string; status: string }>('POST', '/v1/tenants/{tenantId}/questions', p, {
    key: keys.admin,
    query: '?wait=true',
    body: { question: 'Who assigns parking spaces?', escalate: false },
  });
  expect(answered.status).toBe(200);
  const done = await call(
    'GET',
    '/v1/tenants/{tenantId}/answers/{workflowId}',
    {
      ...p,
      workflowId: answered.body.workflowId,
    },
    { key: keys.reader },
  );
  expect(done.body).toMatchObject({ done: true });

  // oaco's threshold (0.99) sends these to review (a word the documents lack keeps confidence below it): their
  // answers wait, running.
  const questions = ['Where do visitors park at oaco?', 'Where do bikes go at oaco?', 'When is lunch served at oaco?'];
  const before = new Set((await h.client.listReviews(TENANT, 'all')).map((t) => t.taskId));
  const started: string[] = [];
  for (const question of questions) {
    const r = await call<{ workflowId: string }>('POST', '/v1/tenants/{tenantId}/questions', p, {
      key: keys.reader,
      body: { question },
    });
    expect(r.status).toBe(202);
    started.push(r.body.workflowId);
  }
  reviewTasks = await eventually(
    async () => {
      const tasks = (await h.client.listReviews(TENANT, 'pending')).filter((t) => !before.has(t.taskId));
      return tasks.length === questions.length ? tasks.map((t) => t.taskId) : undefined;
    },
    30_000,
    'three review tasks',
  );
  const waiting = await call(
    'GET',
    '/v1/tenants/{tenantId}/answers/{workflowId}',
    {
      ...p,
      workflowId: started[0] as string,
    },
    { key: keys.reader },
  );
  expect(waiting.body).toMatchObject({ done: false, progress: { stage: 'awaiting_review' } });
  const unknown = await call(
    'GET',
    '/v1/tenants/{tenantId}/answers/{workflowId}',
    {
      ...p,
      workflowId: `answer:${TENANT}:none`,
    },
    { key: keys.reader },
  );
  expect(unknown.status).toBe(404);
});

test('reviews: list, show, approve, edit, reject, and the refusals 400, 404 and 409', async () => {
  const p = { tenantId: TENANT };
  const [a, e, r] = reviewTasks as [string, string, string];
  const list = await call<{ tasks: unknown[] }>('GET', '/v1/tenants/{tenantId}/reviews', p, {
    key: keys.reviewer,
    query: '?status=all',
  });
  expect(list.body.tasks.length).toBeGreaterThanOrEqual(3);
  expect(
    (await call('GET', '/v1/tenants/{tenantId}/reviews', p, { key: keys.reviewer, query: '?status=x' })).status,
  ).toBe(400);
  const shown = await call<{ retrieved: { chunkId: string }[] }>(
    'GET',
    '/v1/tenants/{tenantId}/reviews/{taskId}',
    {
      ...p,
      taskId: e,
    },
    { key: keys.reviewer },
  );
  expect(shown.status).toBe(200);
  expect(
    (
      await call(
        'GET',
        '/v1/tenants/{tenantId}/reviews/{taskId}',
        { ...p, taskId: 'review:oaco:none' },
        { key: keys.reviewer },
      )
    ).status,
  ).toBe(404);

  const decide = (action: string, taskId: string, body: unknown, key = keys.reviewer) =>
    call('POST', `/v1/tenants/{tenantId}/reviews/{taskId}/${action}`, { ...p, taskId }, { key, body });
  expect((await decide('approve', a, { note: 'ok' })).status).toBe(200);
  expect((await decide('approve', a, {})).status).toBe(409);
  expect((await decide('approve', a, {}, keys.reader)).status).toBe(403);
  expect((await decide('edit', e, { answer: 'forged', citations: [{ chunkId: 'not-retrieved' }] })).status).toBe(400);
  const chunkId = shown.body.retrieved[0]?.chunkId as string;
  expect((await decide('edit', e, { answer: 'Bikes go in the courtyard.', citations: [{ chunkId }] })).status).toBe(
    200,
  );
  expect((await decide('reject', r, { reason: 'not in the documents' })).status).toBe(200);
  expect((await decide('reject', 'review:oaco:none', { reason: 'x' })).status).toBe(404);
});

test('evaluations: run now, schedule, unschedule (admin); a reviewer is forbidden', async () => {
  const p = { tenantId: TENANT };
  const golden = [
    { question: 'Who assigns parking spaces?', expectedDocuments: ['parking.md'] },
    { question: 'What colour is the sky on Mars?', expectAnswer: false },
  ];
  const report = await call('POST', '/v1/tenants/{tenantId}/evaluations', p, { key: keys.admin, body: { golden } });
  expect(report.status).toBe(200);
  expect(
    (await call('POST', '/v1/tenants/{tenantId}/evaluations', p, { key: keys.reviewer, body: { golden } })).status,
  ).toBe(403);
  const page = '/v1/tenants/{tenantId}/evaluations/report';
  expect((await call('GET', page, p, { key: keys.admin })).status).toBe(200);
  expect((await call('GET', page, p, { key: keys.reviewer })).status).toBe(403);
  const t = '/v1/tenants/{tenantId}/evaluations/schedule';
  expect((await call('PUT', t, p, { key: keys.admin, body: { golden, every: '1d' } })).status).toBe(200);
  expect((await call('DELETE', t, p, { key: keys.admin })).status).toBe(200);
  expect((await call('DELETE', t, p, { key: keys.admin })).status).toBe(404);
});

test('keys: list, create, revoke (admin for all tenants), 404 for an unknown key', async () => {
  const created = await call<{ keyId: string; key: string }>(
    'POST',
    '/v1/keys',
    {},
    {
      key: keys.root,
      body: { tenant: TENANT, role: 'reader', name: 'made-over-http' },
    },
  );
  expect(created.status).toBe(201);
  const listed = await call<{ keys: { keyId: string }[] }>(
    'GET',
    '/v1/keys',
    {},
    {
      key: keys.root,
      query: `?tenant=${TENANT}`,
    },
  );
  expect(listed.body.keys.map((k) => k.keyId)).toContain(created.body.keyId);
  expect((await call('POST', '/v1/keys', {}, { key: keys.root, body: { tenant: '*', role: 'reader' } })).status).toBe(
    400,
  );
  expect((await call('DELETE', '/v1/keys/{keyId}', { keyId: created.body.keyId }, { key: keys.root })).status).toBe(
    200,
  );
  expect((await call('DELETE', '/v1/keys/{keyId}', { keyId: '0123456789abcdef' }, { key: keys.root })).status).toBe(
    404,
  );
  expect(
    (
      await call(
        'GET',
        '/v1/tenants/{tenantId}/answers/{workflowId}',
        { tenantId: TENANT, workflowId: 'answer:oaco:x' },
        { key: created.body.key },
      )
    ).status,
  ).toBe(401);
});

test('codec: payloads encoded then decoded come back as they were; bad payloads are 400', async () => {
  const plain = {
    payloads: [
      {
        metadata: { encoding: Buffer.from('json/plain').toString('base64') },
        data: Buffer.from('{"a":1}').toString('base64'),
      },
    ],
  };
  const encoded = await call<typeof plain>('POST', '/v1/codec/encode', {}, { key: keys.root, body: plain });
  expect(encoded.status).toBe(200);
  expect(encoded.body.payloads[0]?.data).not.toBe(plain.payloads[0]?.data);
  const decoded = await call('POST', '/v1/codec/decode', {}, { key: keys.root, body: encoded.body });
  expect([decoded.status, decoded.body]).toEqual([200, plain]);
  expect(
    (await call('POST', '/v1/codec/decode', {}, { key: keys.root, body: { payloads: [{ data: '%%' }] } })).status,
  ).toBe(400);
  expect((await call('POST', '/v1/codec/decode', {}, { key: keys.admin, body: plain })).status).toBe(403);
});

test('a rate-limited call answers 429 as documented', async () => {
  const limited = await startHttpApi(
    { ...h.config, http: { ...h.config.http, rateLimit: { perSecond: 1, burst: 1 } } },
    { port: 0 },
  );
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push(
        (
          await call(
            'GET',
            '/v1/tenants/{tenantId}/reviews',
            { tenantId: TENANT },
            { key: keys.reviewer, base: limited.url },
          )
        ).status,
      );
    expect(statuses).toContain(429);
  } finally {
    await limited.close();
  }
});

test('the audit trail: 200 with the entries the calls above recorded, 403 for a writer', async () => {
  const p = { tenantId: TENANT };
  const page = await call<{ entries: { action: string }[] }>('GET', '/v1/tenants/{tenantId}/audit', p, {
    key: keys.admin,
    query: '?limit=1000&from=1d',
  });
  expect(page.status).toBe(200);
  expect(page.body.entries.map((e) => e.action)).toContain('document.delete');
  expect((await call('GET', '/v1/tenants/{tenantId}/audit', p, { key: keys.writer })).status).toBe(403);
});

test('usage and budget routes match the document', async () => {
  const t = { tenantId: TENANT };
  expect((await call('GET', '/v1/tenants/{tenantId}/budget', t, { key: keys.reader })).status).toBe(404);
  expect((await call('PUT', '/v1/tenants/{tenantId}/budget', t, { key: keys.writer, body: { usd: 1 } })).status).toBe(
    403,
  );
  expect((await call('PUT', '/v1/tenants/{tenantId}/budget', t, { key: keys.admin, body: { usd: -1 } })).status).toBe(
    400,
  );
  // A large budget: the other tests of this file keep asking.
  expect((await call('PUT', '/v1/tenants/{tenantId}/budget', t, { key: keys.admin, body: { usd: 1000 } })).status).toBe(
    200,
  );
  expect((await call('GET', '/v1/tenants/{tenantId}/budget', t, { key: keys.reader })).status).toBe(200);
  const usage = await call('GET', '/v1/tenants/{tenantId}/usage', t, { key: keys.reader });
  expect(usage.status).toBe(200);
  expect(usage.body.budget).toMatchObject({ usd: 1000, state: 'ok' });
  const period = '?from=2026-01-01&to=2026-02-01T00:00:00Z';
  expect((await call('GET', '/v1/tenants/{tenantId}/usage', t, { key: keys.reader, query: period })).status).toBe(200);
  expect(
    (await call('GET', '/v1/tenants/{tenantId}/usage', t, { key: keys.reader, query: '?from=yesterday' })).status,
  ).toBe(400);
});

test('every operation of the document was called and answered a documented 2xx', () => {
  const missing = Object.values(doc.paths)
    .flatMap((ops) => Object.values(ops).map((op) => op.operationId))
    .filter((id) => ![...(covered.get(id) ?? [])].some((s) => s >= 200 && s < 300));
  // A new route: call it in this file, so its responses are checked against the document too.
  expect(missing).toEqual([]);
});
