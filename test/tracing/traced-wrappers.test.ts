// The model and vector-store wrappers: one span per call, named after the call, with counts and ids but never a
// question, a chunk's text, an answer or a vector; a failure is recorded on its span and still thrown.
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { tracedAnswerer, tracedEmbedder } from '../../activities/models/traced';
import { ModelUnavailableError } from '../../activities/models/types';
import type { AnswerInput, Answerer, DraftAnswer, Embedder } from '../../activities/models/types';
import { tracedVectorStore } from '../../activities/vectors/traced';
import type { ScoredChunk, VectorPoint, VectorStore } from '../../activities/vectors/types';
import { tenantMismatch } from '../../activities/vectors/types';
import { inSpan, installTestExporter, shutdownTracing } from '../../common/tracing';

const SECRET_QUESTION = 'What is the salary of Jane Roe?';
const SECRET_TEXT = 'Jane Roe earns 123456 a year.';

const exporter = new InMemorySpanExporter();
beforeAll(() => {
  installTestExporter(exporter);
});
afterAll(() => shutdownTracing());
beforeEach(() => exporter.reset());

function only(name: string): ReadableSpan {
  const spans = exporter.getFinishedSpans().filter((s) => s.name === name);
  expect(spans).toHaveLength(1);
  return spans[0]!;
}

/** Everything a span carries as text: attributes, status, events. */
function spanText(span: ReadableSpan): string {
  return JSON.stringify({ a: span.attributes, s: span.status, e: span.events, n: span.name });
}

class FakeEmbedder implements Embedder {
  readonly id = 'fake-embed-v1';
  readonly dimensions = 3;
  #calls = 0;
  get calls(): number {
    return this.#calls;
  }
  async embed(texts: string[]): Promise<number[][]> {
    this.#calls += 1; // a private field: the wrapper must call the method on the real object
    if (texts.includes('fail')) throw new ModelUnavailableError('The embedding server answered 503.');
    return texts.map(() => [0.1, 0.2, 0.3]);
  }
}

const draft: DraftAnswer = {
  notFound: false,
  claims: [{ text: SECRET_TEXT, refs: ['C1'] }],
  confidence: 0.8,
  model: 'fake-chat',
  promptVersion: 'v2',
};

class FakeAnswerer implements Answerer {
  readonly id = 'fake-chat';
  async answer(input: AnswerInput): Promise<DraftAnswer> {
    if (input.question === 'boom') throw new Error('socket hang up');
    return draft;
  }
}

const chunk: ScoredChunk = {
  id: 'p1',
  score: 0.9,
  payload: {
    tenantId: 'acme',
    documentId: 'pay.md',
    version: 'v1',
    chunkId: 'c1',
    chunkIndex: 0,
    text: SECRET_TEXT,
    locator: 'p. 1',
    locatorJson: '{}',
    sourceName: 'pay.md',
    state: 'active',
  },
};

function fakeStore(): VectorStore & { closed: boolean } {
  return {
    kind: 'fake',
    closed: false,
    ensureReady: async () => undefined,
    upsert: async (tenantId: string, points: VectorPoint[]) => {
      if (points.some((p) => p.payload.tenantId !== tenantId)) throw tenantMismatch();
    },
    search: async () => [chunk],
    activeVersion: async () => null,
    activateVersion: async () => ({ activated: 2, retired: 1 }),
    discardStaged: async () => 0,
    deleteDocument: async () => 3,
    deleteTenant: async () => 4,
    count: async () => 5,
    getChunks: async () => [chunk],
    async close() {
      this.closed = true;
    },
  };
}

test('model.embed carries the model and counts, never the texts, and keeps the embedder itself working', async () => {
  const inner = new FakeEmbedder();
  const e = tracedEmbedder(inner);
  expect([e.id, e.dimensions]).toEqual(['fake-embed-v1', 3]);
  expect(await e.embed([SECRET_QUESTION, SECRET_TEXT], { kind: 'query' })).toHaveLength(2);
  expect(inner.calls).toBe(1);
  const span = only('model.embed');
  expect(span.attributes).toMatchObject({
    'model.id': 'fake-embed-v1',
    'model.embed_kind': 'query',
    'model.texts': 2,
    'model.vectors': 2,
    'model.input_chars': SECRET_QUESTION.length + SECRET_TEXT.length,
  });
  expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
  expect(spanText(span)).not.toContain('Jane');
  expect(spanText(span)).not.toContain('0.2');
});

test('a failed embedding is recorded on its span (status, code, exception) and rethrown', async () => {
  const e = tracedEmbedder(new FakeEmbedder());
  await expect(e.embed(['fail'])).rejects.toBeInstanceOf(ModelUnavailableError);
  const span = only('model.embed');
  expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'The embedding server answered 503.' });
  expect(span.attributes['error.type']).toBe('MODEL_UNAVAILABLE');
  expect(span.events.map((ev) => ev.name)).toEqual(['exception']);
  expect(span.events[0]!.attributes).toMatchObject({ 'exception.type': 'MODEL_UNAVAILABLE' });
});

test('model.answer carries the model, context size and draft shape, never the question, chunks or claims', async () => {
  const a = tracedAnswerer(new FakeAnswerer());
  const input: AnswerInput = {
    question: SECRET_QUESTION,
    tenantId: 'acme',
    context: [{ ref: 'C1', chunkId: 'c1', documentId: 'pay.md', locator: 'p. 1', text: SECRET_TEXT, score: 0.9 }],
  };
  expect(await a.answer(input)).toBe(draft);
  const span = only('model.answer');
  expect(span.attributes).toMatchObject({
    'model.id': 'fake-chat',
    'model.context_chunks': 1,
    'model.question_chars': SECRET_QUESTION.length,
    'model.claims': 1,
    'model.not_found': false,
    'model.confidence': 0.8,
    'model.prompt_version': 'v2',
  });
  expect(spanText(span)).not.toContain('Jane');
  expect(spanText(span)).not.toContain('salary');

  await expect(a.answer({ ...input, question: 'boom' })).rejects.toThrow('socket hang up');
  const failed = exporter.getFinishedSpans().filter((s) => s.name === 'model.answer')[1]!;
  expect(failed.status.code).toBe(SpanStatusCode.ERROR);
  expect(failed.attributes['error.type']).toBe('Error');
});

test('store spans name the method, the store and the tenant, with counts; search text and vectors stay out', async () => {
  const inner = fakeStore();
  const s = tracedVectorStore(inner);
  expect(s.kind).toBe('fake');
  const hits = await s.search('acme', [0.123, 0.456], { limit: 4, text: SECRET_QUESTION, documentIds: ['pay.md'] });
  expect(hits).toEqual([chunk]);
  const search = only('store.search');
  expect(search.attributes).toEqual({
    'store.kind': 'fake',
    'tenant.id': 'acme',
    'store.limit': 4,
    'store.hybrid': true,
    'store.document_filter': 1,
    'store.results': 1,
  });
  expect(spanText(search)).not.toContain('Jane');
  expect(spanText(search)).not.toContain('0.123');

  expect(await s.activateVersion('acme', 'pay.md', 'v1')).toEqual({ activated: 2, retired: 1 });
  expect(only('store.activateVersion').attributes).toMatchObject({ 'store.activated': 2, 'store.retired': 1 });
  expect(await s.count('acme', { state: 'active' })).toBe(5);
  expect(only('store.count').attributes).toMatchObject({ 'store.points': 5, 'store.state': 'active' });
  expect(await s.getChunks('acme', ['p1', 'p2'])).toEqual([chunk]);
  expect(only('store.getChunks').attributes).toMatchObject({ 'store.ids': 2, 'store.results': 1 });

  // close() passes through (no span) and reaches the real store.
  await s.close();
  expect(inner.closed).toBe(true);
  expect(exporter.getFinishedSpans().map((sp) => sp.name)).not.toContain('store.close');
});

test('a refused upsert is recorded on store.upsert with its code and rethrown unchanged', async () => {
  const s = tracedVectorStore(fakeStore());
  const point: VectorPoint = { id: 'p1', vector: [1, 2, 3], payload: { ...chunk.payload, tenantId: 'other' } };
  await expect(s.upsert('acme', [point])).rejects.toMatchObject({ code: 'TENANT_MISMATCH' });
  const span = only('store.upsert');
  expect(span.attributes).toMatchObject({ 'store.points': 1, 'error.type': 'TENANT_MISMATCH' });
  expect(span.status.code).toBe(SpanStatusCode.ERROR);
  expect(spanText(span)).not.toContain('Jane');
});

test('calls made inside a span are its children', async () => {
  const e = tracedEmbedder(new FakeEmbedder());
  const s = tracedVectorStore(fakeStore());
  await inSpan('activity', {}, async () => {
    const [v] = await e.embed(['q']);
    await s.search('acme', v!, { limit: 1 });
  });
  const parent = only('activity');
  for (const name of ['model.embed', 'store.search']) {
    const child = only(name);
    expect(child.parentSpanId).toBe(parent.spanContext().spanId);
    expect(child.spanContext().traceId).toBe(parent.spanContext().traceId);
  }
});
