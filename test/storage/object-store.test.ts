// One contract for every object store, run against LocalObjectStore (a temp folder) and S3ObjectStore against a real
// MinIO server (built with `go install` into .tools/ on first use; without Go that half is skipped and says so).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LocalObjectStore, scopedStore } from '../../common/object-store';
import type { ObjectStore } from '../../common/object-store';
import { S3ObjectStore } from '../../common/s3-object-store';
import { freePort } from '../../workers/dev-server';
import { startMinio } from '../../workers/minio';
import { MINIO_START_TIMEOUT_MS, minioUnavailableReason, startTestMinio } from '../support/minio-server';
import type { MinioServer } from '../support/minio-server';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'groundwork-object-store-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const tempFile = (bytes: Uint8Array): string => {
  const file = path.join(scratch, `upload-${randomBytes(6).toString('hex')}`);
  writeFileSync(file, bytes);
  return file;
};

/** Runs `work` over `items` with at most `width` at a time. */
async function inBatches<T>(items: T[], width: number, work: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(work));
}

function describeObjectStoreContract(name: string, makeStore: () => Promise<ObjectStore>): void {
  describe(`${name} object store contract`, () => {
    let store: ObjectStore;
    beforeEach(async () => {
      store = await makeStore();
    });

    test('returns the exact bytes it was given, binary and text alike', async () => {
      const binary = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(70_000)]);
      await store.put('docs/blob.bin', binary);
      await store.put('docs/text.json', '{"naïve":"café ✓"}');
      await store.put('docs/empty', new Uint8Array(0));
      expect((await store.get('docs/blob.bin'))?.equals(binary)).toBe(true);
      expect((await store.get('docs/text.json'))?.toString('utf8')).toBe('{"naïve":"café ✓"}');
      expect((await store.get('docs/empty'))?.length).toBe(0);
    });

    test('an overwrite replaces the whole object', async () => {
      await store.put('k/v', 'a much longer first version');
      await store.put('k/v', 'short');
      expect((await store.get('k/v'))?.toString()).toBe('short');
    });

    test('a missing object is undefined, also where a key is a folder of others', async () => {
      expect(await store.get('nothing/here')).toBeUndefined();
      await store.put('folder/child', 'x');
      expect(await store.get('folder')).toBeUndefined();
      expect(await store.get('folder/child/deeper')).toBeUndefined();
      expect(await store.get('nothing/here', { maxBytes: 10 })).toBeUndefined();
    });

    test('refuses an object over maxBytes with FILE_TOO_LARGE and returns one at the limit', async () => {
      const bytes = randomBytes(100);
      await store.put('sized/obj', bytes);
      await expect(store.get('sized/obj', { maxBytes: 99 })).rejects.toMatchObject({
        code: 'FILE_TOO_LARGE',
        retryable: false,
      });
      expect((await store.get('sized/obj', { maxBytes: 100 }))?.equals(bytes)).toBe(true);
    });

    test('putFile stores the file and consumes it', async () => {
      const bytes = randomBytes(1_500_000);
      const file = tempFile(bytes);
      await store.putFile('uploads/big.pdf', file);
      expect(existsSync(file)).toBe(false);
      expect((await store.get('uploads/big.pdf'))?.equals(bytes)).toBe(true);
    });

    test('keys may use every segment character the interface allows', async () => {
      const key = "t%2F1/a@b+c=d,e:f!g*h'i(j)k~l.m_n-o";
      await store.put(key, 'odd');
      expect((await store.get(key))?.toString()).toBe('odd');
      expect(await store.list('t%2F1')).toEqual([key]);
    });

    test('lists every key below a folder at any depth, in order, and nothing beside it', async () => {
      for (const key of ['a/b/2', 'a/b/1', 'a/b/c/3', 'a/bc/x', 'a/b.txt', 'ab/y', 'z']) await store.put(key, key);
      expect(await store.list('a/b')).toEqual(['a/b/1', 'a/b/2', 'a/b/c/3']);
      expect(await store.list('a')).toEqual(['a/b.txt', 'a/b/1', 'a/b/2', 'a/b/c/3', 'a/bc/x']);
      expect(await store.list('a/b/c')).toEqual(['a/b/c/3']);
      expect(await store.list('a/b/1')).toEqual([]); // an object is not a folder
      expect(await store.list('missing')).toEqual([]);
    });

    test('deletePrefix deletes a folder, counts what it deleted and leaves its neighbours', async () => {
      for (const key of ['a/b/1', 'a/b/c/2', 'a/bc/x', 'a/b.txt']) await store.put(key, key);
      expect(await store.deletePrefix('a/b')).toBe(2);
      expect(await store.list('a')).toEqual(['a/b.txt', 'a/bc/x']);
      expect(await store.get('a/b/1')).toBeUndefined();
      expect(await store.deletePrefix('a/b')).toBe(0);
      expect(await store.deletePrefix('never')).toBe(0);
      // A prefix is a folder: an object with that very key is not below it.
      expect(await store.deletePrefix('a/b.txt')).toBe(0);
      expect((await store.get('a/b.txt'))?.toString()).toBe('a/b.txt');
    });

    test('lists and deletes more keys than one S3 page or batch (1000)', async () => {
      const keys = Array.from({ length: 1003 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
      await inBatches(keys, 25, (k) => store.put(k, 'x'));
      expect(await store.list('many')).toEqual(keys);
      expect(await store.deletePrefix('many')).toBe(1003);
      expect(await store.list('many')).toEqual([]);
    }, 120_000);

    test('delete says whether there was something to delete', async () => {
      await store.put('d/one', '1');
      expect(await store.delete('d/one')).toBe(true);
      expect(await store.get('d/one')).toBeUndefined();
      expect(await store.delete('d/one')).toBe(false);
      expect(await store.delete('d/never')).toBe(false);
    });

    test.each(['../x', 'a/../../x', 'a//b', '', '/a', 'a/', './a', 'a/./b', 'a\\b', 'a b'])(
      'refuses the key %j with OBJECT_KEY_INVALID in every operation',
      async (key) => {
        const invalid = { code: 'OBJECT_KEY_INVALID', retryable: false };
        await expect(store.get(key)).rejects.toMatchObject(invalid);
        await expect(store.put(key, 'x')).rejects.toMatchObject(invalid);
        await expect(store.putFile(key, tempFile(Buffer.from('x')))).rejects.toMatchObject(invalid);
        await expect(store.delete(key)).rejects.toMatchObject(invalid);
        await expect(store.list(key)).rejects.toMatchObject(invalid);
        await expect(store.deletePrefix(key)).rejects.toMatchObject(invalid);
      },
    );

    test('a scoped view keeps its keys below its prefix and sees nothing of a neighbour', async () => {
      const t1 = scopedStore(store, 't1');
      const t10 = scopedStore(store, 't10');
      await t1.put('docs/a', 'one');
      await t1.putFile('docs/b', tempFile(Buffer.from('two')));
      await t10.put('docs/a', 'ten');
      expect((await store.get('t1/docs/a'))?.toString()).toBe('one');
      expect((await t1.get('docs/b'))?.toString()).toBe('two');
      expect(await t1.list('docs')).toEqual(['docs/a', 'docs/b']);
      expect(await t10.list('docs')).toEqual(['docs/a']);
      expect(await store.list('t1')).toEqual(['t1/docs/a', 't1/docs/b']);
      expect(await t1.delete('docs/a')).toBe(true);
      expect(await t1.deletePrefix('docs')).toBe(1);
      expect((await t10.get('docs/a'))?.toString()).toBe('ten');
      expect(t1.description).toBe(`${store.description}/t1`);
      expect(() => scopedStore(store, '../t2')).toThrow(expect.objectContaining({ code: 'OBJECT_KEY_INVALID' }));
    });
  });
}

describeObjectStoreContract(
  'LocalObjectStore',
  async () => new LocalObjectStore(mkdtempSync(path.join(scratch, 'local-'))),
);

const skipReason = minioUnavailableReason();
if (skipReason) {
  console.warn(`[s3 object store] skipped: ${skipReason}`);
  describe.skip('S3ObjectStore against MinIO', () => {
    test('needs a MinIO server', () => undefined);
  });
} else {
  describe('S3ObjectStore against MinIO', () => {
    let server: MinioServer;
    const bucket = 'groundwork-test';
    const stores: S3ObjectStore[] = [];
    const s3 = (options: Partial<ConstructorParameters<typeof S3ObjectStore>[0]> = {}): S3ObjectStore => {
      const store = new S3ObjectStore({
        endpoint: server.endpoint,
        accessKeyId: server.accessKeyId,
        secretAccessKey: server.secretAccessKey,
        bucket,
        ...options,
      });
      stores.push(store);
      return store;
    };
    beforeAll(async () => {
      const started = await startTestMinio();
      if (!started) throw new Error('MinIO was available when this file loaded and is not now.');
      server = started;
      await s3().ensureBucket();
    }, MINIO_START_TIMEOUT_MS);
    afterAll(async () => {
      for (const store of stores) store.close();
      await server?.stop();
    });

    describeObjectStoreContract('S3ObjectStore (MinIO)', async () =>
      s3({ prefix: `run-${randomBytes(6).toString('hex')}` }),
    );

    test('its description names the bucket and prefix, never the endpoint or a credential', () => {
      const store = s3({ prefix: 'p/q' });
      expect(store.description).toBe(`s3 bucket ${bucket}/p/q`);
      expect(s3().description).toBe(`s3 bucket ${bucket}`);
      for (const secret of [server.accessKeyId, server.secretAccessKey, server.endpoint])
        expect(store.description).not.toContain(secret);
      expect(() => s3({ prefix: 'a//b' })).toThrow(expect.objectContaining({ code: 'OBJECT_KEY_INVALID' }));
    });

    test('keys below a prefix are stored under it in the bucket, and listed without it', async () => {
      const prefix = `pre-${randomBytes(4).toString('hex')}`;
      await s3({ prefix }).put('x/y', 'v');
      expect(await s3().list(prefix)).toEqual([`${prefix}/x/y`]);
      expect(await s3({ prefix }).list('x')).toEqual(['x/y']);
    });

    test('ensureBucket creates a missing bucket and leaves an existing one as it is', async () => {
      const other = s3({ bucket: `groundwork-new-${randomBytes(4).toString('hex')}` });
      await expect(other.put('k', 'v')).rejects.toMatchObject({ code: 'OBJECT_STORE_MISCONFIGURED' });
      await other.ensureBucket();
      await other.put('k', 'v');
      await other.ensureBucket();
      expect((await other.get('k'))?.toString()).toBe('v');
    });

    test('a missing bucket is a non-retryable OBJECT_STORE_MISCONFIGURED in every operation', async () => {
      const store = s3({ bucket: 'groundwork-no-such-bucket' });
      const misconfigured = { code: 'OBJECT_STORE_MISCONFIGURED', retryable: false };
      await expect(store.get('k')).rejects.toMatchObject(misconfigured);
      await expect(store.put('k', 'v')).rejects.toMatchObject(misconfigured);
      await expect(store.putFile('k', tempFile(Buffer.from('v')))).rejects.toMatchObject(misconfigured);
      await expect(store.delete('k')).rejects.toMatchObject(misconfigured);
      await expect(store.list('k')).rejects.toMatchObject(misconfigured);
      await expect(store.deletePrefix('k')).rejects.toMatchObject(misconfigured);
      await expect(store.get('k')).rejects.toThrow(/does not exist/);
    });

    test('refused credentials are a non-retryable OBJECT_STORE_MISCONFIGURED that names no secret', async () => {
      const wrongSecret = `wrong-${randomBytes(12).toString('hex')}`;
      for (const store of [
        s3({ secretAccessKey: wrongSecret }),
        s3({ accessKeyId: `nobody${randomBytes(4).toString('hex')}`, secretAccessKey: wrongSecret }),
      ]) {
        const err = await store.get('k').then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toMatchObject({ code: 'OBJECT_STORE_MISCONFIGURED', retryable: false });
        const message = (err as Error).message;
        for (const secret of [wrongSecret, server.secretAccessKey, server.accessKeyId, server.endpoint])
          expect(message).not.toContain(secret);
        await expect(store.put('k', 'v')).rejects.toMatchObject({ code: 'OBJECT_STORE_MISCONFIGURED' });
        await expect(store.list('k')).rejects.toMatchObject({ code: 'OBJECT_STORE_MISCONFIGURED' });
      }
    });

    test('a stopped server is a retryable OBJECT_STORE_UNAVAILABLE, quickly', async () => {
      const other = await startMinio();
      try {
        const store = new S3ObjectStore({
          endpoint: other.endpoint,
          accessKeyId: other.accessKeyId,
          secretAccessKey: other.secretAccessKey,
          bucket,
          maxAttempts: 1,
          connectionTimeoutMs: 500,
          socketTimeoutMs: 500,
        });
        stores.push(store);
        await store.ensureBucket();
        await store.put('k', 'v');
        await other.stop();
        const started = Date.now();
        for (const op of [
          () => store.get('k'),
          () => store.put('k', 'v'),
          () => store.list('k'),
          () => store.delete('k'),
        ])
          await expect(op()).rejects.toMatchObject({ code: 'OBJECT_STORE_UNAVAILABLE', retryable: true });
        expect(Date.now() - started).toBeLessThan(10_000);
      } finally {
        await other.stop();
      }
    }, 60_000);

    test('a server that accepts connections and never answers is a retryable OBJECT_STORE_UNAVAILABLE', async () => {
      const sockets = new Set<net.Socket>();
      const silent = net.createServer((socket) => sockets.add(socket));
      const port = await freePort();
      await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
      try {
        const store = new S3ObjectStore({
          endpoint: `http://127.0.0.1:${port}`,
          accessKeyId: 'k',
          secretAccessKey: 's',
          bucket,
          maxAttempts: 1,
          connectionTimeoutMs: 500,
          socketTimeoutMs: 300,
        });
        stores.push(store);
        await expect(store.get('k')).rejects.toMatchObject({ code: 'OBJECT_STORE_UNAVAILABLE', retryable: true });
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });
  });
}

// A GetObject answer without a Content-Length (chunked) cannot be refused up front: the store must stop reading one
// byte past the limit instead of buffering the whole object. An HTTP server stands in for S3 here, because MinIO
// always sends the length.
test('S3ObjectStore stops reading an object of unknown length one chunk past maxBytes', async () => {
  let written = 0;
  let closedEarly = false;
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' }); // no content-length: chunked
    const chunk = Buffer.alloc(64 * 1024, 1);
    const pump = (): void => {
      while (written < 64 * 1024 * 1024) {
        written += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    res.on('close', () => {
      closedEarly = written < 64 * 1024 * 1024 || !res.writableFinished;
    });
    pump();
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const store = new S3ObjectStore({
    endpoint: `http://127.0.0.1:${port}`,
    accessKeyId: 'k',
    secretAccessKey: 's',
    bucket: 'b',
    maxAttempts: 1,
  });
  try {
    await expect(store.get('big', { maxBytes: 100_000 })).rejects.toMatchObject({ code: 'FILE_TOO_LARGE' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closedEarly).toBe(true);
    expect(written).toBeLessThan(16 * 1024 * 1024);
  } finally {
    store.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
