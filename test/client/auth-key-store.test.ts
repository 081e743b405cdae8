// The API key store: keys shown once, stored as scrypt hashes, shared by every process using the same folder.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { KeyStore, parseApiKey } from '../../client/auth/key-store';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..');
let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gw-keys-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('a created key verifies; a wrong secret, another id or garbage does not', async () => {
  const store = new KeyStore(dir);
  const { key, info } = await store.create({ tenant: 'acme', role: 'reviewer', name: 'dana' });
  expect(key).toMatch(/^gw_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  expect(parseApiKey(key)?.keyId).toBe(info.keyId);
  expect(info).toMatchObject({ tenant: 'acme', role: 'reviewer', name: 'dana' });
  expect(await store.verify(key)).toMatchObject({ keyId: info.keyId, tenant: 'acme', role: 'reviewer' });
  // The second check of the same key is served from memory; the result is the same.
  expect(await store.verify(key)).toMatchObject({ keyId: info.keyId });
  const secret = parseApiKey(key)!.secret;
  const wrong = `gw_${info.keyId}_${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
  expect(await store.verify(wrong)).toBeUndefined();
  expect(await store.verify(`gw_${'0'.repeat(16)}_${secret}`)).toBeUndefined();
  expect(await store.verify('gw_')).toBeUndefined();
  expect(await store.verify('')).toBeUndefined();
});

test('only the scrypt hash is on disk, never the key or its secret, in a private file', async () => {
  const store = new KeyStore(dir);
  const { key, info } = await store.create({ tenant: 'acme', role: 'writer' });
  const files = await fs.readdir(dir);
  expect(files).toEqual([`${info.keyId}.json`]);
  const file = path.join(dir, files[0] as string);
  const text = await fs.readFile(file, 'utf8');
  expect(text).not.toContain(parseApiKey(key)!.secret);
  expect(text).not.toContain(key);
  expect(JSON.parse(text).hash).toMatchObject({ algorithm: 'scrypt', N: 16384 });
  expect((await fs.stat(file)).mode & 0o077).toBe(0);
});

test('a revoked key stops verifying at once, also in another store instance that verified it before', async () => {
  const a = new KeyStore(dir);
  const b = new KeyStore(dir);
  const { key, info } = await a.create({ tenant: 'acme', role: 'reader' });
  expect(await b.verify(key)).toBeDefined();
  await a.revoke(info.keyId);
  expect(await b.verify(key)).toBeUndefined();
  expect(await a.verify(key)).toBeUndefined();
  expect(await b.list()).toEqual([]);
  expect(await b.list({ includeRevoked: true })).toEqual([
    expect.objectContaining({ keyId: info.keyId, revokedAt: expect.any(String) }),
  ]);
  await expect(a.revoke('0123456789abcdef')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
});

test('keys are for a tenant, or all tenants for admins only; names and roles are checked', async () => {
  const store = new KeyStore(dir);
  await expect(store.create({ tenant: '*', role: 'admin' })).resolves.toBeDefined();
  await expect(store.create({ tenant: '*', role: 'reader' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  await expect(store.create({ tenant: "a'b", role: 'reader' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  await expect(store.create({ tenant: 'acme', role: 'owner' as 'admin' })).rejects.toMatchObject({
    code: 'INVALID_INPUT',
  });
  await expect(store.create({ tenant: 'acme', role: 'reader', name: 'bad name' })).rejects.toMatchObject({
    code: 'INVALID_INPUT',
  });
  await store.create({ tenant: 'globex', role: 'reader' });
  expect((await store.list({ tenant: 'globex' })).map((k) => k.tenant)).toEqual(['globex']);
  expect(await store.list()).toHaveLength(2);
});

test('two processes share the store: each sees the keys the other creates and revokes', async () => {
  // Another process: creates keys concurrently with this one, then verifies a key this process made.
  const script = (create: number, verify?: string) => `
    const { KeyStore } = require('./client/auth/key-store');
    (async () => {
      const store = new KeyStore(${JSON.stringify(dir)});
      const made = await Promise.all(Array.from({ length: ${create} }, () => store.create({ tenant: 'acme', role: 'reader' })));
      const verified = ${verify ? `await store.verify(${JSON.stringify(verify)})` : 'undefined'};
      process.stdout.write(JSON.stringify({ keys: made.map((m) => m.key), verified: verified !== undefined }));
    })();`;
  const child = (create: number, verify?: string) =>
    run(process.execPath, ['--require', 'tsx/cjs', '-e', script(create, verify)], { cwd: root, timeout: 60_000 }).then(
      (r) => JSON.parse(r.stdout) as { keys: string[]; verified: boolean },
    );

  const store = new KeyStore(dir);
  const [mine, theirs] = await Promise.all([
    Promise.all(Array.from({ length: 4 }, () => store.create({ tenant: 'acme', role: 'writer' }))),
    child(4),
  ]);
  expect(await store.list()).toHaveLength(8);
  for (const key of theirs.keys) expect(await store.verify(key)).toBeDefined();

  const ours = mine[0]!;
  expect((await child(0, ours.key)).verified).toBe(true);
  await store.revoke(ours.info.keyId);
  expect((await child(0, ours.key)).verified).toBe(false);
});
