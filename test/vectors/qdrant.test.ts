// The same contract against a real Qdrant, wherever one is reachable (QDRANT_URL, or localhost:6333).
import { spawnSync } from 'node:child_process';
import { QdrantClient } from '@qdrant/js-client-rest';
import { QdrantVectorStore } from '../../activities/vectors/qdrant';
import { describeVectorStoreContract } from './contract';

const url = process.env.QDRANT_URL ?? 'http://127.0.0.1:6333';
const probe = spawnSync(
  process.execPath,
  ['-e', `fetch(new URL('/readyz', ${JSON.stringify(url)}), { signal: AbortSignal.timeout(1500) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`],
  { timeout: 3000 },
);
const reachable = probe.status === 0;
const collections: string[] = [];

if (!reachable) {
  console.log(`[qdrant contract] skipped: no Qdrant reachable at ${url} (set QDRANT_URL)`);
  describe.skip('Qdrant vector store contract', () => {
    test('needs a reachable Qdrant', () => undefined);
  });
} else {
  describeVectorStoreContract(
    'Qdrant',
    async () => {
      const name = `groundwork_test_${Date.now()}_${collections.length}`;
      collections.push(name);
      return new QdrantVectorStore(url, process.env.QDRANT_API_KEY, name);
    },
    async () => {
      const client = new QdrantClient({ url, apiKey: process.env.QDRANT_API_KEY, checkCompatibility: false });
      for (const c of collections.splice(0)) await client.deleteCollection(c).catch(() => undefined);
    },
  );
}
