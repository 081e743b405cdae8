// The secret store that keeps PDF passwords out of workflow history: private files written atomically, references
// that cannot name anything outside the folder, scopes, expiry and sweeping.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalObjectStore, scopedStore } from '../../common/object-store';
import {
  DEFAULT_SECRET_TTL_MS,
  ObjectSecretStore,
  SecretStore,
  isSecretRef,
  pdfPasswordScope,
} from '../../common/secrets';

let root: string;
let dir: string;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-secrets-'));
  dir = path.join(root, 'data', 'secrets');
});
afterEach(async () => fs.rm(root, { recursive: true, force: true }));

const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;
const idOf = (ref: string) => ref.slice('secret:'.length);

describe('SecretStore', () => {
  test('put returns a random secret:<id> reference; read returns the value; remove deletes it', async () => {
    const store = new SecretStore(dir);
    const a = await store.put('correct horse');
    const b = await store.put('correct horse');
    expect(a).toMatch(/^secret:[0-9a-f]{32}$/);
    expect(a).not.toBe(b);
    expect(isSecretRef(a)).toBe(true);
    await expect(store.read(a)).resolves.toBe('correct horse');
    await expect(store.remove(a)).resolves.toBe(true);
    await expect(store.remove(a)).resolves.toBe(false);
    await expect(store.read(a)).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND', retryable: false });
    await expect(store.read(b)).resolves.toBe('correct horse');
  });

  test('files are 0600 in a 0700 folder, even when the folder existed with looser permissions', async () => {
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    await fs.chmod(dir, 0o755);
    const store = SecretStore.inDataDir(path.join(root, 'data'));
    expect(store.dir).toBe(dir);
    const ref = await store.put('s3cret');
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(path.join(dir, `${idOf(ref)}.secret`))).toBe(0o600);
  });

  test('writes are atomic: only finished secret files remain, no temp files', async () => {
    const store = new SecretStore(dir);
    const refs = await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(`pw-${i}`)));
    const names = (await fs.readdir(dir)).sort();
    expect(names).toEqual(refs.map((r) => `${idOf(r)}.secret`).sort());
    for (const [i, ref] of refs.entries()) await expect(store.read(ref)).resolves.toBe(`pw-${i}`);
  });

  test.each([
    'secret:../../etc/passwd',
    'secret:../secrets/0123456789abcdef0123456789abcdef',
    '/etc/passwd',
    'secret:0123456789ABCDEF0123456789ABCDEF',
    'secret:0123456789abcdef0123456789abcde',
    'secret:0123456789abcdef0123456789abcdef/',
    'secret:0123456789abcdef0123456789abcdef\n',
    '0123456789abcdef0123456789abcdef',
    '',
  ])('a reference that is not secret:<32 hex> (%j) is refused before touching the disk', async (ref) => {
    const store = new SecretStore(dir);
    expect(isSecretRef(ref)).toBe(false);
    await expect(store.read(ref)).rejects.toMatchObject({ code: 'SECRET_REF_INVALID' });
    await expect(store.remove(ref)).rejects.toMatchObject({ code: 'SECRET_REF_INVALID' });
  });

  test('a scoped secret is found only under its scope', async () => {
    const store = new SecretStore(dir);
    const ref = await store.put('pw', { scope: pdfPasswordScope('acme', 'a.pdf') });
    await expect(store.read(ref, { scope: pdfPasswordScope('acme', 'a.pdf') })).resolves.toBe('pw');
    await expect(store.read(ref, { scope: pdfPasswordScope('globex', 'a.pdf') })).rejects.toMatchObject({
      code: 'SECRET_NOT_FOUND',
    });
    await expect(store.read(ref)).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
    // A refused read leaves the secret for its rightful reader.
    await expect(store.read(ref, { scope: pdfPasswordScope('acme', 'a.pdf') })).resolves.toBe('pw');
  });

  test('an expired secret cannot be read and is deleted on the attempt', async () => {
    let now = 1_000_000;
    const store = new SecretStore(dir, { ttlMs: 60_000, now: () => now });
    const ref = await store.put('pw');
    now += 59_000;
    await expect(store.read(ref)).resolves.toBe('pw');
    now += 2_000;
    await expect(store.read(ref)).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
    expect(await fs.readdir(dir)).toEqual([]);
  });

  test('sweep removes expired secrets and abandoned temp files, and keeps live ones', async () => {
    let now = Date.now();
    const store = new SecretStore(dir, { now: () => now });
    const forgotten = await store.put('forgotten', { ttlMs: 1_000 });
    const live = await store.put('live');
    const tmp = path.join(dir, `.${'a'.repeat(32)}.0badcafe.tmp`);
    await fs.writeFile(tmp, 'half a secret', { mode: 0o600 });
    const stranger = path.join(dir, 'README');
    await fs.writeFile(stranger, 'not ours');
    now += 2 * 3_600_000;
    await expect(store.sweep()).resolves.toBe(2);
    await expect(store.read(forgotten)).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
    await expect(store.read(live)).resolves.toBe('live');
    expect((await fs.readdir(dir)).sort()).toEqual([`${idOf(live)}.secret`, 'README'].sort());
  });

  test('writing sweeps forgotten secrets by itself (at most every few minutes)', async () => {
    let now = Date.now();
    const store = new SecretStore(dir, { now: () => now });
    const forgotten = await store.put('forgotten');
    now += DEFAULT_SECRET_TTL_MS + 60_000;
    await store.put('another');
    expect(await fs.readdir(dir)).not.toContain(`${idOf(forgotten)}.secret`);
  });

  test('sweep of a folder that does not exist yet removes nothing', async () => {
    await expect(new SecretStore(dir).sweep()).resolves.toBe(0);
  });

  test('a symbolic link in place of a secret file is not followed', async () => {
    const store = new SecretStore(dir);
    const ref = await store.put('pw');
    const file = path.join(dir, `${idOf(ref)}.secret`);
    const elsewhere = path.join(root, 'elsewhere.json');
    await fs.writeFile(elsewhere, JSON.stringify({ v: 1, expiresAt: Date.now() + 60_000, value: 'planted' }));
    await fs.rm(file);
    await fs.symlink(elsewhere, file);
    await expect(store.read(ref)).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
    await expect(store.remove(ref)).resolves.toBe(true);
    await expect(fs.readFile(elsewhere, 'utf8')).resolves.toContain('planted');
  });

  test('refuses values that are not strings or are too long', async () => {
    const store = new SecretStore(dir);
    await expect(store.put('x'.repeat(16 * 1024 + 1))).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(store.put(42 as unknown as string)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  test('error messages never contain the secret', async () => {
    const store = new SecretStore(dir, { ttlMs: 1 });
    const ref = await store.put('hunter2-unique');
    await new Promise((r) => setTimeout(r, 5));
    const err = await store.read(ref).catch((e: unknown) => e);
    expect(String((err as Error).message)).not.toContain('hunter2');
  });
});

describe('ObjectSecretStore (the shared bucket; here over a local object store)', () => {
  test('round trip, scope, single use, expiry and sweep', async () => {
    let now = 1_000_000;
    const objects = scopedStore(new LocalObjectStore(root), 'secrets');
    const store = new ObjectSecretStore(objects, { ttlMs: 60_000, now: () => now });
    const scope = pdfPasswordScope('acme', 'minutes.pdf');
    const ref = await store.put('open sesame', { scope });
    await expect(store.read(ref, { scope })).resolves.toBe('open sesame');
    await expect(store.read(ref)).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
    await expect(store.read(ref, { scope: pdfPasswordScope('globex', 'minutes.pdf') })).rejects.toMatchObject({
      code: 'SECRET_NOT_FOUND',
    });
    await expect(store.remove(ref)).resolves.toBe(true);
    await expect(store.read(ref, { scope })).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
    await expect(store.read('secret:../../etc')).rejects.toMatchObject({ code: 'SECRET_REF_INVALID' });

    const old = await store.put('old');
    const fresh = await store.put('fresh', { ttlMs: 10 * 60_000 });
    now += 61_000;
    await expect(store.read(old)).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' }); // expired, and removed
    const later = await store.put('later');
    now += 61_000;
    await expect(store.sweep()).resolves.toBe(1); // `later` expired; `fresh` stays
    await expect(store.read(fresh)).resolves.toBe('fresh');
    await expect(store.read(later)).rejects.toMatchObject({ code: 'SECRET_NOT_FOUND' });
    expect(await objects.list('')).toHaveLength(1);
  });
});
