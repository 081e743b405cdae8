// The same contract against a real Qdrant: QDRANT_URL when set, else the Qdrant server binary beside the repository
// (see test/support/qdrant-server.ts), started for this file. Without either, the file is skipped and says so.
import { QdrantClient } from '@qdrant/js-client-rest';
import { ACTIVATION, QdrantVectorStore, supersededVersions } from '../../activities/vectors/qdrant';
import { pointId } from '../../activities/vectors/ids';
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

    test('a new collection has per-tenant HNSW graphs (payload_m 16, m 0) and every payload index', async () => {
      const name = `groundwork_test_hnsw_${Date.now()}`;
      collections.push(name);
      await new QdrantVectorStore(server.url, undefined, name).ensureReady(8);
      const info = await admin().getCollection(name);
      expect(info.config.hnsw_config).toMatchObject({ payload_m: 16, m: 0 });
      expect(info.payload_schema).toMatchObject({
        tenant_id: { data_type: 'keyword', params: expect.objectContaining({ is_tenant: true }) },
        // Only the tenant field gets HNSW links of its own: the others are filters, not graphs.
        document_id: { data_type: 'keyword', params: expect.objectContaining({ enable_hnsw: false }) },
        state: { data_type: 'keyword', params: expect.objectContaining({ enable_hnsw: false }) },
        version: { data_type: 'keyword', params: expect.objectContaining({ enable_hnsw: false }) },
      });
    });

    test('a collection created without payload indexes, or with others, gets ours at ensureReady and keeps its HNSW settings', async () => {
      const name = `groundwork_test_indexes_${Date.now()}`;
      collections.push(name);
      await admin().createCollection(name, { vectors: { dense: { size: 8, distance: 'Cosine' } } });
      // Another tool indexed tenant_id, but not as the tenant field, and state with HNSW links per value (an index
      // of an older Groundwork too).
      await admin().createPayloadIndex(name, { field_name: 'tenant_id', field_schema: 'keyword', wait: true });
      await admin().createPayloadIndex(name, { field_name: 'state', field_schema: 'keyword', wait: true });
      const before = await admin().getCollection(name);
      expect(Object.keys(before.payload_schema).sort()).toEqual(['state', 'tenant_id']);
      const store = new QdrantVectorStore(server.url, undefined, name);
      await store.ensureReady(8);
      const after = await admin().getCollection(name);
      expect(after.payload_schema).toMatchObject({
        tenant_id: { data_type: 'keyword', params: expect.objectContaining({ is_tenant: true }) },
        // Only the tenant field gets HNSW links of its own: the others are filters, not graphs.
        document_id: { data_type: 'keyword', params: expect.objectContaining({ enable_hnsw: false }) },
        state: { data_type: 'keyword', params: expect.objectContaining({ enable_hnsw: false }) },
        version: { data_type: 'keyword', params: expect.objectContaining({ enable_hnsw: false }) },
      });
      expect(after.config.hnsw_config).toEqual(before.config.hnsw_config);
      // Idempotent: a second ensureReady (of this or another store) changes nothing and creates nothing.
      const create = jest.spyOn(QdrantClient.prototype, 'createPayloadIndex');
      try {
        await store.ensureReady(8);
        await new QdrantVectorStore(server.url, undefined, name).ensureReady(8);
        expect(create).not.toHaveBeenCalled();
      } finally {
        create.mockRestore();
      }
      expect((await admin().getCollection(name)).payload_schema).toEqual(after.payload_schema);
    });

    test('getChunks asks Qdrant for the ids under the tenant filter, ignoring ids that are not UUIDs', async () => {
      const name = `groundwork_test_chunks_${Date.now()}`;
      collections.push(name);
      const store = new QdrantVectorStore(server.url, undefined, name);
      await store.ensureReady(8);
      await store.upsert('t1', [point('t1', 'd', 'v1', 0, vec(0)), point('t1', 'd', 'v1', 1, vec(1))]);
      await store.upsert('t2', [point('t2', 'd', 'v1', 0, vec(0))]);
      const [a, b] = [pointId('t1', 'd', 'v1', 0), pointId('t1', 'd', 'v1', 1)];
      const other = pointId('t2', 'd', 'v1', 0);
      const scroll = jest.spyOn(QdrantClient.prototype, 'scroll');
      const retrieve = jest.spyOn(QdrantClient.prototype, 'retrieve');
      try {
        const chunks = await store.getChunks('t1', [b, other, 'not-a-uuid', a]);
        expect(chunks.map((c) => c.id)).toEqual([b, a]);
        expect(retrieve).not.toHaveBeenCalled();
        expect(scroll).toHaveBeenCalledTimes(1);
        expect(scroll.mock.calls[0]![1]).toMatchObject({
          filter: { must: [{ key: 'tenant_id', match: { value: 't1' } }, { has_id: [b, other, a] }] },
        });
        expect(await store.getChunks('t2', [a, b])).toEqual([]);
        expect(await store.getChunks('t1', ['not-a-uuid'])).toEqual([]);
        expect(scroll).toHaveBeenCalledTimes(2);
      } finally {
        scroll.mockRestore();
        retrieve.mockRestore();
      }
    });

    test('of two live versions of a document, searches and activeVersion see only the later activated one', async () => {
      const name = `groundwork_test_switch_${Date.now()}`;
      collections.push(name);
      const store = new QdrantVectorStore(server.url, undefined, name);
      await store.ensureReady(8);
      await store.upsert('t1', [point('t1', 'd', 'v1', 0, vec(0), 'staged', 'The amber valve.')]);
      await store.activateVersion('t1', 'd', 'v1');
      await store.upsert('t1', [point('t1', 'd', 'v2', 0, vec(0), 'staged', 'The amber valve, revised.')]);
      await store.upsert('t1', [point('t1', 'other', 'v1', 0, vec(1), 'active', 'The amber pump.')]);
      // The middle of a switch, frozen: v2 is live with a later activation number, v1 not yet deleted.
      const v1 = (
        await admin().scroll(name, { filter: { must: [{ key: 'version', match: { value: 'v1' } }] }, limit: 10 })
      ).points.find((p) => p.payload?.document_id === 'd')!;
      const v1Activation = v1.payload![ACTIVATION] as number;
      expect(v1Activation).toBeGreaterThan(0);
      await admin().setPayload(name, {
        payload: { state: 'active', [ACTIVATION]: v1Activation + 1 },
        filter: { must: [{ key: 'version', match: { value: 'v2' } }] },
        wait: true,
      });
      expect(await store.count('t1', { documentId: 'd', state: 'active' })).toBe(2);
      const dense = await store.search('t1', vec(0), { limit: 5 });
      expect(dense.map((h) => [h.payload.documentId, h.payload.version])).toEqual([
        ['d', 'v2'],
        ['other', 'v1'],
      ]);
      const hybrid = await store.search('t1', vec(0), { limit: 5, text: 'amber valve' });
      expect(hybrid.map((h) => [h.payload.documentId, h.payload.version])).toEqual([
        ['d', 'v2'],
        ['other', 'v1'],
      ]);
      expect(hybrid[0]).toMatchObject({ denseRank: 1, lexicalRank: 1 });
      expect(await store.activeVersion('t1', 'd')).toBe('v2');
      // Finishing the switch removes v1 and keeps v2's activation.
      expect(await store.activateVersion('t1', 'd', 'v2')).toEqual({ activated: 0, retired: 1 });
      expect(await store.activeVersion('t1', 'd')).toBe('v2');
    });

    test('supersededVersions names the versions of a document below its latest activation only', () => {
      const seen = (documentId: string, version: string, activation: number) => ({ documentId, version, activation });
      expect(
        supersededVersions([seen('a', 'v1', 5), seen('a', 'v2', 9), seen('a', 'v2', 9), seen('b', 'v1', 1)]),
      ).toEqual([{ documentId: 'a', version: 'v1', below: 9 }]);
      // Never activated (written active directly): no way to tell, nothing is dropped.
      expect(supersededVersions([seen('a', 'v1', 0), seen('a', 'v2', 0)])).toEqual([]);
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
    test('a collection measuring another distance is a non-retryable VECTOR_STORE_MISCONFIGURED', async () => {
      const admin = new QdrantClient({ url: server.url, checkCompatibility: false });
      for (const [i, vectors] of [
        { dense: { size: 8, distance: 'Dot' as const } },
        { size: 8, distance: 'Euclid' as const },
      ].entries()) {
        const name = `groundwork_test_distance_${Date.now()}_${i}`;
        collections.push(name);
        await admin.createCollection(name, { vectors });
        await expect(new QdrantVectorStore(server.url, undefined, name).ensureReady(8)).rejects.toMatchObject({
          code: 'VECTOR_STORE_MISCONFIGURED',
          retryable: false,
        });
        // Refused before touching it: no index was added.
        expect((await admin.getCollection(name)).payload_schema).toEqual({});
      }
    });

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
