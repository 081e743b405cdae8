// The openai adapters against a local fake speaking the OpenAI wire format on 127.0.0.1 (never the internet).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OpenAiAnswerer, OpenAiEmbedder } from '../../activities/models/openai';
import { ModelRequestError, ModelUnavailableError } from '../../activities/models/types';

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

let server: http.Server;
let baseURL: string;
const requests: { path: string; body: Record<string, unknown> }[] = [];
let reply: (path: string, body: Record<string, unknown>) => Reply = () => ({ status: 500, body: {} });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}') as Record<string, unknown>;
      requests.push({ path: req.url ?? '', body });
      const r = reply(req.url ?? '', body);
      res.writeHead(r.status, { 'content-type': 'application/json', ...(r.headers ?? {}) });
      res.end(JSON.stringify(r.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => (requests.length = 0));

const options = () => ({ apiKey: 'test-key', baseURL, timeoutMs: 5000 });

test('embeds in batches of 96 and returns vectors in input order', async () => {
  reply = (_p, body) => {
    const input = body.input as string[];
    // Reversed on purpose: the adapter must order by index.
    return {
      status: 200,
      body: {
        data: input.map((_t, i) => ({ index: i, embedding: [i, input.length] })).reverse(),
        model: 'm',
        usage: {},
      },
    };
  };
  const out = await new OpenAiEmbedder(options(), 'text-embedding-3-small', 2).embed(
    Array.from({ length: 100 }, (_, i) => `t${i}`),
  );
  expect(requests.map((r) => (r.body.input as string[]).length)).toEqual([96, 4]);
  expect(requests[0]!.body.model).toBe('text-embedding-3-small');
  expect(out[0]).toEqual([0, 96]);
  expect(out[99]).toEqual([3, 4]);
});

test('a 500 is not retried by the client and maps to a retryable ModelUnavailableError', async () => {
  reply = () => ({ status: 500, body: { error: { message: 'boom' } } });
  await expect(new OpenAiEmbedder(options()).embed(['x'])).rejects.toBeInstanceOf(ModelUnavailableError);
  expect(requests).toHaveLength(1);
});

test('a 429 carries the retry-after delay', async () => {
  reply = () => ({ status: 429, body: { error: { message: 'slow down' } }, headers: { 'retry-after': '2' } });
  const err = await new OpenAiEmbedder(options()).embed(['x']).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ModelUnavailableError);
  expect((err as ModelUnavailableError).retryAfterMs).toBe(2000);
});

test('a 401 is a permanent ModelRequestError whose message holds no key', async () => {
  reply = () => ({ status: 401, body: { error: { message: 'bad key test-key', code: 'invalid_api_key' } } });
  const err = await new OpenAiEmbedder(options()).embed(['x']).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ModelRequestError);
  expect((err as Error).message).not.toContain('test-key');
});

const chat = (content: string): Reply => ({
  status: 200,
  body: {
    id: 'x',
    object: 'chat.completion',
    created: 0,
    model: 'm',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
  },
});

test('parses the JSON answer into a draft with claims and refs', async () => {
  reply = () =>
    chat(
      JSON.stringify({ notFound: false, claims: [{ text: 'Employees get 25 days.', refs: ['C1'] }], confidence: 0.8 }),
    );
  const d = await new OpenAiAnswerer(options(), 'gpt-test').answer({
    question: 'How many days?',
    context: [
      { ref: 'C1', chunkId: 'c1', documentId: 'd', locator: 'p. 1', text: 'Employees get 25 days.', score: 0.5 },
    ],
  });
  expect(d).toEqual({
    notFound: false,
    claims: [{ text: 'Employees get 25 days.', refs: ['C1'] }],
    confidence: 0.8,
    model: 'openai:gpt-test',
  });
  const sent = requests[0]!.body as { model: string; messages: { content: string }[]; response_format: unknown };
  expect(sent.model).toBe('gpt-test');
  expect(sent.response_format).toEqual({ type: 'json_object' });
  expect(sent.messages[1]!.content).toContain('[C1] (d, p. 1)');
});

test('output that is not the agreed JSON becomes a not-found draft with no confidence', async () => {
  reply = () => chat('I think it is 25 days.');
  const d = await new OpenAiAnswerer(options()).answer({ question: 'q', context: [] });
  expect(d).toMatchObject({ notFound: true, claims: [], confidence: 0 });
});
