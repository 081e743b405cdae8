// Parsed chunks wait here between the parse and the embed steps, so that large data never travels through
// workflow history: the workflow carries only a reference. One object per document version, in the deployment's
// object store, so the host that embeds a document need not be the one that parsed it.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { GroundworkError } from '../common/errors';
import { LocalObjectStore, assertObjectKey } from '../common/object-store';
import type { ObjectStore } from '../common/object-store';

/**
 * A document id as one folder name: URL-encoded, or, when that would pass file-name limits (long Unicode ids
 * take 3 characters per UTF-8 byte), a prefix and a hash. Every id that fitted before keeps its folder, so running
 * ingestions still match.
 */
function folderName(id: string): string {
  const encoded = encodeURIComponent(id);
  if (encoded.length <= 255) return encoded;
  return `${encoded.slice(0, 100)}~${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
}

export interface StagedChunk {
  index: number;
  text: string;
  locator: string;
  locatorJson: string;
  heading?: string;
  tokens: number;
}

export interface StagedDocument {
  tenantId: string;
  documentId: string;
  version: string;
  sourceName: string;
  chunks: StagedChunk[];
}

export class StagingArea {
  private readonly objects: ObjectStore;

  /** `location`: an object store (shared by every worker host), or a local folder. */
  constructor(location: ObjectStore | string) {
    this.objects = typeof location === 'string' ? new LocalObjectStore(location) : location;
  }

  /** A reference relative to the staging root: the same object for every host of the deployment. */
  refFor(tenantId: string, documentId: string, version: string): string {
    return path.posix.join(encodeURIComponent(tenantId), folderName(documentId), `${version}.json`);
  }

  private key(ref: string): string {
    try {
      assertObjectKey(ref);
    } catch {
      throw new GroundworkError('STAGING_INVALID_REF', 'The staging reference points outside the staging area.');
    }
    return ref;
  }

  async write(doc: StagedDocument): Promise<string> {
    const ref = this.refFor(doc.tenantId, doc.documentId, doc.version);
    await this.objects.put(this.key(ref), JSON.stringify(doc)); // whole: a reader never sees half a document
    return ref;
  }

  async read(ref: string): Promise<StagedDocument> {
    const raw = await this.objects.get(this.key(ref));
    if (raw === undefined)
      throw new GroundworkError(
        'STAGING_MISSING',
        'The staged chunks of this ingestion are gone; ingest the document again.',
      );
    return JSON.parse(raw.toString('utf8')) as StagedDocument;
  }

  async remove(ref: string): Promise<void> {
    await this.objects.delete(this.key(ref));
  }

  /** Every staged version of a document (the clean-up after a failed ingestion, or a deletion); returns how many. */
  async removeDocument(tenantId: string, documentId: string): Promise<number> {
    return this.removeFolder(path.posix.join(encodeURIComponent(tenantId), folderName(documentId)));
  }

  /** Everything staged for a tenant (a tenant purge); returns how many staged versions there were. */
  async removeTenant(tenantId: string): Promise<number> {
    return this.removeFolder(encodeURIComponent(tenantId));
  }

  /** How many staged versions a tenant has (none after a finished ingestion). */
  async countTenant(tenantId: string): Promise<number> {
    return (await this.objects.list(encodeURIComponent(tenantId))).filter((k) => k.endsWith('.json')).length;
  }

  private async removeFolder(prefix: string): Promise<number> {
    const keys = await this.objects.list(this.key(prefix));
    await this.objects.deletePrefix(prefix);
    return keys.filter((k) => k.endsWith('.json')).length;
  }
}
