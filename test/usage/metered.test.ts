// The metered models against a local fake speaking the OpenAI wire format (127.0.0.1, never the internet): the
// provider's `usage` priced from the table into the ledger and the Prometheus counters, tokens counted when the
// provider gives none, offline models at zero cost, the workflow and activity from the activity context, and the
// budget refusing calls with BUDGET_EXCEEDED (non-retryable) before any request leaves.
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { countTokens } from 'gpt-tokenizer';
import { failureMapping } from '../../activities/failures';
import { BudgetExceededError, BudgetStore, UsageLedger } from '../../activities/ledger';
import { MeteredAnswerer, MeteredEmbedder, meterModels, priceTable } from '../../activities/models/metered';
import { ExtractiveAnswerer } from '../../activities/models/extractive-answerer';
import { LexicalEmbedder } from '../../activities/models/lexical-embedder';
import { OpenAiAnswerer, OpenAiEmbedder } from '../../activities/models/openai';
import type { ContextChunk } from '../../activities/models/types';
import { runForTenant, usageContext } from '../../activities/usage-context';
import { metrics } from '../../common/metrics';

let server: http.Server;
let baseURL: string;
let requests = 0;
/** Whether the fake reports usage (an OpenAI server does; some compatible servers do not). */
let withUsage = true;

const CHUNKS: ContextChunk[] = [
  {
    ref: 'C1',
    chunkId: 'c1',
    documentId: 'd',
    locator: 'p1',
    text: 'Employees get 25 days of paid vacation.',
    score: 1,
  },
];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      requests += 1;
      const body = JSON.parse(raw || '{}') as { input?: string[] };
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.endsWith('/embeddings')) {
        const input = body.input ?? [];
        res.end(
          JSON.stringify({
            data: input.map((_t, index) => ({ index, embedding: [1, 0] })),
            model: 'text-embedding-3-small',
            usage: withUsage ? { prompt_tokens: 1234 * input.length, total_tokens: 1234 * input.length } : {},
          }),
        );
        return;
      }
      res.end(
        JSON.stringify({
          id: 'x',
          object: 'chat.completion',
          choices: [
            {
              index: 0,
              finish_reason: 'stop',
              message: {
                role: 'assistant',
                content: JSON.stringify({
                  notFound: false,
                  claims: [{ text: 'Employees get 25 days of paid vacation.', refs: ['C1'] }],
                  confidence: 0.9,
                }),
              },
            },
          ],
          ...(withUsage ? { usage: { prompt_tokens: 2000, completion_tokens: 500, total_tokens: 2500 } } : {}),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

let dir: string;
let ledger: UsageLedger;
const warnings: Record<string, unknown>[] = [];
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gw-metered-'));
  ledger = UsageLedger.inDataDir(dir);
  requests = 0;
  withUsage = true;
  warnings.length = 0;
});
afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

const openAi = (budgets?: BudgetStore) =>
  meterModels(
    {
      embedder: new OpenAiEmbedder({ apiKey: 'k', baseURL }, 'text-embedding-3-small', 2),
      answerer: new OpenAiAnswerer({ apiKey: 'k', baseURL, timeoutMs: 5000 }, 'gpt-4o-mini', {}, { policy: 'allow' }),
    },
    {
      ledger,
      budgets,
      prices: priceTable(),
      embeddingModel: 'text-embedding-3-small',
      chatModel: 'gpt-4o-mini',
      warn: (_m, fields) => warnings.push(fields),
    },
  );

const counter = async (c: typeof metrics.modelTokens, labels: Record<string, string>): Promise<number> =>
  (await c.get()).values.find((v) =>
    Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x),
  )?.value ?? 0;

test("a priced model's reported usage becomes the right cost in the ledger and the metrics", async () => {
  const { embedder, answerer } = openAi();
  const promptBefore = await counter(metrics.modelTokens, { kind: 'prompt', model: 'gpt-4o-mini' });
  const costBefore = await counter(metrics.modelCostUsd, { model: 'gpt-4o-mini' });
  await runForTenant('acme', async () => {
    expect(await embedder.embed(['one', 'two'])).toEqual([
      [1, 0],
      [1, 0],
    ]);
    const draft = await answerer.answer({ question: 'How many vacation days?', context: CHUNKS, tenantId: 'acme' });
    expect(draft.claims).toHaveLength(1);
  });
  const entries = await ledger.between('acme', {
    from: new Date(Date.now() - 60_000),
    to: new Date(Date.now() + 60_000),
  });
  expect(entries.map((e) => [e.kind, e.model, e.tokens, e.costUsd, e.priced])).toEqual([
    ['embedding', 'text-embedding-3-small', { embedding: 2468, prompt: 0, completion: 0 }, (2468 * 0.02) / 1e6, true],
    // 2000 × $0.15 / 1M + 500 × $0.60 / 1M
    ['chat', 'gpt-4o-mini', { embedding: 0, prompt: 2000, completion: 500 }, 0.0006, true],
  ]);
  expect(entries.every((e) => e.latencyMs >= 0 && e.tenantId === 'acme')).toBe(true);
  expect((await counter(metrics.modelTokens, { kind: 'prompt', model: 'gpt-4o-mini' })) - promptBefore).toBe(2000);
  expect((await counter(metrics.modelCostUsd, { model: 'gpt-4o-mini' })) - costBefore).toBeCloseTo(0.0006, 9);
});

test('without usage from the provider, tokens are counted with gpt-tokenizer', async () => {
  withUsage = false;
  const { embedder, answerer } = openAi();
  await runForTenant('acme', async () => {
    await embedder.embed(['Employees get 25 days of paid vacation.']);
    await answerer.answer({ question: 'How many vacation days?', context: CHUNKS, tenantId: 'acme' });
  });
  const [emb, chat] = await ledger.between('acme', {
    from: new Date(Date.now() - 60_000),
    to: new Date(Date.now() + 60_000),
  });
  const n = countTokens('Employees get 25 days of paid vacation.');
  expect(emb!.tokens.embedding).toBe(n);
  expect(emb!.costUsd).toBeCloseTo((n * 0.02) / 1e6, 12);
  expect(chat!.tokens.prompt).toBe(countTokens('How many vacation days?') + n);
  expect(chat!.tokens.completion).toBe(n);
});

test('offline models record their tokens at zero cost, and the activity context names the run and activity', async () => {
  const meter = { ledger, prices: priceTable() };
  const embedder = new MeteredEmbedder(new LexicalEmbedder(), { ...meter, model: 'lexical-v1' });
  const answerer = new MeteredAnswerer(new ExtractiveAnswerer(), { ...meter, model: 'extractive' });
  const env = new MockActivityEnvironment(
    {
      workflowExecution: { workflowId: 'answer:acme:q1', runId: 'r1' },
      workflowType: 'answerQuestion',
      activityType: 'generateDraft',
    },
    { interceptors: [failureMapping, usageContext], logger: new DefaultLogger('ERROR') },
  );
  await env.run(
    async (_input: { tenantId: string }) => {
      await embedder.embed(['How many vacation days?'], { kind: 'query' });
      await answerer.answer({ question: 'How many vacation days?', context: CHUNKS });
    },
    { tenantId: 'acme' },
  );
  const entries = await ledger.entries('acme', { workflowId: 'answer:acme:q1' });
  expect(entries.map((e) => [e.kind, e.model, e.costUsd, e.priced, e.workflowType, e.activityType])).toEqual([
    ['embedding', 'lexical-v1', 0, true, 'answerQuestion', 'generateDraft'],
    ['chat', 'extractive', 0, true, 'answerQuestion', 'generateDraft'],
  ]);
  expect(entries.map((e) => e.runId)).toEqual(['r1', 'r1']);
  expect(entries[0]!.tokens.embedding).toBe(countTokens('How many vacation days?'));
  expect(entries[1]!.tokens.prompt).toBeGreaterThan(0);
  const summary = await ledger.summary('acme', {
    from: new Date(Date.now() - 60_000),
    to: new Date(Date.now() + 60_000),
  });
  expect([summary.answers, summary.costUsd, summary.costPerAnswerUsd]).toEqual([1, 0, 0]);
});

test('an exceeded budget refuses the next call with BUDGET_EXCEEDED before any request, warning once', async () => {
  const budgets = BudgetStore.inDataDir(dir, { acme: 0.0007 });
  const { embedder, answerer } = openAi(budgets);
  await runForTenant('acme', () => answerer.answer({ question: 'Q?', context: CHUNKS, tenantId: 'acme' }));
  // $0.0006 of $0.0007: warning, still allowed.
  expect(await budgets.status('acme')).toMatchObject({ spentUsd: 0.0006, state: 'warning' });
  expect(warnings).toEqual([
    expect.objectContaining({ tenantId: 'acme', budgetUsd: 0.0007, spentUsd: 0.0006, state: 'warning' }),
  ]);
  await runForTenant('acme', () => answerer.answer({ question: 'Q?', context: CHUNKS, tenantId: 'acme' }));
  expect((await budgets.status('acme'))?.state).toBe('exceeded');
  const sent = requests;
  const err = await runForTenant('acme', () => embedder.embed(['x'])).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BudgetExceededError);
  expect(err).toMatchObject({ code: 'BUDGET_EXCEEDED', retryable: false });
  await expect(
    runForTenant('acme', () => answerer.answer({ question: 'Q?', context: CHUNKS, tenantId: 'acme' })),
  ).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' });
  expect(requests).toBe(sent);
  // One warning line per tenant and month, however many calls follow.
  expect(warnings).toHaveLength(1);
  // Another tenant is not affected.
  await runForTenant('beta', () => embedder.embed(['x']));
  expect(requests).toBe(sent + 1);
});

test('in an activity the refusal becomes a non-retryable failure of type BUDGET_EXCEEDED', async () => {
  const budgets = BudgetStore.inDataDir(dir, { acme: 0 });
  const { embedder } = openAi(budgets);
  const env = new MockActivityEnvironment(
    { workflowExecution: { workflowId: 'ingest:acme:d', runId: 'r' }, workflowType: 'ingestDocument' },
    { interceptors: [failureMapping, usageContext], logger: new DefaultLogger('ERROR') },
  );
  const err = await env
    .run(async (_input: { tenantId: string }) => embedder.embed(['x']), { tenantId: 'acme' })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: 'BUDGET_EXCEEDED', nonRetryable: true });
  expect(requests).toBe(0);
});
