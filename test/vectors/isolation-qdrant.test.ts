// The isolation fuzz (isolation-fuzz.ts) on a real Qdrant: QDRANT_URL when set, else the Qdrant server binary beside
// the repository (see test/support/qdrant-server.ts). Without either, the file is skipped and says so.
import { QdrantClient } from '@qdrant/js-client-rest';
import { QdrantVectorStore } from '../../activities/vectors/qdrant';
import { QDRANT_BIN, qdrantAvailable, startQdrant } from '../support/qdrant-server';
import { DIM } from './contract';
import { FUZZ_QUERIES, FUZZ_TENANTS, runIsolationFuzz } from './isolation-fuzz';

if (!qdrantAvailable()) {
  console.log(`[qdrant isolation fuzz] skipped: QDRANT_URL is not set and there is no Qdrant binary at ${QDRANT_BIN}`);
  describe.skip('Qdrant isolation fuzz', () => {
    test('needs a Qdrant', () => undefined);
  });
} else {
  test(`Qdrant: ${FUZZ_QUERIES} randomised queries over ${FUZZ_TENANTS.length} tenants return no other tenant's chunk`, async () => {
    const server = await startQdrant();
    const collection = `groundwork_fuzz_${Date.now()}`;
    const store = new QdrantVectorStore(server.url, process.env.QDRANT_API_KEY, collection);
    try {
      await store.ensureReady(DIM);
      const out = await runIsolationFuzz(store);
      expect(out.queries).toBe(FUZZ_QUERIES);
      expect(out.crossTenant).toBe(0);
      expect(out.results).toBeGreaterThan(FUZZ_QUERIES);
      expect(Object.keys(out.byKind).sort()).toEqual(['count', 'dense', 'filtered', 'getChunks', 'hybrid', 'version']);
    } finally {
      await store.close();
      await new QdrantClient({ url: server.url, apiKey: process.env.QDRANT_API_KEY, checkCompatibility: false })
        .deleteCollection(collection)
        .catch(() => undefined);
      await server.stop();
    }
  }, 300_000);
}
