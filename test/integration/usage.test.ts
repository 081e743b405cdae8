// The cost ledger on the real stack (dev server, worker, HTTP API, offline models): an ingestion and an ask are
// recorded with their tokens at zero cost, GET /usage and `groundwork usage --json` report the same totals, and a
// spent budget refuses the next HTTP ask with 429 BUDGET_EXCEEDED, an ask started directly degrades with a typed
// status, and an ingestion fails with the typed code BUDGET_EXCEEDED.
import { randomBytes } from 'node:crypto';
import { KeyStore } from '../../client/auth/key-store';
import { buildCli } from '../../client/cli';
import { startHttpApi } from '../../client/http';
import type { HttpApi } from '../../client/http';
import { UsageLedger } from '../../activities/ledger';
import { AuditLog } from '../../common/audit';
import { startHarness, writeTemp } from './harness';
import type { Harness } from './harness';

const TENANT = 'ledgerco';
const DOC = '# Leave\n\nEmployees get 25 days of paid vacation per year.\n\nSick leave is unlimited with a note.\n';

let h: Harness;
let api: HttpApi;
let admin: string;
let reader: string;

beforeAll(async () => {
  // Encrypted payloads, as in production: the tenant still reaches the ledger (interceptors see decoded inputs).
  h = await startHarness({ GROUNDWORK_PAYLOAD_KEY: `usage:${randomBytes(32).toString('base64')}` });
  api = await startHttpApi(h.config, { port: 0 });
  const keys = KeyStore.forDataDir(h.dataDir);
  admin = (await keys.create({ tenant: TENANT, role: 'admin', name: 'admin' })).key;
  reader = (await keys.create({ tenant: TENANT, role: 'reader', name: 'reader' })).key;
});
afterAll(async () => {
  await api?.close();
  await h?.stop();
});

async function http<T = Record<string, unknown>>(
  method: string,
  path: string,
  key: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

interface Usage {
  calls: number;
  tokens: { embedding: number; prompt: number; completion: number };
  costUsd: number;
  answers: number;
  ingestions: number;
  costPerAnswerUsd: number | null;
  byModel: Record<string, { calls: number; tokens: Usage['tokens']; costUsd: number; priced: boolean }>;
  budget?: { usd: number; spentUsd: number; state: string };
}

/** `groundwork usage --tenant T --json` in this process, against the harness's data dir. */
async function cliUsage<T = Usage>(...extra: string[]): Promise<T> {
  const previous = process.env.GROUNDWORK_DATA_DIR;
  process.env.GROUNDWORK_DATA_DIR = h.dataDir;
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    await buildCli().parseAsync(['usage', '--tenant', TENANT, '--json', ...extra], { from: 'user' });
  } finally {
    process.stdout.write = write;
    if (previous === undefined) delete process.env.GROUNDWORK_DATA_DIR;
    else process.env.GROUNDWORK_DATA_DIR = previous;
  }
  return JSON.parse(chunks.join('')) as T;
}

test('an ingestion and an ask are recorded with their tokens at zero cost; the API and the CLI agree', async () => {
  const file = await writeTemp(h.dataDir, `${TENANT}/leave.md`, DOC);
  await h.client.ingest({ tenantId: TENANT, documentId: 'leave', source: { kind: 'path', path: file } });

  const afterIngest = await http<Usage>('GET', `/v1/tenants/${TENANT}/usage`, reader);
  expect(afterIngest.status).toBe(200);
  expect(afterIngest.body.ingestions).toBe(1);
  expect(afterIngest.body.answers).toBe(0);
  expect(afterIngest.body.tokens.embedding).toBeGreaterThan(0);
  expect(afterIngest.body.byModel['lexical-v1']).toMatchObject({ costUsd: 0, priced: true });

  const ask = await http<{ status: string; workflowId: string }>(
    'POST',
    `/v1/tenants/${TENANT}/questions?wait=true`,
    admin,
    { question: 'How many vacation days do employees get?', escalate: false },
  );
  expect(ask.status).toBe(200);
  expect(ask.body.status).toBe('answered');

  const usage = await http<Usage>('GET', `/v1/tenants/${TENANT}/usage`, reader);
  expect(usage.status).toBe(200);
  expect(usage.body).toMatchObject({ answers: 1, ingestions: 1, costUsd: 0, costPerAnswerUsd: 0 });
  // The question was embedded (more embedding tokens than the ingestion alone) and answered (prompt and completion).
  expect(usage.body.tokens.embedding).toBeGreaterThan(afterIngest.body.tokens.embedding);
  expect(usage.body.byModel.extractive?.tokens.prompt).toBeGreaterThan(0);
  expect(usage.body.byModel.extractive?.tokens.completion).toBeGreaterThan(0);
  expect(usage.body.byModel.extractive?.costUsd).toBe(0);
  expect(usage.body.budget).toBeUndefined();

  // The answer's own calls: its question embedding and its draft, named by workflow and activity.
  const calls = await UsageLedger.inDataDir(h.dataDir).entries(TENANT, { workflowId: ask.body.workflowId });
  expect(calls.map((c) => c.activityType).sort()).toEqual(expect.arrayContaining(['generateDraft', 'retrieveChunks']));
  expect(calls.every((c) => c.workflowType === 'answerQuestion' && c.costUsd === 0)).toBe(true);

  const cli = await cliUsage();
  expect([cli.calls, cli.tokens, cli.costUsd, cli.answers, cli.ingestions]).toEqual([
    usage.body.calls,
    usage.body.tokens,
    usage.body.costUsd,
    usage.body.answers,
    usage.body.ingestions,
  ]);

  // `usage --workflow <id>`: the answer's own calls, as the ledger lists them.
  const listed = await cliUsage<{ activityType: string; costUsd: number }[]>('--workflow', ask.body.workflowId);
  expect(listed.map((c) => c.activityType)).toEqual(calls.map((c) => c.activityType));

  const bad = await http('GET', `/v1/tenants/${TENANT}/usage?from=2026-02-01&to=2026-01-01`, reader);
  expect(bad.status).toBe(400);
  expect(bad.body).toMatchObject({ error: { code: 'INVALID_INPUT' } });
});

test('a spent budget: the HTTP ask answers 429 BUDGET_EXCEEDED, a direct ask degrades, an ingestion fails typed', async () => {
  expect((await http('PUT', `/v1/tenants/${TENANT}/budget`, reader, { usd: 0 })).status).toBe(403);
  const set = await http('PUT', `/v1/tenants/${TENANT}/budget`, admin, { usd: 0 });
  expect(set.status).toBe(200);
  expect(set.body).toMatchObject({ tenantId: TENANT, usd: 0, spentUsd: 0, state: 'exceeded', source: 'set' });
  // The change is audited.
  const audit = await AuditLog.forDataDir(h.dataDir).query(TENANT, { action: 'budget.set' });
  expect(audit.entries.map((e) => e.details)).toEqual([expect.objectContaining({ usd: 0, via: 'http' })]);

  const refused = await http('POST', `/v1/tenants/${TENANT}/questions?wait=true`, admin, {
    question: 'Is sick leave unlimited?',
    escalate: false,
  });
  expect(refused.status).toBe(429);
  // A question answered (and served) before the budget ran out is still answered, from the cache, with no model call.
  const callsBefore = (await http<Usage>('GET', `/v1/tenants/${TENANT}/usage`, reader)).body.calls;
  const cached = await http<{ status: string; cached?: boolean; answer: string }>(
    'POST',
    `/v1/tenants/${TENANT}/questions?wait=true`,
    admin,
    { question: 'How many vacation days do employees get?', escalate: false },
  );
  expect(cached.status).toBe(200);
  expect(cached.body).toMatchObject({ status: 'answered', cached: true });
  expect(cached.body.answer).toContain('25 days');
  expect((await http<Usage>('GET', `/v1/tenants/${TENANT}/usage`, reader)).body.calls).toBe(callsBefore);
  expect(refused.body).toMatchObject({ error: { code: 'BUDGET_EXCEEDED' } });
  const usage = await http<Usage>('GET', `/v1/tenants/${TENANT}/usage`, reader);
  expect(usage.body.budget).toEqual({ usd: 0, spentUsd: 0, state: 'exceeded', source: 'set' });

  // Started another way, the ask reaches the models, which refuse: a typed status, not a failed workflow.
  const direct = await h.client.ask({
    tenantId: TENANT,
    question: 'Do employees need a note for sick leave?',
    escalate: false,
  });
  expect(direct).toMatchObject({
    status: 'model_unavailable',
    confidence: 0,
    degraded: { reason: 'MODEL_UNAVAILABLE' },
  });

  const file = await writeTemp(h.dataDir, `${TENANT}/more.md`, '# More\n\nParking is free on weekends.\n');
  const failed = await h.client
    .ingest({ tenantId: TENANT, documentId: 'more', source: { kind: 'path', path: file } })
    .catch((e: unknown) => e);
  expect(failed).toBeInstanceOf(Error);
  expect(JSON.stringify((failed as { cause?: unknown }).cause ?? failed)).toContain('BUDGET_EXCEEDED');
  expect((failed as { cause?: { type?: string } }).cause?.type).toBe('BUDGET_EXCEEDED');

  // Raising the budget lets asks through again.
  expect((await http('PUT', `/v1/tenants/${TENANT}/budget`, admin, { usd: 5 })).body).toMatchObject({ state: 'ok' });
  const ok = await http('POST', `/v1/tenants/${TENANT}/questions?wait=true`, admin, {
    question: 'Is sick leave unlimited?',
    escalate: false,
  });
  expect(ok.status).toBe(200);
});
