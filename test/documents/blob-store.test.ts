// The content-addressed blob store on a real temp folder: addressing, dedupe, the size limit, tenant separation and
// references that try to leave the store.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { LocalBlobStore, blobRef, isBlobRef, parseBlobRef } from '../../common/blob-store';

let dir: string;
let store: LocalBlobStore;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-blobs-'));
  store = new LocalBlobStore(dir);
});
afterEach(async () => fs.rm(dir, { recursive: true, force: true }));

/** A body arriving in several chunks, as a request body does. */
async function* body(...parts: (string | Uint8Array)[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p) : p;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const filesIn = async (d: string) => (await fs.readdir(d).catch(() => [] as string[])).sort();

test('stores a streamed body under the SHA-256 of its bytes and reads it back', async () => {
  const stored = await store.put('acme', body('hello ', 'world'), { maxBytes: 100 });
  expect(stored).toEqual({ ref: `blob:acme/${sha256('hello world')}`, sha256: sha256('hello world'), bytes: 11 });
  expect(Buffer.from(await store.read(stored.ref, { maxBytes: 100 })).toString()).toBe('hello world');
  expect(await filesIn(path.join(dir, 'acme'))).toEqual([sha256('hello world')]);
});

test('the same bytes stored twice are one blob with one reference', async () => {
  const a = await store.put('acme', body('same bytes'), { maxBytes: 100 });
  const b = await store.put('acme', body('same ', 'bytes'), { maxBytes: 100 });
  expect(b.ref).toBe(a.ref);
  expect(await filesIn(path.join(dir, 'acme'))).toEqual([a.sha256]);
});

test('refuses a body past the limit with FILE_TOO_LARGE and leaves nothing behind', async () => {
  await expect(store.put('acme', body('12345', '67890', 'x'), { maxBytes: 10 })).rejects.toMatchObject({
    code: 'FILE_TOO_LARGE',
    retryable: false,
  });
  expect(await filesIn(path.join(dir, 'acme'))).toEqual([]);
  // Exactly at the limit is fine.
  await expect(store.put('acme', body('1234567890'), { maxBytes: 10 })).resolves.toMatchObject({ bytes: 10 });
});

test('reads are bounded: a blob larger than the reader allows is FILE_TOO_LARGE', async () => {
  const stored = await store.put('acme', body('x'.repeat(1000)), { maxBytes: 5000 });
  await expect(store.read(stored.ref, { maxBytes: 999 })).rejects.toMatchObject({ code: 'FILE_TOO_LARGE' });
  expect((await store.read(stored.ref, { maxBytes: 1000 })).byteLength).toBe(1000);
});

test("tenants are separate: the same bytes are two blobs, and a tenant cannot read another tenant's reference", async () => {
  const a = await store.put('acme', body('shared text'), { maxBytes: 100 });
  const g = await store.put('globex', body('shared text'), { maxBytes: 100 });
  expect(a.ref).not.toBe(g.ref);
  await expect(store.read(g.ref, { maxBytes: 100, tenantId: 'acme' })).rejects.toMatchObject({
    code: 'BLOB_TENANT_MISMATCH',
  });
  expect(await store.deleteTenant('acme')).toBe(1);
  await expect(store.read(a.ref, { maxBytes: 100 })).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
  expect(Buffer.from(await store.read(g.ref, { maxBytes: 100, tenantId: 'globex' })).toString()).toBe('shared text');
});

test('references that could leave the store or name no blob are refused before the file system is touched', () => {
  const hex = 'a'.repeat(64);
  for (const ref of [
    `blob:../${hex}`,
    `blob:acme/../../etc/passwd`,
    `blob:acme/${hex}/..`,
    `blob:acme/${'A'.repeat(64)}`,
    `blob:acme/${hex.slice(1)}`,
    `blob:.hidden/${hex}`,
    `blob:acme/sub/${hex}`,
    `blob:/etc/${hex}`,
    `file:acme/${hex}`,
    `blob:acme\\..\\${hex}`,
  ]) {
    expect(isBlobRef(ref)).toBe(false);
    expect(() => parseBlobRef(ref)).toThrow(expect.objectContaining({ code: 'BLOB_INVALID_REF' }));
  }
  expect(parseBlobRef(blobRef('acme', hex), 'acme')).toEqual({ tenantId: 'acme', sha256: hex });
});

test('invalid references are refused by read and delete too', async () => {
  await expect(store.read('blob:../x', { maxBytes: 10 })).rejects.toMatchObject({ code: 'BLOB_INVALID_REF' });
  await expect(store.delete(`blob:acme/../../${'a'.repeat(64)}`)).rejects.toMatchObject({ code: 'BLOB_INVALID_REF' });
  await expect(store.put('../acme', body('x'), { maxBytes: 10 })).rejects.toMatchObject({ code: 'INVALID_TENANT' });
});

test('delete removes one blob and says whether it existed; deleteTenant counts what it removed', async () => {
  const a = await store.put('acme', body('one'), { maxBytes: 10 });
  await store.put('acme', body('two'), { maxBytes: 10 });
  expect(await store.delete(a.ref)).toBe(true);
  expect(await store.delete(a.ref)).toBe(false);
  expect(await store.deleteTenant('acme')).toBe(1);
  expect(await store.deleteTenant('acme')).toBe(0);
});

test('a failing body stream leaves no partial upload', async () => {
  async function* broken(): AsyncIterable<Uint8Array> {
    yield Buffer.from('partial');
    throw new Error('connection reset');
  }
  await expect(store.put('acme', broken(), { maxBytes: 100 })).rejects.toThrow('connection reset');
  expect(await filesIn(path.join(dir, 'acme'))).toEqual([]);
});
