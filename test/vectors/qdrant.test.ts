// The same contract against a real Qdrant: QDRANT_URL when set, else the Qdrant server binary beside the repository
// (see test/support/qdrant-server.ts), started for this file. Without either, the file is skipped and says so.
import { QdrantClient } from '@qdrant/js-client-rest';
import { QdrantVectorStore } from '../../activities/vectors/qdrant';
import { freePort } from '../../workers/dev-server';
import { QDRANT_BIN, qdrantAvailable, startQdrant } from '../support/qdrant-server';
import type { QdrantServer } from '../support/qdrant-server';
import { describeVectorStoreContract, point, vec } from './contract';

if (!qdrantAvailable()) {
  console.log(`[qdrant contract] skipped: QDRANT_URL is not set and there is no Qdrant binary at ${QDRANT_BIN}`);
  describe.skip('Qdrant vector store contract', () => {
    test('needs a Qdrant', () => undefined);
  });
} else {
  let server: QdrantServer;
  const collections: string[] = [];
  beforeAll(async () => {
    server = await startQdrant();
  }, 60_000);
  afterAll(async () => server?.stop());

  describeVectorStoreContract(
    'Qdrant',
    async () => {
      const name = `groundwork_test_${Date.now()}_${collections.length}`;
      collections.push(name);
      return new QdrantVectorStore(server.url, process.env.QDRANT_API_KEY, name);
    },
    async () => {
      const client = new QdrantClient({
        url: server.url,
        apiKey: process.env.QDRANT_API_KEY,
        checkCompatibility: false,
      });
      for (const c of collections.splice(0)) await client.deleteCollection(c).catch(() => undefined);
    },
  );

  describe('Qdrant collection layouts', () => {
    const admin = (): QdrantClient => new QdrantClient({ url: server.url, checkCompatibility: false });

    test('a new collection holds a dense vector and a BM25 sparse vector with IDF', async () => {
      const name = `groundwork_test_layout_${Date.now()}`;
      collections.push(name);
      await new QdrantVectorStore(server.url, undefined, name).ensureReady(8);
      const { params } = (await admin().getCollection(name)).config;
      expect(params.vectors).toEqual({ dense: expect.objectContaining({ size: 8, distance: 'Cosine' }) });
      expect(params.sparse_vectors).toEqual({ bm25: expect.objectContaining({ modifier: 'idf' }) });
    });

    test('a hybrid search is one request whose every prefetch and outer query carry the tenant filter', async () => {
      const name = `groundwork_test_filter_${Date.now()}`;
      collections.push(name);
      const store = new QdrantVectorStore(server.url, undefined, name);
      await store.ensureReady(8);
      await store.upsert('t1', [point('t1', 'd', 'v1', 0, vec(1), 'active', 'The garnet tariff.')]);
      const spy = jest.spyOn(QdrantClient.prototype, 'queryBatch');
      try {
        const hits = await store.search('t1', vec(0), { limit: 3, text: 'garnet', documentIds: ['d'] });
        expect(hits.map((h) => h.lexicalRank)).toEqual([1]);
        expect(spy).toHaveBeenCalledTimes(1);
        const [fused, ...singles] = spy.mock.calls[0]![1].searches;
        const tenant = { key: 'tenant_id', match: { value: 't1' } };
        const scoped = expect.objectContaining({ must: expect.arrayContaining([tenant]) });
        expect(fused).toMatchObject({ filter: scoped, query: { rrf: expect.any(Object) } });
        expect(fused!.prefetch).toEqual([
          expect.objectContaining({ using: 'dense', filter: scoped }),
          expect.objectContaining({ using: 'bm25', filter: scoped }),
        ]);
        for (const single of singles) expect(single).toMatchObject({ filter: scoped });
      } finally {
        spy.mockRestore();
      }
    });

    test('a collection of the old unnamed-vector layout keeps working, dense only', async () => {
      const name = `groundwork_test_legacy_${Date.now()}`;
      collections.push(name);
      await admin().createCollection(name, { vectors: { size: 8, distance: 'Cosine' } });
      const store = new QdrantVectorStore(server.url, undefined, name);
      await store.ensureReady(8);
      await store.upsert('t1', [
        point('t1', 'a', 'v1', 0, vec(0), 'staged', 'The garnet tariff.'),
        point('t1', 'a', 'v1', 1, vec(1), 'staged', 'Unrelated words.'),
      ]);
      expect(await store.activateVersion('t1', 'a', 'v1')).toEqual({ activated: 2, retired: 0 });
      const plain = await store.search('t1', vec(1), { limit: 5 });
      expect(plain.map((h) => h.payload.chunkIndex)).toEqual([1, 0]);
      // `text` is ignored: no lexical side exists in this layout.
      expect(await store.search('t1', vec(1), { limit: 5, text: 'garnet' })).toEqual(plain);
      await expect(new QdrantVectorStore(server.url, undefined, name).ensureReady(16)).rejects.toMatchObject({
        code: 'EMBEDDER_MISMATCH',
      });
      // A store that never called ensureReady reads the layout itself.
      const fresh = new QdrantVectorStore(server.url, undefined, name);
      await fresh.upsert('t1', [point('t1', 'b', 'v1', 0, vec(2), 'active', 'More garnet.')]);
      expect((await fresh.search('t1', vec(2), { limit: 1, text: 'garnet' }))[0]!.payload.documentId).toBe('b');
    });
  });

  describe('Qdrant faults become typed errors', () => {
    test('a collection of another vector size is a non-retryable EMBEDDER_MISMATCH', async () => {
      const name = `groundwork_test_dims_${Date.now()}`;
      collections.push(name);
      await new QdrantVectorStore(server.url, undefined, name).ensureReady(8);
      await expect(new QdrantVectorStore(server.url, undefined, name).ensureReady(16)).rejects.toMatchObject({
        code: 'EMBEDDER_MISMATCH',
        retryable: false,
      });
    });

    test('a Qdrant that does not answer is a retryable VECTOR_STORE_UNAVAILABLE', async () => {
      const nobody = `http://127.0.0.1:${await freePort()}`;
      await expect(new QdrantVectorStore(nobody, undefined, 'x').count('t1')).rejects.toMatchObject({
        code: 'VECTOR_STORE_UNAVAILABLE',
        retryable: true,
      });
    });
  });
}
