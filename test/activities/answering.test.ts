// The answering activities through MockActivityEnvironment and the failure-mapping interceptor: two tenants hold
// the same handbook (identical text, so identical vectors) in a real LanceDB store; the offline models answer.
import type { RetrievedChunk } from '../../activities';
import type { DraftAnswer } from '../../activities/models/types';
import { pointId } from '../../activities/vectors/ids';
import type { Harness } from './harness';
import { applicationFailure, HANDBOOK_PAGES, ingest, makeHarness, POLICY, run } from './harness';

jest.setTimeout(30_000);

const QUESTION = 'How many vacation days do full-time employees receive?';
const VACATION = 'Full-time employees receive 25 vacation days per calendar year.';
const LAPTOPS = 'Laptops are replaced every three years by the IT department.';

let h: Harness;
const version: Record<string, string> = {};
/** Point id of chunk i (page i + 1) of the handbook of a tenant. */
const chunk = (tenantId: string, i: number): string => pointId(tenantId, 'handbook', version[tenantId] as string, i);
const chunksOf = (tenantId: string): string[] => HANDBOOK_PAGES.map((_, i) => chunk(tenantId, i));

beforeAll(async () => {
  h = await makeHarness();
  for (const tenantId of ['acme', 'beta']) version[tenantId] = (await ingest(h, tenantId, 'handbook')).version;
});
afterAll(async () => h.close());

const retrieve = (tenantId: string, question = QUESTION, topK = 5): Promise<{ chunks: RetrievedChunk[] }> =>
  run(h.env(), h.activities.retrieveChunks, { tenantId, question, topK });

describe('tenantPolicy', () => {
  test('gives a tenant its configured threshold and every other tenant the default, with the shared settings', async () => {
    const strict = await run(h.env(), h.activities.tenantPolicy, { tenantId: 'strict' });
    const acme = await run(h.env(), h.activities.tenantPolicy, { tenantId: 'acme' });
    expect(strict).toEqual({
      threshold: 0.9,
      reviewTimeout: '2 days',
      topK: POLICY.topK,
      driftTolerance: POLICY.driftTolerance,
      calibration: 'heuristic-v1',
      modelFallback: 'escalate',
    });
    expect(acme).toEqual({ ...strict, threshold: 0.6 });
  });

  test('an invalid tenant id is a non-retryable INVALID_TENANT', async () => {
    const failure = await applicationFailure(run(h.env(), h.activities.tenantPolicy, { tenantId: '' }));
    expect(failure).toMatchObject({ type: 'INVALID_TENANT', nonRetryable: true });
  });
});

describe('retrieveChunks', () => {
  test('is tenant-scoped: with identical text in two tenants, each sees only its own chunks', async () => {
    const acme = (await retrieve('acme')).chunks;
    const beta = (await retrieve('beta')).chunks;
    expect(acme.length).toBeGreaterThan(0);
    expect(acme.map((c) => c.chunkId).every((id) => chunksOf('acme').includes(id))).toBe(true);
    expect(beta.map((c) => c.chunkId).every((id) => chunksOf('beta').includes(id))).toBe(true);
    // The same text, so the same ranking: only the ids differ.
    expect(beta.map((c) => c.text)).toEqual(acme.map((c) => c.text));
    expect(await retrieve('gamma')).toEqual({ chunks: [], tenantChunks: 0 });
  });

  test('retrieving nothing says whether the tenant has any active chunks at all', async () => {
    const none = await retrieve('acme', 'Zeppelin xylophone quasar?');
    expect(none.chunks).toEqual([]);
    expect((none as { tenantChunks?: number }).tenantChunks).toBe(chunksOf('acme').length);
    // Counted only when nothing was retrieved.
    expect((await retrieve('acme')) as { tenantChunks?: number }).not.toHaveProperty('tenantChunks');
  });

  test('labels the chunks C1..Cn, best first, with what a citation needs', async () => {
    const { chunks } = await retrieve('acme', QUESTION, 3);
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.length).toBeLessThanOrEqual(3);
    expect(chunks.map((c) => c.ref)).toEqual(chunks.map((_, i) => `C${i + 1}`));
    expect(chunks[0]).toMatchObject({
      chunkId: chunk('acme', 0),
      documentId: 'handbook',
      sourceName: 'handbook-5.pdf',
      locator: 'p. 1',
    });
    expect(chunks[0]?.text).toContain('25 vacation days');
    const scores = chunks.map((c) => c.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(scores.every((s) => s >= 0.01)).toBe(true);
  });

  test('an invalid tenant id is a non-retryable INVALID_TENANT', async () => {
    const failure = await applicationFailure(retrieve("acme' OR '1'='1"));
    expect(failure).toMatchObject({ type: 'INVALID_TENANT', nonRetryable: true });
  });
});

describe('generateDraft', () => {
  test('drafts a claim quoting the retrieved chunk that answers, citing its ref', async () => {
    const { chunks } = await retrieve('acme');
    const draft = await run(h.env(), h.activities.generateDraft, { question: QUESTION, chunks });
    expect(draft).toMatchObject({ notFound: false, model: 'extractive-v1' });
    expect(draft.claims[0]).toEqual({ text: VACATION, refs: ['C1'] });
    expect(draft.confidence).toBeGreaterThan(0.5);
  });

  test('says not found when the retrieved chunks do not answer the question', async () => {
    const { chunks } = await retrieve('acme');
    const draft = await run(h.env(), h.activities.generateDraft, {
      question: 'Who won the football world cup in 1998?',
      chunks,
    });
    expect(draft).toMatchObject({ notFound: true, claims: [] });
  });
});

describe('verifyDraft', () => {
  const draft: DraftAnswer = {
    notFound: false,
    confidence: 0.9,
    model: 'test',
    claims: [
      { text: VACATION, refs: ['C1'] },
      { text: LAPTOPS, refs: ['C2'] },
    ],
  };

  test("keeps citations of the tenant's own chunks", async () => {
    const retrieved = [
      { ref: 'C1', chunkId: chunk('acme', 0), score: 0.8 },
      { ref: 'C2', chunkId: chunk('acme', 1), score: 0.5 },
    ];
    const verified = await run(h.env(), h.activities.verifyDraft, {
      tenantId: 'acme',
      question: QUESTION,
      draft,
      retrieved,
    });
    expect(verified.status).toBe('answered');
    expect(verified.citations.map((c) => c.chunkId)).toEqual([chunk('acme', 0), chunk('acme', 1)]);
    expect(verified.citations[1]).toMatchObject({ documentId: 'handbook', locator: 'p. 2', quote: LAPTOPS });
  });

  test('drops a citation to a chunk of another tenant, and the claim that rested on it', async () => {
    const retrieved = [
      { ref: 'C1', chunkId: chunk('acme', 0), score: 0.8 },
      { ref: 'C2', chunkId: chunk('beta', 1), score: 0.5 }, // identical text, but beta's
    ];
    const verified = await run(h.env(), h.activities.verifyDraft, {
      tenantId: 'acme',
      question: QUESTION,
      draft,
      retrieved,
    });
    expect(verified.status).toBe('answered');
    expect(verified.citations.map((c) => c.chunkId)).toEqual([chunk('acme', 0)]);
    expect(verified.answer).toBe(`${VACATION} [1]`);
    expect(verified.checks).toEqual({ droppedClaims: 1, unsupportedClaims: 0, invalidRefs: 1 });
  });

  test("a draft citing only another tenant's chunks is not an answer", async () => {
    const retrieved = [
      { ref: 'C1', chunkId: chunk('beta', 0), score: 0.8 },
      { ref: 'C2', chunkId: chunk('beta', 1), score: 0.5 },
    ];
    const verified = await run(h.env(), h.activities.verifyDraft, {
      tenantId: 'acme',
      question: QUESTION,
      draft,
      retrieved,
    });
    expect(verified).toMatchObject({ status: 'not_found', citations: [], confidence: 0 });
  });

  test('an invalid tenant id is a non-retryable INVALID_TENANT', async () => {
    const failure = await applicationFailure(
      run(h.env(), h.activities.verifyDraft, {
        tenantId: 'a/b',
        question: QUESTION,
        draft,
        retrieved: [{ ref: 'C1', chunkId: chunk('acme', 0), score: 1 }],
      }),
    );
    expect(failure).toMatchObject({ type: 'INVALID_TENANT', nonRetryable: true });
  });
});

describe('resolveCitations', () => {
  const answer = 'Employees get 25 vacation days, and laptops are replaced every three years.';

  test("drops chunk ids that are not the tenant's and keeps a reviewer's verbatim quote", async () => {
    const citations = await run(h.env(), h.activities.resolveCitations, {
      tenantId: 'acme',
      answer,
      citations: [
        { chunkId: chunk('acme', 0), quote: VACATION },
        { chunkId: chunk('beta', 1), quote: LAPTOPS },
        { chunkId: 'not-a-chunk-id' },
        { chunkId: "x' OR tenant_id <> '" },
      ],
    });
    expect(citations).toEqual([
      {
        documentId: 'handbook',
        sourceName: 'handbook-5.pdf',
        locator: 'p. 1',
        chunkId: chunk('acme', 0),
        quote: VACATION,
      },
    ]);
  });

  test('replaces a quote that is not verbatim chunk text by the sentence of the chunk that best matches the answer', async () => {
    const citations = await run(h.env(), h.activities.resolveCitations, {
      tenantId: 'acme',
      answer,
      citations: [
        { chunkId: chunk('acme', 1), quote: 'Laptops are replaced every year.' },
        { chunkId: chunk('acme', 0) },
      ],
    });
    expect(citations.map((c) => [c.chunkId, c.quote])).toEqual([
      [chunk('acme', 1), LAPTOPS],
      [chunk('acme', 0), VACATION],
    ]);
  });
});

describe('calibrated confidence (GROUNDWORK_CONFIDENCE=calibrated)', () => {
  let c: Harness;
  const cVersion: Record<string, string> = {};
  beforeAll(async () => {
    c = await makeHarness({
      policy: { ...POLICY, defaultThreshold: undefined, tenantThresholds: {}, confidence: 'calibrated' },
    });
    cVersion.acme = (await ingest(c, 'acme', 'handbook')).version;
  });
  afterAll(async () => c.close());

  const ask = async (question: string) => {
    const { chunks } = await run(c.env(), c.activities.retrieveChunks, { tenantId: 'acme', question, topK: 3 });
    const draft = await run(c.env(), c.activities.generateDraft, { question, chunks });
    return run(c.env(), c.activities.verifyDraft, {
      tenantId: 'acme',
      question,
      draft,
      retrieved: chunks.map((x) => ({
        ref: x.ref,
        chunkId: x.chunkId,
        score: x.score,
        denseRank: x.denseRank,
        lexicalRank: x.lexicalRank,
      })),
    });
  };

  test('the threshold comes from the shipped fit for the target risk, and each answer records the fit and its signals', async () => {
    const policy = await run(c.env(), c.activities.tenantPolicy, { tenantId: 'acme' });
    expect(policy.calibration).toMatch(/^default-squad-/);
    expect(policy.threshold).toBeGreaterThan(0);
    const verified = await ask(QUESTION);
    expect(verified.status).toBe('answered');
    expect(verified.calibration).toBe(policy.calibration);
    expect(verified.confidence).toBeGreaterThan(0);
    expect(verified.confidence).toBeLessThan(1);
    expect(verified.signals.coverage).toBeGreaterThan(0.5);
    // Hybrid retrieval ranked the cited chunk on both sides.
    expect(verified.signals.agreement).toBeGreaterThan(0);
  });

  test('below 50 labels nothing is refit; from 50 the tenant gets its own versioned fit and threshold', async () => {
    const { signals } = await ask(QUESTION);
    const labels = (n: number, from: number) =>
      Array.from({ length: n }, (_, i) => ({
        key: `golden:q${from + i}`,
        kind: 'answered' as const,
        // Right exactly when the coverage is high: an easy fit with a threshold below 1.
        signals: { ...signals, coverage: (i % 10) / 10 },
        correct: i % 10 >= 5,
      }));
    await run(c.env(), c.activities.recordLabels, { tenantId: 'acme', labels: labels(40, 0) });
    expect(await run(c.env(), c.activities.refitCalibration, { tenantId: 'acme' })).toMatchObject({
      refitted: false,
      labels: 40,
    });
    // The same keys again replace, not add.
    await run(c.env(), c.activities.recordLabels, { tenantId: 'acme', labels: labels(40, 0) });
    await run(c.env(), c.activities.recordLabels, { tenantId: 'acme', labels: labels(20, 40) });
    const fit = await run(c.env(), c.activities.refitCalibration, { tenantId: 'acme' });
    expect(fit).toMatchObject({ refitted: true, version: 'acme-v1', labels: 60 });
    expect(fit.threshold).toBeLessThan(1);
    const policy = await run(c.env(), c.activities.tenantPolicy, { tenantId: 'acme' });
    expect(policy).toMatchObject({ calibration: 'acme-v1', threshold: fit.threshold });
    expect((await ask(QUESTION)).calibration).toBe('acme-v1');
    expect((await run(c.env(), c.activities.refitCalibration, { tenantId: 'acme' })).version).toBe('acme-v2');
  });
});
