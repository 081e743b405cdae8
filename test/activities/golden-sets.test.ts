// Golden sets by reference: prepareGoldenSet reads a set from the tenant's evaluation store, merges the tenant's
// corrections and keeps the result under its content hash; evaluateGoldenPage reads its page by that hash. Real stores in a temp
// data dir, activities through MockActivityEnvironment with the worker's failure-mapping interceptor.
import path from 'node:path';
import { EvaluationStore } from '../../activities/evaluation-store';
import { encodeGoldenSet } from '../../activities/golden-sets';
import type { GoldenQuestion, ReviewOutcome } from '../../workflows/definitions';
import type { Harness } from './harness';
import { applicationFailure, makeHarness, run } from './harness';

let h: Harness;
beforeEach(async () => {
  h = await makeHarness();
});
afterEach(async () => h.close());

/** The evaluation store the activities use (the data dir's evaluations/), as a client connected to it writes there. */
const store = (): EvaluationStore => new EvaluationStore(path.join(h.dataDir, 'evaluations'));
const putSet = (tenantId: string, bytes: Uint8Array): Promise<string> => store().saveGoldenSet(tenantId, bytes);

const questions = (n: number): GoldenQuestion[] =>
  Array.from({ length: n }, (_, i) => ({ question: `What is the answer to question number ${i}?` }));

const approved: ReviewOutcome = {
  decision: 'approved',
  reviewerId: 'rev-1',
  answer: 'An answer.',
  citations: [{ documentId: 'handbook', locator: 'p. 1', chunkId: 'handbook-c1', quote: 'q' }],
  decidedAt: '2025-01-01T00:00:00Z',
};

const correct = (question: string) =>
  run(h.env(), h.activities.recordCorrection, { tenantId: 'acme', question, outcome: approved });
/** The run's set from a set kept by reference, with or without acme's corrections. */
const prepareFrom = (goldenRef: string, includeCorrections: boolean) =>
  run(h.env(), h.activities.prepareGoldenSet, { tenantId: 'acme', golden: [], goldenRef, includeCorrections });

const page = (ref: string, offset: number, limit: number) =>
  run(h.env(), h.activities.evaluateGoldenPage, {
    tenantId: 'acme',
    runKey: 'run-1',
    page: { ref, offset, limit },
    topK: 5,
    threshold: 0.6,
    modelFallback: 'escalate',
  });

test('a set by reference is merged with the corrections, kept under its hash, and read a page at a time', async () => {
  const ref = await putSet('acme', encodeGoldenSet(questions(5)));
  // A correction of a given question replaces it in place; a new one comes after the given questions.
  await correct('what is the answer to question number 1');
  await correct('Who signs invoices?');
  const prepared = await prepareFrom(ref, true);
  expect(prepared).toEqual({ ref: expect.stringMatching(/^[0-9a-f]{64}$/), total: 6 });
  expect(prepared.ref).not.toBe(ref);

  // No document in the tenant: every question that expects an answer is wrong, so a page's failures name its questions.
  const second = await page(prepared.ref, 2, 2);
  expect(second.tally.questions).toBe(2);
  expect(second.failures.map((f) => f.question)).toEqual([
    'What is the answer to question number 2?',
    'What is the answer to question number 3?',
  ]);
  const last = await page(prepared.ref, 4, 20);
  expect(last.failures.map((f) => f.question)).toEqual([
    'What is the answer to question number 4?',
    'Who signs invoices?',
  ]);
  const first = await page(prepared.ref, 0, 2);
  expect(first.failures[1]?.question).toBe('what is the answer to question number 1');

  // Without the corrections, only the given set.
  const plain = await prepareFrom(ref, false);
  // Without the corrections the merged set is the given one: the same object, nothing new kept.
  expect(plain).toEqual({ ref, total: 5 });
  expect((await page(plain.ref, 0, 20)).tally.questions).toBe(5);
});

test('inline questions are kept the same way', async () => {
  const prepared = await run(h.env(), h.activities.prepareGoldenSet, {
    tenantId: 'acme',
    golden: [...questions(3), { question: 'What is the answer to question number 0?', expectAnswer: false }],
    includeCorrections: true,
  });
  expect(prepared.total).toBe(3);
  // The later entry of a question wins: number 0 now expects "not in the documents", which an empty tenant gives.
  const result = await page(prepared.ref, 0, 3);
  expect(result.tally.questions).toBe(3);
  expect(result.failures.map((f) => f.question)).toEqual([
    'What is the answer to question number 1?',
    'What is the answer to question number 2?',
  ]);
});

test("another tenant's set, an object that is not a golden set, and a run without a set are refused with their codes", async () => {
  const foreign = await putSet('globex', encodeGoldenSet(questions(2)));
  const prepare = (goldenRef: string) => prepareFrom(goldenRef, false);
  // The hash names a set of globex's: acme's store has none under it.
  const foreignSet = await applicationFailure(prepare(foreign));
  expect(foreignSet.type).toBe('GOLDEN_SET_NOT_FOUND');
  expect(foreignSet.nonRetryable).toBe(true);
  expect((await applicationFailure(prepare('../globex/golden/x'))).type).toBe('GOLDEN_SET_NOT_FOUND');

  for (const bytes of [
    new TextEncoder().encode('%PDF-1.4 not a golden set'),
    new TextEncoder().encode(JSON.stringify({ version: 1, questions: [{ question: 42 }] })),
    new TextEncoder().encode(JSON.stringify({ version: 2, questions: [] })),
    new TextEncoder().encode('null'),
  ]) {
    const failure = await applicationFailure(prepare(await putSet('acme', bytes)));
    expect(failure.type).toBe('INVALID_GOLDEN_SET');
    expect(failure.nonRetryable).toBe(true);
  }

  const missing = await applicationFailure(page('0'.repeat(64), 0, 20));
  expect(missing.type).toBe('GOLDEN_SET_NOT_FOUND');
  const badPage = await applicationFailure(page('0'.repeat(64), -1, 20));
  expect(badPage.type).toBe('INVALID_INPUT');
});

test("a wrong answer is listed with its question cut to 300 characters; the run's results keep it whole", async () => {
  const long = `Which of the following ${'very '.repeat(390)}long clauses applies?`;
  expect(long.length).toBeGreaterThan(1900);
  const prepared = await run(h.env(), h.activities.prepareGoldenSet, {
    tenantId: 'acme',
    golden: [{ question: long }],
    includeCorrections: false,
  });
  const result = await page(prepared.ref, 0, 1);
  expect(result.failures).toHaveLength(1);
  expect(result.failures[0]?.question).toHaveLength(300);
  expect(result.failures[0]?.question.endsWith('…')).toBe(true);
  expect(long.startsWith(result.failures[0]!.question.slice(0, 299))).toBe(true);
  const kept = await store().runResults('acme', 'run-1');
  expect(kept.map((r) => r.question)).toEqual([long]);
});

test('a full set of 10,000 questions with corrections on top is kept and read whole', async () => {
  const ref = await putSet('acme', encodeGoldenSet(questions(10_000)));
  await correct('Who signs invoices?');
  const prepared = await prepareFrom(ref, true);
  expect(prepared.total).toBe(10_001);
  const last = await page(prepared.ref, 10_000, 20);
  expect(last.failures.map((f) => f.question)).toEqual(['Who signs invoices?']);
});
