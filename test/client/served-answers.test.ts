// The HTTP API's served-answer cache: served again only on the generation it was tagged with, per tenant and
// question options, within its age, bounded in entries, and never for a degraded or escalated run.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CorpusGenerations } from '../../activities/answer-cache';
import { ServedAnswers } from '../../client/http/served-answers';
import type { AnswerResult } from '../../workflows/definitions';

let dir: string;
let generations: CorpusGenerations;
let now = 0;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-served-'));
  generations = new CorpusGenerations(dir);
  now = 1_000_000;
});
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

const answer = (over: Partial<AnswerResult> = {}) =>
  ({ status: 'answered', answer: 'Yes.', citations: [], workflowId: 'answer:acme:1', ...over }) as AnswerResult & {
    workflowId: string;
  };
const q = { tenantId: 'acme', question: 'Is it so?' };

test('served again, marked cached, until the generation changes', async () => {
  const cache = new ServedAnswers(generations, 10, 60_000, () => now);
  const g = await cache.generation('acme');
  expect(cache.remember(q, g, answer())).toBe(true);
  expect(await cache.lookup({ tenantId: 'acme', question: '  is it so ' })).toMatchObject({
    cached: true,
    workflowId: 'answer:acme:1',
  });
  expect(await cache.lookup({ tenantId: 'globex', question: 'Is it so?' })).toBeUndefined();
  expect(await cache.lookup({ ...q, topK: 3 })).toBeUndefined();
  expect(await cache.lookup({ ...q, escalate: false })).toBeUndefined();
  await generations.bump('acme');
  expect(await cache.lookup(q)).toBeUndefined();
});

test('an answer tagged with a generation that has since changed is never served', async () => {
  const cache = new ServedAnswers(generations, 10, 60_000, () => now);
  const before = await cache.generation('acme');
  await generations.bump('acme'); // the corpus changed while the run was answering
  cache.remember(q, before, answer());
  expect(await cache.lookup(q)).toBeUndefined();
});

test('old entries expire, the least recently used go first, and only plain served outcomes are kept', async () => {
  const cache = new ServedAnswers(generations, 2, 60_000, () => now);
  const g = await cache.generation('acme');
  expect(cache.remember(q, g, answer({ degraded: { reason: 'MODEL_UNAVAILABLE', fallback: 'extractive' } }))).toBe(
    false,
  );
  expect(cache.remember(q, g, { status: 'escalated' })).toBe(false);
  expect(cache.remember(q, g, answer({ status: 'not_found' }))).toBe(true);
  cache.remember({ tenantId: 'acme', question: 'b' }, g, answer());
  expect(await cache.lookup(q)).toBeDefined(); // q is now the most recently used
  cache.remember({ tenantId: 'acme', question: 'c' }, g, answer());
  expect(await cache.lookup({ tenantId: 'acme', question: 'b' })).toBeUndefined();
  now += 61_000;
  expect(await cache.lookup(q)).toBeUndefined();
  expect(new ServedAnswers(generations, 0, 60_000).remember(q, g, answer())).toBe(false);
});
