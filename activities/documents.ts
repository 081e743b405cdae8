// The document registry (per tenant: what is live, what failed) and the activities that delete a document or purge a
// tenant. The registry is one small JSON object per document under documents/<tenant>/ of the deployment's object
// store, written whole: the activities of one document run one after another, so no two writers meet on one object,
// and readers (the typed client, the HTTP API, the CLI) never see half a record.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { BlobStore } from '../common/blob-store';
import { isBlobRef } from '../common/blob-store';
import { assertDocumentId, assertTenantId } from '../common/ids';
import { LocalObjectStore, scopedStore } from '../common/object-store';
import type { ObjectStore } from '../common/object-store';
import type { DocumentSource } from '../workflows/definitions';
import type { CorpusGenerations } from './answer-cache';
import type { EvaluationStore } from './evaluation-store';
import type { StagingArea } from './staging';
import type { VectorStore } from './vectors/types';

/** What the registry knows of one document. */
export interface DocumentRecord {
  tenantId: string;
  documentId: string;
  /** live: a version answers questions; failed: the last ingestion failed and none is live; pending: being ingested. */
  status: 'live' | 'failed' | 'pending';
  /** Source name, as cited. */
  name?: string;
  /** The live version. */
  version?: string;
  chunks?: number;
  pages?: number;
  sheets?: number;
  /** When the live version was activated (ISO 8601). */
  ingestedAt?: string;
  /** The last failed ingestion, until a later one succeeds. */
  lastError?: { code: string; message: string; at: string };
}

/** The manifest of a version that was parsed and staged but is not live yet. */
export interface PreparedVersion {
  version: string;
  name: string;
  chunks: number;
  pages?: number;
  sheets?: number;
}

interface StoredRecord {
  tenantId: string;
  documentId: string;
  live?: PreparedVersion & { ingestedAt: string };
  pending?: PreparedVersion;
  lastError?: { code: string; message: string; at: string };
  /** Blob references this document's ingestions read; deleted with it unless another document still uses them. */
  blobs: string[];
}

const MAX_ERROR_MESSAGE = 500;

function toPublic(r: StoredRecord): DocumentRecord {
  const status = r.live ? 'live' : r.lastError ? 'failed' : 'pending';
  const shown = r.live ?? r.pending;
  return {
    tenantId: r.tenantId,
    documentId: r.documentId,
    status,
    ...(shown ? { name: shown.name } : {}),
    ...(r.live
      ? {
          version: r.live.version,
          chunks: r.live.chunks,
          ...(r.live.pages !== undefined ? { pages: r.live.pages } : {}),
          ...(r.live.sheets !== undefined ? { sheets: r.live.sheets } : {}),
          ingestedAt: r.live.ingestedAt,
        }
      : {}),
    ...(r.lastError ? { lastError: r.lastError } : {}),
  };
}

const withBlob = (blobs: string[], ref: string | undefined): string[] =>
  ref && !blobs.includes(ref) ? [...blobs, ref] : blobs;

/** The blob a source reads, if any. */
export const blobOf = (source: DocumentSource | undefined): string | undefined =>
  source?.kind === 'blob' && isBlobRef(source.ref) ? source.ref : undefined;

export class DocumentRegistry {
  /** Writes to one record run one after another within this process. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly objects: ObjectStore;

  /** `location`: the registry's object store (shared by every host), or a local folder. */
  constructor(location: ObjectStore | string) {
    this.objects = typeof location === 'string' ? new LocalObjectStore(location) : location;
  }

  /** The registry workers write and clients read: `<data>/documents`. */
  static inDataDir(dataDir: string): DocumentRegistry {
    return new DocumentRegistry(path.join(dataDir, 'documents'));
  }

  /** The registry of a deployment's object store: `documents/`. */
  static inStore(objects: ObjectStore): DocumentRegistry {
    return new DocumentRegistry(scopedStore(objects, 'documents'));
  }

  /** Ids may be long Unicode strings: the object is named by their hash, and the record holds the id itself. */
  private file(tenantId: string, documentId: string): string {
    assertTenantId(tenantId);
    assertDocumentId(documentId);
    const key = createHash('sha256').update(documentId).digest('hex').slice(0, 40);
    return `${tenantId}/${key}.json`;
  }

  private async readFile(key: string): Promise<StoredRecord | undefined> {
    const raw = await this.objects.get(key);
    return raw === undefined ? undefined : (JSON.parse(raw.toString('utf8')) as StoredRecord);
  }

  private async update(
    tenantId: string,
    documentId: string,
    change: (current: StoredRecord) => StoredRecord,
  ): Promise<void> {
    const file = this.file(tenantId, documentId);
    const previous = this.locks.get(file) ?? Promise.resolve();
    const next = previous.then(async () => {
      const current = (await this.readFile(file)) ?? { tenantId, documentId, blobs: [] };
      await this.objects.put(file, JSON.stringify(change(current)));
    });
    const settled = next.catch(() => undefined);
    this.locks.set(file, settled);
    void settled.then(() => {
      if (this.locks.get(file) === settled) this.locks.delete(file);
    });
    return next;
  }

  async get(tenantId: string, documentId: string): Promise<DocumentRecord | undefined> {
    const r = await this.readFile(this.file(tenantId, documentId));
    return r ? toPublic(r) : undefined;
  }

  async list(tenantId: string): Promise<DocumentRecord[]> {
    const records = await this.stored(tenantId);
    return records
      .map(toPublic)
      .sort((a, b) => (a.documentId < b.documentId ? -1 : a.documentId > b.documentId ? 1 : 0));
  }

  private async stored(tenantId: string): Promise<StoredRecord[]> {
    assertTenantId(tenantId);
    const keys = await this.objects.list(tenantId);
    const records = await Promise.all(
      keys.filter((k) => /^[^/]+\/[0-9a-f]{40}\.json$/.test(k)).map((k) => this.readFile(k)),
    );
    return records.filter((r): r is StoredRecord => r !== undefined);
  }

  /** prepareDocument staged a new version (not live yet). */
  async recordPrepared(tenantId: string, documentId: string, prepared: PreparedVersion, blob?: string): Promise<void> {
    await this.update(tenantId, documentId, (r) => ({ ...r, pending: prepared, blobs: withBlob(r.blobs, blob) }));
  }

  /**
   * prepareDocument found this exact version live already: the request succeeded, so an earlier failure no longer
   * stands. A document ingested before the registry existed is recorded here the first time it is ingested again.
   */
  async recordUnchanged(tenantId: string, documentId: string, live: PreparedVersion, blob?: string): Promise<void> {
    await this.update(tenantId, documentId, (r) => {
      const { lastError: _cleared, ...rest } = r;
      return {
        ...rest,
        live: r.live?.version === live.version ? r.live : { ...live, ingestedAt: new Date().toISOString() },
        blobs: withBlob(r.blobs, blob),
      };
    });
  }

  /** activateDocument made `version` live. */
  async recordActivated(tenantId: string, documentId: string, version: string, chunks: number): Promise<void> {
    await this.update(tenantId, documentId, (r) => {
      if (r.live?.version === version && r.pending?.version !== version) return r; // a retried activation
      const { lastError: _cleared, pending, ...rest } = r;
      const manifest = pending?.version === version ? pending : { version, name: r.live?.name ?? documentId, chunks };
      return { ...rest, live: { ...manifest, ingestedAt: new Date().toISOString() } };
    });
  }

  async recordFailure(
    tenantId: string,
    documentId: string,
    error: { code: string; message: string },
    blob?: string,
  ): Promise<void> {
    const lastError = {
      code: error.code,
      message: error.message.slice(0, MAX_ERROR_MESSAGE),
      at: new Date().toISOString(),
    };
    await this.update(tenantId, documentId, (r) => {
      const { pending: _failed, ...rest } = r;
      return { ...rest, lastError, blobs: withBlob(r.blobs, blob) };
    });
  }

  /** The blobs a document's ingestions read (kept until the document is deleted). */
  async blobsOf(tenantId: string, documentId: string): Promise<string[]> {
    return (await this.readFile(this.file(tenantId, documentId)))?.blobs ?? [];
  }

  /** Blobs other documents of the tenant still read: a deletion must leave them. */
  async blobsInUse(tenantId: string, exceptDocumentId: string): Promise<Set<string>> {
    const inUse = new Set<string>();
    for (const r of await this.stored(tenantId))
      if (r.documentId !== exceptDocumentId) for (const b of r.blobs) inUse.add(b);
    return inUse;
  }

  /** True when there was a record. */
  async remove(tenantId: string, documentId: string): Promise<boolean> {
    const file = this.file(tenantId, documentId);
    return this.objects.delete(file);
  }

  /** Removes the tenant's registry; returns how many documents it listed. */
  async removeTenant(tenantId: string): Promise<number> {
    const count = (await this.stored(tenantId)).length;
    await this.objects.deletePrefix(tenantId);
    return count;
  }
}

export interface DocumentActivityOptions {
  vectors: VectorStore;
  blobs: BlobStore;
  staging: StagingArea;
  registry: DocumentRegistry;
  evaluations: EvaluationStore;
  /** Bumped after a tenant's retrievable chunks change, so cached answers of the old corpus are not served. */
  generations?: CorpusGenerations;
}

/** The parts of a document a deletion removes, in the order the workflow removes them (the registry entry last). */
export type DocumentPart = 'vectors' | 'staging' | 'blobs' | 'registry';
/** The parts of a tenant a purge removes. */
export type TenantPart = 'vectors' | 'blobs' | 'staging' | 'evaluations' | 'registry';

export interface RecordIngestFailureInput {
  tenantId: string;
  documentId: string;
  code: string;
  message: string;
  source?: DocumentSource;
}

export function createDocumentActivities({
  vectors,
  blobs,
  staging,
  registry,
  evaluations,
  generations,
}: DocumentActivityOptions) {
  return {
    /** The ingest workflow's failure path: the registry shows the document's last error (code and sentence). */
    async recordIngestFailure(input: RecordIngestFailureInput): Promise<void> {
      assertTenantId(input.tenantId);
      assertDocumentId(input.documentId);
      const blob = blobOf(input.source);
      await registry.recordFailure(
        input.tenantId,
        input.documentId,
        { code: input.code, message: input.message },
        blob && blob.startsWith(`blob:${input.tenantId}/`) ? blob : undefined,
      );
    },

    /** Removes one part of a document; idempotent, so a retry after a partial run finishes the job. */
    async deleteDocumentPart(input: {
      tenantId: string;
      documentId: string;
      part: DocumentPart;
    }): Promise<{ removed: number }> {
      const { tenantId, documentId } = input;
      assertTenantId(tenantId);
      assertDocumentId(documentId);
      switch (input.part) {
        case 'vectors': {
          const removed = await vectors.deleteDocument(tenantId, documentId);
          await generations?.bump(tenantId);
          return { removed };
        }
        case 'staging':
          return { removed: await staging.removeDocument(tenantId, documentId) };
        case 'blobs': {
          // Blobs are content-addressed: identical bytes uploaded for another document are one blob, which stays.
          const inUse = await registry.blobsInUse(tenantId, documentId);
          let removed = 0;
          for (const ref of await registry.blobsOf(tenantId, documentId))
            if (!inUse.has(ref) && ref.startsWith(`blob:${tenantId}/`) && (await blobs.delete(ref))) removed += 1;
          return { removed };
        }
        case 'registry':
          return { removed: (await registry.remove(tenantId, documentId)) ? 1 : 0 };
      }
    },

    /** Removes one part of everything a tenant has; idempotent. */
    async purgeTenantPart(input: { tenantId: string; part: TenantPart }): Promise<{ removed: number }> {
      const { tenantId } = input;
      assertTenantId(tenantId);
      switch (input.part) {
        case 'vectors': {
          const removed = await vectors.deleteTenant(tenantId);
          await generations?.bump(tenantId);
          return { removed };
        }
        case 'blobs':
          return { removed: await blobs.deleteTenant(tenantId) };
        case 'staging':
          return { removed: await staging.removeTenant(tenantId) };
        case 'evaluations':
          return { removed: await evaluations.removeTenant(tenantId) };
        case 'registry':
          return { removed: await registry.removeTenant(tenantId) };
      }
    },
  };
}

/** activateDocument, recording the activation in the registry once the version is live. */
export function recordingActivation<I extends { tenantId: string; documentId: string; version: string }>(
  activate: (input: I) => Promise<{ activated: number; retired: number }>,
  registry: DocumentRegistry,
  vectors: VectorStore,
  generations?: CorpusGenerations,
): (input: I) => Promise<{ activated: number; retired: number }> {
  return async (input) => {
    const counts = await activate(input);
    // After the switch, never before: an answer cached in between would belong to the old corpus under the new key.
    await generations?.bump(input.tenantId);
    const chunks = await vectors.count(input.tenantId, { documentId: input.documentId, state: 'active' });
    await registry.recordActivated(input.tenantId, input.documentId, input.version, chunks);
    return counts;
  };
}
