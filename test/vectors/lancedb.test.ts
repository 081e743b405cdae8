import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { LanceDbVectorStore } from '../../activities/vectors/lancedb';
import { DIM, describeVectorStoreContract, point, vec } from './contract';

const dirs = new Map<object, string>();

describeVectorStoreContract(
  'LanceDB',
  async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-lance-'));
    const store = new LanceDbVectorStore(dir);
    dirs.set(store, dir);
    return store;
  },
  async (store) => {
    await store.close();
    await fs.rm(dirs.get(store) as string, { recursive: true, force: true });
  },
);

test('reopening a LanceDB directory with another vector size fails clearly instead of mixing vectors', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-lance-'));
  try {
    const a = new LanceDbVectorStore(dir);
    await a.ensureReady(DIM);
    await a.close();
    await expect(new LanceDbVectorStore(dir).ensureReady(DIM * 2)).rejects.toThrow(/dimensional/);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

describe('LanceDB full-text index', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-lance-'));
  });
  afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

  const textIndexStats = async (): Promise<{ numIndexedRows: number; numUnindexedRows: number } | undefined> => {
    const db = await lancedb.connect(dir);
    const table = await db.openTable('chunks');
    try {
      const index = (await table.listIndices()).find((i) => i.indexType === 'FTS' && i.columns.includes('text'));
      return index && (await table.indexStats(index.name));
    } finally {
      table.close();
      db.close();
    }
  };
  const lexicalOnly = { limit: 10, minScore: 0.9 };

  test('a table created before the index gets it on ensureReady, and its rows are found', async () => {
    const a = new LanceDbVectorStore(dir);
    await a.ensureReady(DIM);
    await a.upsert('t1', [point('t1', 'old', 'v1', 0, vec(1), 'active', 'A legacy tungsten warranty.')]);
    await a.close();
    const db = await lancedb.connect(dir);
    const table = await db.openTable('chunks');
    for (const index of await table.listIndices()) await table.dropIndex(index.name);
    table.close();
    db.close();
    expect(await textIndexStats()).toBeUndefined();

    const b = new LanceDbVectorStore(dir);
    await b.ensureReady(DIM);
    expect(await textIndexStats()).toBeDefined();
    const hits = await b.search('t1', vec(0), { ...lexicalOnly, text: 'tungsten' });
    expect(hits.map((h) => [h.payload.documentId, h.lexicalRank])).toEqual([['old', 1]]);
    // A second ensureReady (another process, or a restart) leaves the one index in place.
    const c = new LanceDbVectorStore(dir);
    await c.ensureReady(DIM);
    await Promise.all([b.close(), c.close()]);
  });

  test('rows written, activated or retired after the index was built are found (or not) like indexed ones', async () => {
    const store = new LanceDbVectorStore(dir);
    await store.ensureReady(DIM);
    await store.upsert('t1', [point('t1', 'indexed', 'v1', 0, vec(1), 'active', 'The cobalt lease renewal.')]);
    await store.optimize();
    expect(await textIndexStats()).toMatchObject({ numIndexedRows: 1, numUnindexedRows: 0 });

    await store.upsert('t1', [point('t1', 'later', 'v1', 0, vec(2), 'active', 'A cobalt shipment arrived.')]);
    await store.upsert('t1', [point('t1', 'indexed', 'v2', 0, vec(3), 'staged', 'The nickel lease renewal.')]);
    expect((await textIndexStats())!.numUnindexedRows).toBeGreaterThan(0);
    const docs = async (text: string): Promise<string[]> =>
      (await store.search('t1', vec(0), { ...lexicalOnly, text }))
        .map((h) => `${h.payload.documentId}@${h.payload.version}`)
        .sort();
    expect(await docs('cobalt')).toEqual(['indexed@v1', 'later@v1']);
    expect(await docs('nickel')).toEqual([]);
    await store.activateVersion('t1', 'indexed', 'v2');
    expect(await docs('cobalt')).toEqual(['later@v1']);
    expect(await docs('nickel lease')).toEqual(['indexed@v2']);
    await store.optimize();
    expect(await textIndexStats()).toMatchObject({ numUnindexedRows: 0 });
    expect(await docs('cobalt')).toEqual(['later@v1']);
    expect(await docs('nickel lease')).toEqual(['indexed@v2']);
    await store.close();
  });

  test('an activation indexes its rows before it returns while optimize is quick, else one queued optimize does', async () => {
    const docs = async (store: LanceDbVectorStore, text: string): Promise<string[]> =>
      (await store.search('t1', vec(0), { ...lexicalOnly, text })).map((h) => h.payload.documentId).sort();
    const quick = new LanceDbVectorStore(dir);
    await quick.ensureReady(DIM);
    await quick.upsert('t1', [point('t1', 'first', 'v1', 0, vec(1), 'staged', 'The zinc invoice is overdue.')]);
    await quick.activateVersion('t1', 'first', 'v1');
    expect(await textIndexStats()).toMatchObject({ numIndexedRows: 1, numUnindexedRows: 0 });
    await quick.close();

    // As on a large table, where every optimize costs seconds: activations do not wait for one.
    const slow = new LanceDbVectorStore(dir, 'chunks', undefined, { inlineOptimizeMs: 0, compactAfterDeleteMs: 300 });
    await slow.ensureReady(DIM);
    for (const doc of ['second', 'third']) {
      await slow.upsert('t1', [point('t1', doc, 'v1', 0, vec(2), 'staged', `The zinc ${doc} reminder.`)]);
      await slow.activateVersion('t1', doc, 'v1');
    }
    expect((await textIndexStats())!.numUnindexedRows).toBeGreaterThan(0);
    // Live at once all the same (the flat scan finds rows the index does not cover yet).
    expect(await docs(slow, 'zinc')).toEqual(['first', 'second', 'third']);
    // The one optimize both activations queued brings the index over them shortly after.
    const deadline = Date.now() + 10_000;
    while ((await textIndexStats())!.numUnindexedRows > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(await textIndexStats()).toMatchObject({ numIndexedRows: 3, numUnindexedRows: 0 });
    expect(await docs(slow, 'zinc')).toEqual(['first', 'second', 'third']);
    await slow.close();
  });

  test('after enough written rows the write queue brings the index up to date by itself', async () => {
    const store = new LanceDbVectorStore(dir, 'chunks', 5);
    await store.ensureReady(DIM);
    await store.upsert(
      't1',
      [0, 1, 2, 3, 4, 5].map((i) => point('t1', 'doc', 'v1', i, vec(i % DIM), 'active', `Copper clause ${i}.`)),
    );
    await store.close(); // waits for the queued optimize
    expect(await textIndexStats()).toMatchObject({ numIndexedRows: 6, numUnindexedRows: 0 });
  });
});
