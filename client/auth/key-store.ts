// API keys: `gw_<keyId>_<secret>`, shown once at creation and stored only as a scrypt hash, one file per key under
// <dataDir>/keys/. Files are written to a temporary name and renamed, and read fresh on every check, so several
// processes (CLI, HTTP API replicas) share the store and see creations and revocations at once.
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AuditLog } from '../../common/audit';
import type { AuditActor } from '../../common/audit';
import { GroundworkError } from '../../common/errors';
import { TENANT_ID_PATTERN } from '../../common/ids';
import { ALL_TENANTS, roleSchema } from './roles';
import type { Principal, Role } from './roles';

const KEY_PATTERN = /^gw_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const KEY_ID_PATTERN = /^[0-9a-f]{16}$/;
export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

/** scrypt cost: 16 MiB and tens of milliseconds per check; verified keys are remembered (see KeyStore.verify). */
const SCRYPT = { N: 16384, r: 8, p: 1, keyLength: 32 };

const recordSchema = z.object({
  keyId: z.string().regex(KEY_ID_PATTERN),
  tenant: z.string(),
  role: roleSchema,
  name: z.string().optional(),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
  hash: z.object({
    algorithm: z.literal('scrypt'),
    // Bounded, so a damaged or hostile record cannot make a check take unbounded memory or time.
    N: z
      .number()
      .int()
      .min(2)
      .max(1 << 20),
    r: z.number().int().min(1).max(32),
    p: z.number().int().min(1).max(16),
    salt: z.string(),
    digest: z.string(),
  }),
});
type KeyRecord = z.infer<typeof recordSchema>;

/** What may be shown about a key: everything but its hash. */
export type ApiKeyInfo = Omit<KeyRecord, 'hash'>;

export class KeyStoreError extends GroundworkError {
  override readonly name = 'KeyStoreError';
}

/** Splits a presented key into id and secret; undefined when it is not shaped like one of ours. */
export function parseApiKey(token: string): { keyId: string; secret: string } | undefined {
  const m = KEY_PATTERN.exec(token);
  return m ? { keyId: m[1] as string, secret: m[2] as string } : undefined;
}

export const looksLikeApiKey = (token: string): boolean => token.startsWith('gw_');

function scryptAsync(secret: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      secret,
      salt,
      SCRYPT.keyLength,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

function info(record: KeyRecord): ApiKeyInfo {
  const { hash: _hash, ...rest } = record;
  return rest;
}

export function principalForKey(key: ApiKeyInfo): Principal {
  return { kind: 'key', id: `key:${key.keyId}`, subject: key.name ?? key.keyId, tenant: key.tenant, roles: [key.role] };
}

export class KeyStore {
  /** keyId → the stored digest a secret was verified against, and that secret's SHA-256: skips scrypt next time. */
  private readonly verified = new Map<string, { digest: string; secretSha: Buffer }>();

  /** `audit`: where creations and revocations are recorded (forDataDir: <dataDir>/audit). */
  constructor(
    readonly dir: string,
    private readonly audit?: AuditLog,
  ) {}

  static forDataDir(dataDir: string): KeyStore {
    return new KeyStore(path.join(dataDir, 'keys'), AuditLog.forDataDir(dataDir));
  }

  /** Key changes are always audited: a caller that names no actor is recorded as the key store itself. */
  private async record(
    actor: AuditActor | undefined,
    action: 'key.create' | 'key.revoke',
    record: KeyRecord,
  ): Promise<void> {
    await this.audit?.append({
      tenantId: record.tenant,
      actor: actor ?? { kind: 'system', id: 'key-store' },
      action,
      target: { kind: 'key', id: record.keyId },
      details: { role: record.role, keyTenant: record.tenant, ...(record.name ? { keyName: record.name } : {}) },
    });
  }

  /** Creates a key and returns it in full: the only time the secret exists outside the caller. */
  async create(
    input: { tenant: string; role: Role; name?: string },
    actor?: AuditActor,
  ): Promise<{ key: string; info: ApiKeyInfo }> {
    const role = roleSchema.safeParse(input.role);
    if (!role.success)
      throw new KeyStoreError('INVALID_INPUT', `The role must be one of ${roleSchema.options.join(', ')}.`);
    if (input.tenant === ALL_TENANTS) {
      if (role.data !== 'admin')
        throw new KeyStoreError('INVALID_INPUT', 'Only admin keys may be for all tenants (*).');
    } else if (!TENANT_ID_PATTERN.test(input.tenant)) {
      throw new KeyStoreError('INVALID_INPUT', 'The tenant must be a tenant id or * (all tenants, admin only).');
    }
    if (input.name !== undefined && !KEY_NAME_PATTERN.test(input.name))
      throw new KeyStoreError('INVALID_INPUT', 'Key names are 1-64 letters, digits, ".", "_", "@" or "-".');
    const keyId = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const salt = randomBytes(16);
    const digest = await scryptAsync(secret, salt, SCRYPT);
    const record: KeyRecord = {
      keyId,
      tenant: input.tenant,
      role: role.data,
      ...(input.name !== undefined ? { name: input.name } : {}),
      createdAt: new Date().toISOString(),
      hash: {
        algorithm: 'scrypt',
        N: SCRYPT.N,
        r: SCRYPT.r,
        p: SCRYPT.p,
        salt: salt.toString('base64'),
        digest: digest.toString('base64'),
      },
    };
    await this.write(record);
    await this.record(actor, 'key.create', record);
    return { key: `gw_${keyId}_${secret}`, info: info(record) };
  }

  /** Keys, newest first; revoked ones only when asked. */
  async list(filter: { tenant?: string; includeRevoked?: boolean } = {}): Promise<ApiKeyInfo[]> {
    const names = await fs.readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    const out: ApiKeyInfo[] = [];
    for (const name of names) {
      const m = /^([0-9a-f]{16})\.json$/.exec(name);
      if (!m) continue;
      const record = await this.read(m[1] as string);
      if (!record) continue;
      if (filter.tenant !== undefined && record.tenant !== filter.tenant) continue;
      if (record.revokedAt && !filter.includeRevoked) continue;
      out.push(info(record));
    }
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.keyId.localeCompare(b.keyId));
  }

  async get(keyId: string): Promise<ApiKeyInfo | undefined> {
    const record = KEY_ID_PATTERN.test(keyId) ? await this.read(keyId) : undefined;
    return record && info(record);
  }

  /** Revokes a key for every process at once (they read the file on each check). Revoking twice is harmless. */
  async revoke(keyId: string, actor?: AuditActor): Promise<ApiKeyInfo> {
    const record = KEY_ID_PATTERN.test(keyId) ? await this.read(keyId) : undefined;
    if (!record) throw new KeyStoreError('KEY_NOT_FOUND', 'No such key.');
    if (record.revokedAt) return info(record);
    const revoked = { ...record, revokedAt: new Date().toISOString() };
    await this.write(revoked);
    this.verified.delete(keyId);
    await this.record(actor, 'key.revoke', revoked);
    return info(revoked);
  }

  /**
   * The key's record when the presented key is valid and not revoked, else undefined. The record is read fresh each
   * time; scrypt runs once per key and secret, after which the secret's SHA-256 is compared (constant time).
   */
  async verify(presented: string): Promise<ApiKeyInfo | undefined> {
    const parsed = parseApiKey(presented);
    if (!parsed) return undefined;
    const record = await this.read(parsed.keyId);
    if (!record || record.revokedAt) return undefined;
    const secretSha = sha256(parsed.secret);
    const known = this.verified.get(record.keyId);
    if (known && known.digest === record.hash.digest && timingSafeEqual(known.secretSha, secretSha))
      return info(record);
    const expected = Buffer.from(record.hash.digest, 'base64');
    const actual = await scryptAsync(parsed.secret, Buffer.from(record.hash.salt, 'base64'), record.hash);
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return undefined;
    this.verified.set(record.keyId, { digest: record.hash.digest, secretSha });
    return info(record);
  }

  private file(keyId: string): string {
    return path.join(this.dir, `${keyId}.json`);
  }

  private async read(keyId: string): Promise<KeyRecord | undefined> {
    let raw: string;
    try {
      raw = await fs.readFile(this.file(keyId), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const r = recordSchema.safeParse(JSON.parse(raw));
      return r.success && r.data.keyId === keyId ? r.data : undefined;
    } catch {
      return undefined; // a damaged file is no key
    }
  }

  /** Atomic: readers see the old file or the new one, never a partial write. */
  private async write(record: KeyRecord): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(this.dir, `.${record.keyId}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await fs.writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      await fs.rename(tmp, this.file(record.keyId));
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }
}
