// The one contract every vector store must meet, run against each available store.
import type { ChunkPayload, VectorPoint, VectorStore } from '../../activities/vectors/types';
import { GroundworkError } from '../../common/errors';
import { pointId } from '../../activities/vectors/ids';

export const DIM = 8;

function unit(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}

/** Axis-aligned vectors with a little of axis 7, so every pair has a distinct, known cosine. */
export function vec(axis: number, tilt = 0.1): number[] {
  return unit(Array.from({ length: DIM }, (_, i) => (i === axis ? 1 : i === DIM - 1 ? tilt : 0)));
}

export function point(
  tenantId: string,
  documentId: string,
  version: string,
  index: number,
  vector: number[],
  state: 'staged' | 'active' = 'active',
): VectorPoint {
  const id = pointId(tenantId, documentId, version, index);
  const payload: ChunkPayload = {
    tenantId,
    documentId,
    version,
    chunkId: id,
    chunkIndex: index,
    text: `text ${documentId} ${index}`,
    locator: `p. ${index + 1}`,
    locatorJson: JSON.stringify({ kind: 'page', page: index + 1 }),
    sourceName: documentId,
    state,
  };
  return { id, vector, payload };
}

export function describeVectorStoreContract(
  name: string,
  make: () => Promise<VectorStore>,
  cleanup: (store: VectorStore) => Promise<void> = async (s) => s.close(),
): void {
  describe(`${name} vector store contract`, () => {
    let store: VectorStore;
    beforeEach(async () => {
      store = await make();
      await store.ensureReady(DIM);
    });
    afterEach(async () => cleanup(store));

    test('upserting the same points twice keeps one copy of each', async () => {
      const pts = [0, 1, 2].map((i) => point('t1', 'doc', 'v1', i, vec(i)));
      await store.upsert('t1', pts);
      await store.upsert('t1', pts);
      expect(await store.count('t1')).toBe(3);
    });

    test("a tenant never sees another tenant's points, even with identical vectors", async () => {
      await store.upsert('alpha', [point('alpha', 'a', 'v1', 0, vec(0))]);
      await store.upsert('beta', [point('beta', 'b', 'v1', 0, vec(0))]);
      const hits = await store.search('beta', vec(0), { limit: 10 });
      expect(hits.map((h) => h.payload.tenantId)).toEqual(['beta']);
      const alphaId = pointId('alpha', 'a', 'v1', 0);
      expect(await store.getChunks('beta', [alphaId])).toEqual([]);
      expect((await store.getChunks('alpha', [alphaId])).map((c) => c.id)).toEqual([alphaId]);
      expect(await store.count('alpha')).toBe(1);
      expect(await store.count('beta', { documentId: 'b', state: 'active' })).toBe(1);
      expect(await store.count('beta', { documentId: 'a' })).toBe(0);
    });

    test('a point whose payload names another tenant is refused and nothing is written', async () => {
      const pts = [point('t1', 'doc', 'v1', 0, vec(0)), point('t2', 'doc', 'v1', 1, vec(1))];
      await expect(store.upsert('t1', pts)).rejects.toMatchObject({ code: 'TENANT_MISMATCH', retryable: false });
      await expect(store.upsert('t1', pts)).rejects.toBeInstanceOf(GroundworkError);
      expect(await store.count('t1')).toBe(0);
      expect(await store.count('t2')).toBe(0);
    });

    test('an invalid tenant id is rejected before any query is built', async () => {
      await store.upsert('t1', [point('t1', 'doc', 'v1', 0, vec(0))]);
      await expect(store.search("a' OR '1'='1", vec(0), { limit: 5 })).rejects.toThrow(/tenant/i);
      await expect(store.count("t1' OR tenant_id <> '")).rejects.toThrow(/tenant/i);
    });

    test('staged points are invisible until their version is activated, which retires the old version', async () => {
      await store.upsert(
        't1',
        [0, 1].map((i) => point('t1', 'doc', 'v1', i, vec(i))),
      );
      await store.activateVersion('t1', 'doc', 'v1');
      await store.upsert(
        't1',
        [0, 1, 2].map((i) => point('t1', 'doc', 'v2', i, vec(i), 'staged')),
      );
      expect((await store.search('t1', vec(2), { limit: 10 })).every((h) => h.payload.version === 'v1')).toBe(true);
      expect(await store.activeVersion('t1', 'doc')).toBe('v1');
      expect(await store.activateVersion('t1', 'doc', 'v2')).toEqual({ activated: 3, retired: 2 });
      expect(await store.activeVersion('t1', 'doc')).toBe('v2');
      expect(await store.count('t1', { documentId: 'doc' })).toBe(3);
      expect(await store.activateVersion('t1', 'doc', 'v2')).toEqual({ activated: 0, retired: 0 });
      // A version with no points at all would retire the live one and leave nothing: refused.
      await expect(store.activateVersion('t1', 'doc', 'v9')).rejects.toMatchObject({ code: 'VERSION_NOT_STAGED' });
      expect(await store.activeVersion('t1', 'doc')).toBe('v2');
    });

    test('discarding staged points leaves the active version untouched', async () => {
      await store.upsert('t1', [point('t1', 'doc', 'v1', 0, vec(0))]);
      await store.activateVersion('t1', 'doc', 'v1');
      await store.upsert(
        't1',
        [0, 1].map((i) => point('t1', 'doc', 'v2', i, vec(i), 'staged')),
      );
      expect(await store.discardStaged('t1', 'doc')).toBe(2);
      expect(await store.count('t1', { documentId: 'doc' })).toBe(1);
      expect(await store.activeVersion('t1', 'doc')).toBe('v1');
    });

    test('deleting a document removes all its versions and states, and nothing of other documents or tenants', async () => {
      await store.upsert('t1', [point('t1', 'doc', 'v1', 0, vec(0)), point('t1', 'keep', 'v1', 0, vec(1))]);
      await store.activateVersion('t1', 'doc', 'v1');
      await store.activateVersion('t1', 'keep', 'v1');
      await store.upsert('t1', [
        point('t1', 'doc', 'v2', 0, vec(2), 'staged'),
        point('t1', 'doc', 'v2', 1, vec(3), 'staged'),
      ]);
      await store.upsert('t2', [point('t2', 'doc', 'v1', 0, vec(0))]);
      expect(await store.deleteDocument('t1', 'doc')).toBe(3);
      expect(await store.count('t1', { documentId: 'doc' })).toBe(0);
      expect(await store.activeVersion('t1', 'doc')).toBeNull();
      expect(await store.count('t1', { documentId: 'keep' })).toBe(1);
      expect(await store.count('t2', { documentId: 'doc' })).toBe(1);
      expect(await store.deleteDocument('t1', 'doc')).toBe(0);
    });

    test("deleting a tenant removes every point of that tenant and none of another's", async () => {
      await store.upsert('t1', [point('t1', 'a', 'v1', 0, vec(0)), point('t1', 'b', 'v1', 0, vec(1), 'staged')]);
      await store.upsert('t2', [point('t2', 'a', 'v1', 0, vec(0))]);
      expect(await store.deleteTenant('t1')).toBe(2);
      expect(await store.count('t1')).toBe(0);
      expect(await store.count('t2')).toBe(1);
      await expect(store.deleteTenant("t1' OR '1'='1")).rejects.toThrow(/tenant/i);
      expect(await store.count('t2')).toBe(1);
    });

    test('search orders by score, honours the limit and the document filter', async () => {
      await store.upsert(
        't1',
        [0, 1, 2, 3].map((i) => point('t1', `d${i}`, 'v1', 0, vec(i))),
      );
      for (const d of ['d0', 'd1', 'd2', 'd3']) await store.activateVersion('t1', d, 'v1');
      const query = unit([1, 0.5, 0, 0, 0, 0, 0, 0.1]);
      const hits = await store.search('t1', query, { limit: 2 });
      expect(hits.map((h) => h.payload.documentId)).toEqual(['d0', 'd1']);
      expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
      const filtered = await store.search('t1', query, { limit: 5, documentIds: ['d2', 'd3'] });
      expect(filtered.map((h) => h.payload.documentId).sort()).toEqual(['d2', 'd3']);
    });
  });
}
