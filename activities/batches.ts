// Batch manifests: the document list of a large batch is written once to the blob store by the client, and the batch
// workflow reads it a page at a time by reference, so no history carries the whole list (a batch may hold tens of
// thousands of documents) and each continue-as-new passes only the reference and the progress.
import type { BlobStore } from '../common/blob-store';
import { GroundworkError } from '../common/errors';
import { recentPromises } from '../common/recent';
import { assertDocumentId, assertTenantId } from '../common/ids';
import type { IngestDocumentInput } from '../workflows/definitions';

export type BatchEntry = Omit<IngestDocumentInput, 'tenantId'>;

/** A manifest is read whole (it is parsed once and kept while its pages are read): this bounds it. */
export const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;
/** Entries one call returns at most: a page must stay small in history. */
export const MAX_PAGE = 500;
const MANIFESTS_KEPT = 4;

export function encodeManifest(entries: BatchEntry[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ version: 1, entries }));
}

const badManifest = (): GroundworkError =>
  new GroundworkError('INVALID_INPUT', 'The batch manifest is not a list of documents written by a Groundwork client.');

function decodeManifest(bytes: Uint8Array): BatchEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw badManifest();
  }
  const entries = (parsed as { entries?: unknown }).entries;
  if (!Array.isArray(entries)) throw badManifest();
  for (const e of entries) {
    const d = e as Partial<BatchEntry>;
    if (typeof d !== 'object' || d === null || typeof d.source !== 'object' || d.source === null) throw badManifest();
    assertDocumentId(d.documentId);
  }
  return entries as BatchEntry[];
}

export function createBatchActivities({ blobs }: { blobs: BlobStore }) {
  // Parsed manifests of the batches running on this worker.
  const kept = recentPromises<BatchEntry[]>(MANIFESTS_KEPT);
  const manifest = (tenantId: string, ref: string): Promise<BatchEntry[]> =>
    kept(`${tenantId}\u0000${ref}`, () =>
      blobs.read(ref, { maxBytes: MAX_MANIFEST_BYTES, tenantId }).then(decodeManifest),
    );
  return {
    /** Entries [offset, offset + limit) of a batch manifest of this tenant (its own blob reference only). */
    async readBatchPage(input: {
      tenantId: string;
      ref: string;
      offset: number;
      limit: number;
    }): Promise<BatchEntry[]> {
      assertTenantId(input.tenantId);
      if (!Number.isInteger(input.offset) || input.offset < 0 || !Number.isInteger(input.limit) || input.limit < 1)
        throw new GroundworkError(
          'INVALID_INPUT',
          'A batch page needs a whole offset of 0 or more and a limit of 1 or more.',
        );
      const entries = await manifest(input.tenantId, input.ref);
      return entries.slice(input.offset, input.offset + Math.min(input.limit, MAX_PAGE));
    },
  };
}
