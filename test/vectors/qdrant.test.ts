// The same contract against a real Qdrant: QDRANT_URL when set, else the Qdrant server binary beside the repository
// (see test/support/qdrant-server.ts), started for this file. Without either, the file is skipped and says so.
import { QdrantClient } from '@qdrant/js-client-rest';
import { QdrantVectorStore } from '../../activities/vectors/qdrant';
import { freePort } from '../../workers/dev-server';
import { QDRANT_BIN, qdrantAvailable, startQdrant } from '../support/qdrant-server';
import type { QdrantServer } from '../support/qdrant-server';
import { describeVectorStoreContract } from './contract';

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
