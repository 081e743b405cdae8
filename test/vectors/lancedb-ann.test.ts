// The LanceDB store past its ANN threshold (lowered here to 1,000 rows): the vector index is built at optimize time,
// searches through it stay inside the tenant and find a stored vector as its own nearest neighbour, the index is
// retrained when the table doubles; and a burst of deletes leads to a compaction that drops the deleted rows.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { LanceDbVectorStore, OPTIMIZE_EVERY } from '../../activities/vectors/lancedb';
import type { VectorPoint } from '../../activities/vectors/types';
import { prng } from '../support/prng';
import { point } from './contract';

const DIM = 32;

/** Random unit vectors around a few centres, as embeddings are. */
function vectors(seed: number, n: number): number[][] {
  const random = prng(seed);
  const centres = Array.from({ length: 8 }, () => Array.from({ length: DIM }, () => random() * 2 - 1));
  return Array.from({ length: n }, (_, i) => {
    const c = centres[i % centres.length]!;
    const v = c.map((x) => x + (random() * 2 - 1) * 0.6);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}

const points = (tenantId: string, documentId: string, vs: number[][], from = 0): VectorPoint[] =>
  vs.map((v, i) => point(tenantId, documentId, 'v1', from + i, v, 'staged'));

async function openTable(dir: string): Promise<{ table: lancedb.Table; done: () => void }> {
  const db = await lancedb.connect(dir);
  const table = await db.openTable('chunks');
  return {
    table,
    done: () => {
      table.close();
      db.close();
    },
  };
}

async function inspect<T>(dir: string, fn: (table: lancedb.Table) => Promise<T>): Promise<T> {
  const { table, done } = await openTable(dir);
  try {
    return await fn(table);
  } finally {
    done();
  }
}

const vectorIndexes = (dir: string): Promise<lancedb.IndexConfig[]> =>
  inspect(dir, async (t) => (await t.listIndices()).filter((i) => i.columns.includes('vector')));

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-lance-ann-'));
});
afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

test('past the row threshold the table gets an ANN index; searches through it stay in the tenant and find stored vectors', async () => {
  const store = new LanceDbVectorStore(dir, 'chunks', OPTIMIZE_EVERY, { vectorIndexRows: 1_000 });
  try {
    await store.ensureReady(DIM);
    const a = vectors(1, 1_500);
    const b = vectors(2, 500);
    for (let i = 0; i < a.length; i += 500) await store.upsert('ta', points('ta', 'doc-a', a.slice(i, i + 500), i));
    await store.upsert('tb', points('tb', 'doc-b', b));
    // Below the threshold nothing is built yet.
    expect(await vectorIndexes(dir)).toEqual([]);
    await store.activateVersion('ta', 'doc-a', 'v1');
    await store.activateVersion('tb', 'doc-b', 'v1');

    const indexes = await vectorIndexes(dir);
    expect(indexes).toHaveLength(1);
    expect(indexes[0]!.indexType).toBe('IvfHnswSq');
    const stats = await inspect(dir, (t) => t.indexStats(indexes[0]!.name));
    expect(stats?.numIndexedRows).toBe(2_000);
    expect(stats?.distanceType).toBe('cosine');
    // The scalar indexes of the filters are there too.
    const columns = (await inspect(dir, (t) => t.listIndices())).flatMap((i) => i.columns);
    expect(columns).toEqual(expect.arrayContaining(['tenant_id', 'state', 'document_id', 'id']));

    // A stored vector is its own nearest neighbour, in its tenant.
    for (const k of [0, 17, 499, 1_234]) {
      const hits = await store.search('ta', a[k]!, { limit: 10 });
      expect(hits).toHaveLength(10);
      expect(hits[0]!.payload.chunkIndex).toBe(k);
      expect(hits[0]!.score).toBeCloseTo(1, 3);
      expect(hits.every((h) => h.payload.tenantId === 'ta')).toBe(true);
    }
    // Tenant b's search with tenant a's vectors (its own rows are near, but in another tenant) returns b's rows only.
    for (const k of [0, 3, 999]) {
      const hits = await store.search('tb', a[k]!, { limit: 10 });
      expect(hits).toHaveLength(10);
      expect(hits.every((h) => h.payload.tenantId === 'tb' && h.payload.documentId === 'doc-b')).toBe(true);
    }
    const own = await store.search('tb', b[42]!, { limit: 3 });
    expect(own[0]!.payload.chunkIndex).toBe(42);

    // Deep searches through the index: the graph's candidate list grows to what the re-ranking needs (limit x refine
    // factor) instead of failing. A hybrid search asks the dense side for at least 20, an answer for up to 60.
    const deep = await store.search('ta', a[99]!, { limit: 60 });
    expect(deep).toHaveLength(60);
    expect(deep[0]!.payload.chunkIndex).toBe(99);
    const hybrid = await store.search('ta', a[5]!, { limit: 10, text: 'text doc-a 5' });
    expect(hybrid.length).toBeGreaterThan(0);
    expect(hybrid.every((h) => h.payload.tenantId === 'ta')).toBe(true);

    // Rows written after the build are found before any index covers them (flat scan of unindexed rows).
    const late = vectors(3, 1);
    await store.upsert('ta', [point('ta', 'doc-late', 'v1', 0, late[0]!, 'active')]);
    const found = await store.search('ta', late[0]!, { limit: 1 });
    expect(found[0]!.payload.documentId).toBe('doc-late');

    // Twice the rows it was trained on: the index is trained again, and the old one dropped.
    const more = vectors(4, 2_000);
    for (let i = 0; i < more.length; i += 500)
      await store.upsert('ta', points('ta', 'doc-more', more.slice(i, i + 500), i));
    await store.activateVersion('ta', 'doc-more', 'v1');
    const retrained = await vectorIndexes(dir);
    expect(retrained).toHaveLength(1);
    expect(retrained[0]!.name).not.toBe(indexes[0]!.name);
    expect((await inspect(dir, (t) => t.indexStats(retrained[0]!.name)))?.numIndexedRows).toBe(4_001);
    const again = await store.search('ta', more[7]!, { limit: 5 });
    expect(again[0]!.payload).toMatchObject({ documentId: 'doc-more', chunkIndex: 7 });
  } finally {
    await store.close();
  }
});

test('the ANN index is not built below the threshold', async () => {
  const store = new LanceDbVectorStore(dir, 'chunks', OPTIMIZE_EVERY, { vectorIndexRows: 5_000 });
  try {
    await store.ensureReady(DIM);
    await store.upsert('ta', points('ta', 'doc-a', vectors(1, 600)));
    await store.activateVersion('ta', 'doc-a', 'v1');
    expect(await vectorIndexes(dir)).toEqual([]);
    const hits = await store.search('ta', vectors(1, 600)[5]!, { limit: 1 });
    expect(hits[0]!.payload.chunkIndex).toBe(5);
  } finally {
    await store.close();
  }
});

test('a burst of deletes leads to a compaction that rewrites the fragments without the deleted rows', async () => {
  const store = new LanceDbVectorStore(dir, 'chunks', OPTIMIZE_EVERY, { compactAfterDeleteMs: 50, keepVersionsMs: 0 });
  const footprint = (): Promise<{ bytes: number; rows: number }> =>
    inspect(dir, async (t) => {
      const stats = await t.stats();
      return { bytes: stats.totalBytes, rows: stats.numRows };
    });
  try {
    await store.ensureReady(DIM);
    for (const doc of ['d1', 'd2', 'd3', 'd4']) {
      await store.upsert('ta', points('ta', doc, vectors(doc.charCodeAt(1), 300)));
      await store.activateVersion('ta', doc, 'v1');
    }
    await store.upsert('tb', points('tb', 'd1', vectors(9, 300)));
    await store.activateVersion('tb', 'd1', 'v1');
    const before = await footprint();
    expect(before.rows).toBe(1_500);

    // A burst of deletes.
    expect(await store.deleteDocument('ta', 'd1')).toBe(300);
    expect(await store.deleteDocument('ta', 'd2')).toBe(300);
    expect(await store.deleteTenant('tb')).toBe(300);
    const deadline = Date.now() + 20_000;
    let after = await footprint().catch(() => before);
    while (after.bytes >= before.bytes && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      // Reading while the cleanup removes old versions can meet a manifest that was just deleted: look again.
      after = await footprint().catch(() => after);
    }
    // The compaction rewrote the fragments without the deleted rows (without it the bytes stay).
    expect(after.rows).toBe(600);
    expect(after.bytes).toBeLessThan(before.bytes);
    // What is left is intact and still tenant-scoped.
    expect(await store.count('ta')).toBe(600);
    expect(await store.count('tb')).toBe(0);
    const hits = await store.search('ta', vectors('3'.charCodeAt(0), 300)[10]!, { limit: 1 });
    expect(hits[0]!.payload).toMatchObject({ documentId: 'd3', chunkIndex: 10 });
  } finally {
    await store.close();
  }
});

test('a narrow tenant (under a tenth of the rows) is searched past the partition bound; a wide one within it', async () => {
  // A bound of 2 partitions of about 7: the narrow tenant's rows sit near one centre, and the query points away from
  // it, so the partitions nearest the query hold none of them.
  const store = new LanceDbVectorStore(dir, 'chunks', OPTIMIZE_EVERY, {
    vectorIndexRows: 1_000,
    search: { nprobes: 1, maxNprobes: 2 },
  });
  try {
    await store.ensureReady(DIM);
    const wide = vectors(1, 3_000);
    for (let i = 0; i < wide.length; i += 1_000)
      await store.upsert('wide', points('wide', 'doc-w', wide.slice(i, i + 1_000), i));
    const random = prng(5);
    const centre = Array.from({ length: DIM }, () => random() * 2 - 1);
    const narrow = Array.from({ length: 20 }, () => {
      const v = centre.map((x) => x + (random() * 2 - 1) * 0.1);
      const norm = Math.hypot(...v);
      return v.map((x) => x / norm);
    });
    await store.upsert('narrow', points('narrow', 'doc-n', narrow));
    await store.activateVersion('wide', 'doc-w', 'v1');
    await store.activateVersion('narrow', 'doc-n', 'v1');
    expect(await vectorIndexes(dir)).toHaveLength(1);

    const away = centre.map((x) => -x);
    // All 20 of its rows, though none is near the query.
    expect(await store.search('narrow', away, { limit: 20 })).toHaveLength(20);
    // The wide tenant still gets its full limit, and its own nearest row first.
    const hits = await store.search('wide', wide[123]!, { limit: 10 });
    expect(hits).toHaveLength(10);
    expect(hits[0]!.payload.chunkIndex).toBe(123);
    expect(hits.every((h) => h.payload.tenantId === 'wide')).toBe(true);
  } finally {
    await store.close();
  }
});
