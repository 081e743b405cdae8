// Document bytes by reference: uploads stream into a content-addressed store and workflows carry only the reference
// (`blob:<tenant>/<sha256>`), never the bytes. Blobs are objects of the deployment's object store
// (common/object-store.ts): a local folder, or an S3-compatible bucket every worker host and client shares.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { GroundworkError } from './errors';
import { assertTenantId, isTenantId } from './ids';
import { LocalObjectStore } from './object-store';
import type { ObjectStore } from './object-store';
import { fileTooLarge } from './source-files';

export interface StoredBlob {
  /** `blob:<tenant>/<sha256>`: what a workflow's `{ kind: 'blob' }` source carries. */
  ref: string;
  sha256: string;
  bytes: number;
}

export interface BlobStore {
  /**
   * Streams `body` into the store while hashing it. More than `maxBytes` is refused with FILE_TOO_LARGE and leaves
   * nothing behind; the same bytes stored twice for a tenant are one blob (the same ref).
   */
  put(tenantId: string, body: AsyncIterable<Uint8Array>, options: { maxBytes: number }): Promise<StoredBlob>;
  /**
   * The blob's bytes, reading at most `maxBytes + 1` (FILE_TOO_LARGE past the limit). With `tenantId`, a reference
   * naming another tenant's blob is refused (BLOB_TENANT_MISMATCH). BLOB_NOT_FOUND when it is gone.
   */
  read(ref: string, options: { maxBytes: number; tenantId?: string }): Promise<Uint8Array>;
  /** True when something was deleted. */
  delete(ref: string): Promise<boolean>;
  /** Deletes every blob of the tenant; returns how many there were. */
  deleteTenant(tenantId: string): Promise<number>;
}

const SHA256 = /^[0-9a-f]{64}$/;
const REF = /^blob:([^/]+)\/([^/]+)$/;

export const blobRef = (tenantId: string, sha256: string): string => `blob:${tenantId}/${sha256}`;

/**
 * The tenant and digest of a reference. Anything but `blob:<valid tenant>/<64 hex digits>` is refused
 * (BLOB_INVALID_REF), so no reference can name a path outside the store; with `tenantId`, a reference of another
 * tenant is refused too (BLOB_TENANT_MISMATCH).
 */
export function parseBlobRef(ref: string, tenantId?: string): { tenantId: string; sha256: string } {
  if (!isBlobRef(ref)) throw new GroundworkError('BLOB_INVALID_REF', 'The blob reference is not valid.');
  const [, owner, sha256] = REF.exec(ref) as unknown as [string, string, string];
  if (tenantId !== undefined && owner !== tenantId)
    throw new GroundworkError('BLOB_TENANT_MISMATCH', 'The blob reference names another tenant.');
  return { tenantId: owner, sha256 };
}

export function isBlobRef(ref: unknown): ref is string {
  if (typeof ref !== 'string') return false;
  const m = REF.exec(ref);
  return m !== null && isTenantId(m[1]) && SHA256.test(m[2] ?? '');
}

/**
 * Blobs as objects `<tenant>/<sha256>` of an object store (a local folder, or an S3 bucket shared by every host).
 * An upload streams into a temporary file while it is hashed and bounded, and enters the store under its digest
 * only when complete, so a store never holds a partial or an over-limit blob.
 */
export class ObjectBlobStore implements BlobStore {
  constructor(private readonly objects: ObjectStore) {}

  private key(ref: string, tenantId?: string): string {
    const parsed = parseBlobRef(ref, tenantId);
    return `${parsed.tenantId}/${parsed.sha256}`;
  }

  /** Where an upload in progress is written: beside the blobs for a local folder (one rename), else the temp dir. */
  private uploadDir(tenantId: string): string {
    return this.objects instanceof LocalObjectStore ? path.join(this.objects.root, tenantId) : os.tmpdir();
  }

  async put(
    tenantId: string,
    body: AsyncIterable<Uint8Array>,
    { maxBytes }: { maxBytes: number },
  ): Promise<StoredBlob> {
    assertTenantId(tenantId);
    const dir = this.uploadDir(tenantId);
    await fs.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `.upload-${process.pid}-${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let bytes = 0;
    const handle = await fs.open(tmp, 'wx', 0o600);
    try {
      try {
        for await (const chunk of body) {
          bytes += chunk.byteLength;
          if (bytes > maxBytes) throw fileTooLarge(maxBytes);
          hash.update(chunk);
          await handle.write(chunk); // awaited: a slow disk slows the sender instead of filling memory
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      const sha256 = hash.digest('hex');
      // Same content, same key: storing it again replaces it with identical bytes.
      await this.objects.putFile(`${tenantId}/${sha256}`, tmp);
      return { ref: blobRef(tenantId, sha256), sha256, bytes };
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  async read(ref: string, { maxBytes, tenantId }: { maxBytes: number; tenantId?: string }): Promise<Uint8Array> {
    const bytes = await this.objects.get(this.key(ref, tenantId), { maxBytes });
    if (bytes === undefined)
      throw new GroundworkError('BLOB_NOT_FOUND', 'The uploaded document is no longer in the blob store.');
    return bytes;
  }

  async delete(ref: string): Promise<boolean> {
    return this.objects.delete(this.key(ref));
  }

  async deleteTenant(tenantId: string): Promise<number> {
    assertTenantId(tenantId);
    const keys = await this.objects.list(tenantId);
    await this.objects.deletePrefix(tenantId);
    return keys.filter((k) => SHA256.test(k.slice(tenantId.length + 1))).length;
  }
}

/** Blobs as files `<root>/<tenant>/<sha256>`; uploads in progress are dot files beside them. */
export class LocalBlobStore extends ObjectBlobStore {
  constructor(readonly root: string) {
    super(new LocalObjectStore(root));
  }
}
