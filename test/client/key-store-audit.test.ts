// Key creation and revocation are always audited: under the key's tenant (or the reserved name for '*'), with the
// caller as actor, or the key store itself when the caller names none; the secret never reaches the log.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeyStore } from '../../client/auth/key-store';
import { AUDIT_ALL_TENANTS, AuditLog } from '../../common/audit';

let dataDir: string;
beforeEach(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gw-keys-audit-'));
});
afterEach(async () => {
  await fs.rm(dataDir, { recursive: true, force: true });
});

test('create and revoke are recorded with the actor, role and key id, never the secret', async () => {
  const store = KeyStore.forDataDir(dataDir);
  const ops = { kind: 'operator' as const, id: 'ops' };
  const { key, info } = await store.create({ tenant: 'acme', role: 'reviewer', name: 'dana' }, ops);
  await store.revoke(info.keyId, ops);
  await store.revoke(info.keyId, ops); // already revoked: nothing changes, nothing recorded
  const root = await store.create({ tenant: '*', role: 'admin' });

  const acme = await AuditLog.forDataDir(dataDir).query('acme');
  expect(acme.entries.map((e) => [e.action, e.actor, e.target, e.details])).toEqual([
    ['key.create', ops, { kind: 'key', id: info.keyId }, { role: 'reviewer', keyTenant: 'acme', keyName: 'dana' }],
    ['key.revoke', ops, { kind: 'key', id: info.keyId }, { role: 'reviewer', keyTenant: 'acme', keyName: 'dana' }],
  ]);
  const all = await AuditLog.forDataDir(dataDir).query('*');
  expect(all.entries.map((e) => [e.tenantId, e.action, e.actor, e.target?.id])).toEqual([
    ['*', 'key.create', { kind: 'system', id: 'key-store' }, root.info.keyId],
  ]);
  await expect(fs.readdir(path.join(dataDir, 'audit'))).resolves.toEqual(
    expect.arrayContaining(['acme', AUDIT_ALL_TENANTS]),
  );
  const bytes = await fs.readFile(
    path.join(dataDir, 'audit', 'acme', `${new Date().toISOString().slice(0, 7)}.jsonl`),
    'utf8',
  );
  expect(bytes.includes(key.slice('gw_0123456789abcdef_'.length))).toBe(false);
});

test('a key store without an audit log (constructed directly) still works', async () => {
  const store = new KeyStore(path.join(dataDir, 'keys'));
  const { info } = await store.create({ tenant: 'acme', role: 'reader' });
  await store.revoke(info.keyId);
  await expect(fs.stat(path.join(dataDir, 'audit'))).rejects.toMatchObject({ code: 'ENOENT' });
});
