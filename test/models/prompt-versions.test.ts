// The chat answerer sends the pinned prompt version (or a request's own) as its system message, to a local fake
// speaking the OpenAI wire format on 127.0.0.1, and every draft records the version it was asked with.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OpenAiAnswerer } from '../../activities/models/openai';
import { createAnswerer } from '../../activities/models';
import { ExtractiveAnswerer } from '../../activities/models/extractive-answerer';
import { UnknownPromptVersionError, answerPrompt, latestPromptVersion } from '../../activities/models/prompts';
import { loadConfig } from '../../common/config';

let server: http.Server;
let baseURL: string;
const systems: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}') as { messages: { role: string; content: string }[] };
      systems.push(body.messages.find((m) => m.role === 'system')?.content ?? '');
      const content = JSON.stringify({
        notFound: false,
        claims: [{ text: 'Employees get 25 days.', refs: ['C1'] }],
        confidence: 0.8,
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'x',
          object: 'chat.completion',
          created: 0,
          model: 'm',
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
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
beforeEach(() => (systems.length = 0));

const options = () => ({ apiKey: 'test-key', baseURL, timeoutMs: 5000 });
const context = [
  { ref: 'C1', chunkId: 'c1', documentId: 'd', locator: 'p. 1', text: 'Employees get 25 days.', score: 0.5 },
];
const question = 'How many days?';

test.each(['v1', 'v2'])('an answerer pinned to %s sends that version’s system prompt and records it', async (v) => {
  const draft = await new OpenAiAnswerer(options(), 'm', {}, {}, v).answer({ question, context });
  expect(systems).toEqual([answerPrompt(v).system]);
  expect(draft.promptVersion).toBe(v);
  expect(draft.model).toBe('openai:m');
});

test('v1 and v2 send different system prompts', async () => {
  await new OpenAiAnswerer(options(), 'm', {}, {}, 'v1').answer({ question, context });
  await new OpenAiAnswerer(options(), 'm', {}, {}, 'v2').answer({ question, context });
  expect(systems).toHaveLength(2);
  expect(systems[0]).not.toBe(systems[1]);
});

test('unpinned, the answerer uses the latest version', async () => {
  const draft = await new OpenAiAnswerer(options(), 'm').answer({ question, context });
  expect(draft.promptVersion).toBe(latestPromptVersion());
  expect(systems).toEqual([answerPrompt(latestPromptVersion()).system]);
});

test("a request's own version overrides the pinned one for that request only", async () => {
  const answerer = new OpenAiAnswerer(options(), 'm', {}, {}, 'v2');
  const overridden = await answerer.answer({ question, context, promptVersion: 'v1' });
  const pinned = await answerer.answer({ question, context });
  expect(overridden.promptVersion).toBe('v1');
  expect(pinned.promptVersion).toBe('v2');
  expect(systems).toEqual([answerPrompt('v1').system, answerPrompt('v2').system]);
});

test('an unknown version is a typed error before anything is sent', async () => {
  expect(() => new OpenAiAnswerer(options(), 'm', {}, {}, 'v404')).toThrow(UnknownPromptVersionError);
  const answerer = new OpenAiAnswerer(options(), 'm', {}, {}, 'v1');
  await expect(answerer.answer({ question, context, promptVersion: 'v404' })).rejects.toMatchObject({
    code: 'PROMPT_VERSION_UNKNOWN',
  });
  expect(systems).toHaveLength(0);
});

test('GROUNDWORK_PROMPT_VERSION reaches the answerer the worker builds', async () => {
  const config = loadConfig({ GROUNDWORK_ANSWERS: 'openai', CHAT_BASE_URL: baseURL, GROUNDWORK_PROMPT_VERSION: 'v1' });
  const draft = await createAnswerer(config.models.answers).answer({ question, context });
  expect(draft.promptVersion).toBe('v1');
  expect(systems).toEqual([answerPrompt('v1').system]);
});

test('drafts without a model request carry no prompt version: extractive, nothing retrieved, PII blocked', async () => {
  const extractive = await new ExtractiveAnswerer().answer({ question, context });
  expect(extractive.promptVersion).toBeUndefined();
  const nothing = await new OpenAiAnswerer(options(), 'm', {}, {}, 'v1').answer({ question, context: [] });
  expect(nothing.promptVersion).toBeUndefined();
  const blocked = await new OpenAiAnswerer(options(), 'm', {}, { policy: 'block' }, 'v1').answer({
    question: 'Write to jane.doe@example.com?',
    context,
  });
  expect(blocked.blocked).toBe('PII');
  expect(blocked.promptVersion).toBeUndefined();
  expect(systems).toHaveLength(0);
});
