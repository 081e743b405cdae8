// When the chat model misbehaves, the question degrades instead of failing: against a local OpenAI-compatible server
// that hangs, loops (streams whitespace without end), answers 500, or answers garbage, every ask ends within its
// retry budget with a typed status: `model_unavailable` (escalated to review with the reason MODEL_UNAVAILABLE when
// escalation is on), or the extractive answer for a tenant that allows it. Never a bare workflow failure.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startHarness, writeTemp } from './harness';
import type { Harness } from './harness';
import { answerProgressQuery } from '../../workflows/definitions';

type Mode = 'hang' | 'loop' | '500' | 'garbage';

let mode: Mode = '500';
let requests = 0;
let aborted = 0;
let server: http.Server;
let h: Harness;
const open = new Set<http.ServerResponse>();

const DOC = '# Leave\n\nEmployees get 25 days of paid vacation per year.\n\nSick leave is unlimited with a note.\n';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests += 1;
    open.add(res);
    req.on('close', () => {
      if (!res.writableEnded) aborted += 1;
      open.delete(res);
    });
    req.resume();
    if (mode === 'hang') return;
    if (mode === '500') {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"boom"}}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    if (mode === 'garbage') {
      res.end(
        JSON.stringify({
          id: 'x',
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: '}}not json{{ ' }, finish_reason: 'stop' }],
        }),
      );
      return;
    }
    // loop: a model that never stops generating, one space at a time.
    const timer = setInterval(() => res.write(' '), 50);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  h = await startHarness({
    GROUNDWORK_ANSWERS: 'openai',
    GROUNDWORK_EMBEDDINGS: 'offline',
    CHAT_BASE_URL: `http://127.0.0.1:${port}/v1`,
    CHAT_API_KEY: 'test-key',
    GROUNDWORK_CHAT_TIMEOUT: '2s',
    GROUNDWORK_TENANT_MODEL_FALLBACK: 'lenient=extractive',
  });
  for (const tenantId of ['strict', 'lenient']) {
    const file = await writeTemp(h.dataDir, `${tenantId}/leave.md`, DOC);
    await h.client.ingest({ tenantId, documentId: 'leave', source: { kind: 'path', path: file } });
  }
});

afterAll(async () => {
  for (const res of open) res.destroy();
  await h?.stop();
  await new Promise((resolve) => server?.close(resolve));
});

beforeEach(() => {
  requests = 0;
  aborted = 0;
});

describe.each<Mode>(['hang', 'loop', '500'])('a chat server that %s', (m) => {
  test('makes the ask end as model_unavailable within its budget, with bounded and aborted requests', async () => {
    mode = m;
    const started = Date.now();
    const r = await h.client.ask({ tenantId: 'strict', question: `How many vacation days (${m})?`, escalate: false });
    expect(r.status).toBe('model_unavailable');
    expect(r.degraded).toEqual({ reason: 'MODEL_UNAVAILABLE', fallback: 'escalate' });
    expect(r.confidence).toBe(0);
    expect(r.citations).toEqual([]);
    expect(Date.now() - started).toBeLessThan(60_000);
    // Three attempts at most (the retry budget), each request cut off by the client when it timed out.
    expect(requests).toBeGreaterThanOrEqual(1);
    expect(requests).toBeLessThanOrEqual(3);
    if (m !== '500') expect(aborted).toBe(requests);
  });
});

test('with escalation on, the question goes to review with the reason MODEL_UNAVAILABLE', async () => {
  mode = '500';
  const handle = await h.client.startAsk({ tenantId: 'strict', question: 'How many vacation days for review?' });
  let taskId: string | undefined;
  for (let i = 0; i < 120 && !taskId; i++) {
    taskId = (await handle.query(answerProgressQuery)).reviewTaskId;
    if (!taskId) await new Promise((r) => setTimeout(r, 250));
  }
  expect(taskId).toBeDefined();
  const review = await h.client.getReview('strict', taskId as string);
  expect(review.draft.reason).toBe('MODEL_UNAVAILABLE');
  expect(review.draft.confidence).toBe(0);
  expect(review.retrieved.length).toBeGreaterThan(0);
  await h.client.claim('strict', taskId as string, 'lee');
  await h.client.reject('strict', taskId as string, 'lee', 'checked by hand later');
  const r = await handle.result();
  expect(r.status).toBe('rejected');
  // The result still says why it went to a reviewer.
  expect(r.degraded).toEqual({ reason: 'MODEL_UNAVAILABLE', fallback: 'escalate' });
});

test('a tenant that allows it gets the extractive answer, marked as the fallback', async () => {
  mode = 'hang';
  const r = await h.client.ask({ tenantId: 'lenient', question: 'How many vacation days per year?', escalate: false });
  expect(r.degraded).toEqual({ reason: 'MODEL_UNAVAILABLE', fallback: 'extractive' });
  expect(r.status).toBe('answered');
  expect(r.answer).toMatch(/25 days/);
  expect(r.model).toBe('extractive-v1');
  expect(r.citations[0]?.documentId).toBe('leave');
});

test('garbage from the model is not a failure: no answer is served with confidence', async () => {
  mode = 'garbage';
  const r = await h.client.ask({ tenantId: 'strict', question: 'How many vacation days (garbage)?', escalate: false });
  expect(r.status).toBe('not_found');
  expect(r.confidence).toBe(0);
  expect(r.degraded).toBeUndefined();
  expect(requests).toBe(1);
});
