// The write side of ingestion: embed staged chunks and upsert them as staged points, make a version live, or discard
// what a failed or cancelled run staged. Every store call is scoped to the tenant of the request.
import { Context } from '@temporalio/activity';
import { GroundworkError } from '../common/errors';
import { assertDocumentId, assertTenantId } from '../common/ids';
import type { Embedder } from './models/types';
import type { StagedChunk, StagingArea } from './staging';
import { pointId } from './vectors/ids';
import type { VectorPoint, VectorStore } from './vectors/types';
import { whileHeartbeating } from './heartbeat';

export interface StorageOptions {
  vectors: VectorStore;
  embedder: Embedder;
  staging: StagingArea;
  /** Chunks per embed + upsert round; one heartbeat each. */
  embedBatch: number;
}

export interface EmbedInput {
  tenantId: string;
  documentId: string;
  version: string;
  stagingRef: string;
}

/** What embedAndUpsert heartbeats: the index of the first chunk not yet upserted. */
export interface EmbedProgress {
  next: number;
}

const embeddingText = (c: StagedChunk): string => (c.heading ? `${c.heading}\n${c.text}` : c.text);

export function createStorageActivities({ vectors, embedder, staging, embedBatch }: StorageOptions) {
  return {
    /** Embeds and upserts staged chunks in batches; after a retry it resumes from the last heartbeat. */
    async embedAndUpsert(input: EmbedInput): Promise<{ upserted: number }> {
      assertTenantId(input.tenantId);
      const ctx = Context.current();
      const doc = await staging.read(input.stagingRef);
      if (doc.tenantId !== input.tenantId || doc.documentId !== input.documentId || doc.version !== input.version) {
        throw new GroundworkError('STAGING_MISMATCH', 'The staged document does not match the ingestion request.');
      }
      await vectors.ensureReady(embedder.dimensions);
      const resumeFrom = (ctx.info.heartbeatDetails as EmbedProgress | undefined)?.next ?? 0;
      return whileHeartbeating(async (progress) => {
        let upserted = 0;
        for (let start = resumeFrom; start < doc.chunks.length; start += embedBatch) {
          const slice = doc.chunks.slice(start, start + embedBatch);
          const embedded = await embedder.embed(slice.map(embeddingText), { kind: 'passage' });
          const points: VectorPoint[] = slice.map((c, i) => {
            const id = pointId(doc.tenantId, doc.documentId, doc.version, c.index);
            const { tenantId, documentId, version, sourceName } = doc;
            const payload = {
              tenantId,
              documentId,
              version,
              sourceName,
              chunkId: id,
              chunkIndex: c.index,
              state: 'staged' as const,
            };
            return {
              id,
              vector: embedded[i] ?? [],
              payload: { ...payload, text: c.text, locator: c.locator, locatorJson: c.locatorJson, heading: c.heading },
            };
          });
          await vectors.upsert(doc.tenantId, points);
          upserted += points.length;
          progress({ next: start + slice.length } satisfies EmbedProgress);
          // A cancelled ingestion stops between batches; the workflow then discards what was staged.
          if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
        }
        return { upserted };
      });
    },

    /** Makes the new version live and retires the old one; then drops the staging file. */
    async activateDocument(input: {
      tenantId: string;
      documentId: string;
      version: string;
      stagingRef?: string;
    }): Promise<{ activated: number; retired: number }> {
      assertTenantId(input.tenantId);
      assertDocumentId(input.documentId);
      // The reference must be this document version's own: a request can never remove another tenant's staging file.
      const ownRef = staging.refFor(input.tenantId, input.documentId, input.version);
      if (input.stagingRef !== undefined && input.stagingRef !== ownRef) {
        throw new GroundworkError('STAGING_MISMATCH', 'The staged document does not match the ingestion request.');
      }
      return whileHeartbeating(async () => {
        const counts = await vectors.activateVersion(input.tenantId, input.documentId, input.version);
        if (input.stagingRef) await staging.remove(ownRef);
        return counts;
      });
    },

    /** Clean-up after a failed or cancelled ingestion: staged points and files go; the active version stays untouched. */
    async discardStagedDocument(input: {
      tenantId: string;
      documentId: string;
      stagingRef?: string;
    }): Promise<{ discarded: number }> {
      assertTenantId(input.tenantId);
      assertDocumentId(input.documentId);
      return whileHeartbeating(async () => {
        const discarded = await vectors.discardStaged(input.tenantId, input.documentId);
        await staging.removeDocument(input.tenantId, input.documentId);
        return { discarded };
      });
    },
  };
}
