import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LanceDbVectorStore } from '../../activities/vectors/lancedb';
import { DIM, describeVectorStoreContract } from './contract';

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
