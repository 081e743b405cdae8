// The answering path shared by answerQuestion and evaluateTenant: retrieve → generate → verify.
import type { AnswerStage, Citation, RetrievedRef } from './definitions';
import { NOT_FOUND_ANSWER } from './definitions';
import { answering, generation } from './proxies';

export interface PipelineResult {
  status: 'answered' | 'not_found';
  answer: string;
  citations: Citation[];
  confidence: number;
  retrieved: RetrievedRef[];
  model: string;
}

const PREVIEW_CHARS = 240;

export async function runAnswerPipeline(
  tenantId: string,
  question: string,
  topK: number,
  onStage: (stage: AnswerStage) => void = () => undefined,
): Promise<PipelineResult> {
  onStage('retrieving');
  const { chunks } = await answering.retrieveChunks({ tenantId, question, topK });
  const retrieved: RetrievedRef[] = chunks.map((c) => ({
    chunkId: c.chunkId,
    documentId: c.documentId,
    sourceName: c.sourceName,
    locator: c.locator,
    score: c.score,
    preview: c.text.slice(0, PREVIEW_CHARS),
  }));
  if (chunks.length === 0) {
    // Nothing of this tenant's is relevant: "not in the documents" with full confidence in that absence.
    return { status: 'not_found', answer: NOT_FOUND_ANSWER, citations: [], confidence: 1, retrieved, model: 'none' };
  }
  onStage('generating');
  const draft = await generation.generateDraft({ question, chunks });
  onStage('verifying');
  const verified = await answering.verifyDraft({
    tenantId,
    question,
    draft,
    retrieved: chunks.map((c) => ({ ref: c.ref, chunkId: c.chunkId, score: c.score })),
  });
  return {
    status: verified.status,
    answer: verified.answer,
    citations: verified.citations,
    confidence: verified.confidence,
    retrieved,
    model: draft.model,
  };
}
