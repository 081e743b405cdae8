// The isolation fuzz (isolation-fuzz.ts) on LanceDB: 20 tenants, 10,000 randomised queries, 0 cross-tenant results.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LanceDbVectorStore } from '../../activities/vectors/lancedb';
import { DIM } from './contract';
import { FUZZ_QUERIES, FUZZ_TENANTS, runIsolationFuzz } from './isolation-fuzz';

test(`LanceDB: ${FUZZ_QUERIES} randomised queries over ${FUZZ_TENANTS.length} tenants return no other tenant's chunk`, async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-lance-fuzz-'));
  const store = new LanceDbVectorStore(dir);
  try {
    await store.ensureReady(DIM);
    const out = await runIsolationFuzz(store);
    expect(out.queries).toBe(FUZZ_QUERIES);
    expect(out.crossTenant).toBe(0);
    // The fuzz did look at results: most queries returned chunks, which were all checked.
    expect(out.results).toBeGreaterThan(FUZZ_QUERIES);
    expect(Object.keys(out.byKind).sort()).toEqual(['count', 'dense', 'filtered', 'getChunks', 'hybrid', 'version']);
  } finally {
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}, 300_000);

test('the fuzz catches a store that answers one tenant with another tenant’s chunks', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-lance-fuzz-'));
  const store = new LanceDbVectorStore(dir);
  try {
    await store.ensureReady(DIM);
    // A deliberately broken adapter: its fetch by id forgets the tenant (asks as the first tenant).
    const leaky = Object.assign(Object.create(store) as LanceDbVectorStore, {
      getChunks: (_tenant: string, ids: string[]) => store.getChunks(FUZZ_TENANTS[0], ids),
    });
    await expect(runIsolationFuzz(leaky)).rejects.toThrow(/cross-tenant result/);
  } finally {
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
});
