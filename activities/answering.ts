// The answering path's side effects: the tenant's policy, tenant-scoped retrieval, the model's draft, verification
// of that draft against the stored chunks, and citations for a reviewer's edit.
import type { Duration } from '@temporalio/common';
import { assertTenantId } from '../common/ids';
import type { Citation } from '../workflows/definitions';
import { bestQuote, verifyAnswer } from './answer/verify';
import type { Answerer, ContextChunk, DraftAnswer, Embedder } from './models/types';
import type { ScoredChunk, VectorStore } from './vectors/types';

/** What a tenant's answers are held to; thresholds come from configuration, per tenant or the default. */
export interface AnsweringPolicy {
  defaultThreshold: number;
  tenantThresholds: Record<string, number>;
  reviewTimeout: Duration;
  topK: number;
  driftTolerance: number;
}

export interface AnsweringOptions {
  vectors: VectorStore;
  embedder: Embedder;
  answerer: Answerer;
  policy: AnsweringPolicy;
}

export interface RetrievedChunk extends ContextChunk {
  sourceName: string;
}

/** Chunks scoring below this are noise, not evidence: with none left the answer is "not in the documents". */
const MIN_RETRIEVAL_SCORE = 0.01;

export function createAnsweringActivities({ vectors, embedder, answerer, policy }: AnsweringOptions) {
  return {
    async tenantPolicy(input: {
      tenantId: string;
    }): Promise<{ threshold: number; reviewTimeout: Duration; topK: number; driftTolerance: number }> {
      assertTenantId(input.tenantId);
      const threshold = policy.tenantThresholds[input.tenantId] ?? policy.defaultThreshold;
      return {
        threshold,
        reviewTimeout: policy.reviewTimeout,
        topK: policy.topK,
        driftTolerance: policy.driftTolerance,
      };
    },

    /**
     * Tenant-scoped nearest chunks, labelled C1..Cn for the answerer. When nothing is retrieved, `tenantChunks` says
     * how many active chunks the tenant has at all: 0 means an empty (or misconfigured) store, not an absent answer.
     */
    async retrieveChunks(input: {
      tenantId: string;
      question: string;
      topK: number;
    }): Promise<{ chunks: RetrievedChunk[]; tenantChunks?: number }> {
      assertTenantId(input.tenantId);
      await vectors.ensureReady(embedder.dimensions);
      const [vector] = await embedder.embed([input.question], { kind: 'query' });
      const hits = vector
        ? await vectors.search(input.tenantId, vector, { limit: input.topK, minScore: MIN_RETRIEVAL_SCORE })
        : [];
      if (hits.length === 0)
        return { chunks: [], tenantChunks: await vectors.count(input.tenantId, { state: 'active' }) };
      return {
        chunks: hits.map((h, i) => ({
          ref: `C${i + 1}`,
          chunkId: h.id,
          documentId: h.payload.documentId,
          sourceName: h.payload.sourceName,
          locator: h.payload.locator,
          text: h.payload.text,
          score: h.score,
          ...(h.payload.heading ? { heading: h.payload.heading } : {}),
        })),
      };
    },

    async generateDraft(input: { question: string; chunks: ContextChunk[] }): Promise<DraftAnswer> {
      return answerer.answer({ question: input.question, context: input.chunks });
    },

    /**
     * Re-reads the cited chunks from the store for the tenant rather than trusting what the workflow passed, so a
     * citation can only name a chunk of this tenant that retrieval returned in this run.
     */
    async verifyDraft(input: {
      tenantId: string;
      question: string;
      draft: DraftAnswer;
      retrieved: { ref: string; chunkId: string; score: number }[];
    }) {
      const stored = await vectors.getChunks(
        input.tenantId,
        input.retrieved.map((r) => r.chunkId),
      );
      return verifyAnswer({
        question: input.question,
        draft: input.draft,
        context: contextOf(input.retrieved, stored),
      });
    },

    /** Citations for a reviewer's edit, from chunk ids; ids that are not this tenant's chunks are dropped. */
    async resolveCitations(input: {
      tenantId: string;
      answer: string;
      citations: { chunkId: string; quote?: string }[];
    }): Promise<Citation[]> {
      const stored = await vectors.getChunks(
        input.tenantId,
        input.citations.map((c) => c.chunkId),
      );
      return citationsOf(input.answer, input.citations, stored);
    },
  };
}

/** The retrieved chunks as the store holds them for the tenant: one retired meanwhile, or never the tenant's, is gone. */
function contextOf(
  retrieved: { ref: string; chunkId: string; score: number }[],
  stored: ScoredChunk[],
): ContextChunk[] {
  const byId = new Map(stored.map((s) => [s.id, s]));
  return retrieved.flatMap((r) => {
    const s = byId.get(r.chunkId);
    if (!s) return [];
    const { documentId, sourceName, locator, text, heading } = s.payload;
    return [
      {
        ref: r.ref,
        chunkId: r.chunkId,
        documentId,
        sourceName,
        locator,
        text,
        score: r.score,
        ...(heading ? { heading } : {}),
      },
    ];
  });
}

/** A reviewer's quote is kept only if it is verbatim chunk text; otherwise the sentence best matching the answer. */
function citationsOf(answer: string, wanted: { chunkId: string; quote?: string }[], stored: ScoredChunk[]): Citation[] {
  const byId = new Map(stored.map((s) => [s.id, s]));
  return wanted.flatMap((c) => {
    const s = byId.get(c.chunkId);
    if (!s) return [];
    const quote = c.quote && s.payload.text.includes(c.quote) ? c.quote : bestQuote(answer, s.payload.text);
    const { documentId, sourceName, locator } = s.payload;
    return [{ documentId, sourceName, locator, chunkId: s.id, quote }];
  });
}
