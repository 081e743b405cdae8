// The answering path shared by answerQuestion and evaluateTenant: retrieve → generate → verify.
import { patched } from '@temporalio/workflow';
import type { AnswerStage, Citation, RetrievedRef } from './definitions';
import { NO_DOCUMENTS_ANSWER, NOT_FOUND_ANSWER } from './definitions';
import { answering, generation } from './proxies';

export interface PipelineResult {
  status: 'answered' | 'not_found' | 'no_documents';
  answer: string;
  citations: Citation[];
  confidence: number;
  retrieved: RetrievedRef[];
  model: string;
}

const PREVIEW_CHARS = 240;

/**
 * Confidence of "not in the documents" when the tenant has documents but retrieval found nothing above the noise
 * floor. Retrieval can miss (a paraphrase, another language, a term the embedder does not know), so an empty result
 * is evidence of absence, not proof: halfway, below the default threshold (0.6), so a reviewer looks at it unless the
 * caller turns escalation off. It used to be 1, which told users "certainly not there" even for an empty store.
 */
export const NOTHING_RETRIEVED_CONFIDENCE = 0.5;

export async function runAnswerPipeline(
  tenantId: string,
  question: string,
  topK: number,
  onStage: (stage: AnswerStage) => void = () => undefined,
): Promise<PipelineResult> {
  onStage('retrieving');
  const { chunks, tenantChunks } = await answering.retrieveChunks({ tenantId, question, topK });
  const retrieved: RetrievedRef[] = chunks.map((c) => ({
    chunkId: c.chunkId,
    documentId: c.documentId,
    sourceName: c.sourceName,
    locator: c.locator,
    score: c.score,
    preview: c.text.slice(0, PREVIEW_CHARS),
  }));
  if (chunks.length === 0) {
    // Runs started before the patch keep their old answer: "not in the documents" with full confidence.
    if (!patched('no-documents-status'))
      return { status: 'not_found', answer: NOT_FOUND_ANSWER, citations: [], confidence: 1, retrieved, model: 'none' };
    // No active chunk at all: an empty or misconfigured store says nothing about the question.
    if (tenantChunks === 0)
      return {
        status: 'no_documents',
        answer: NO_DOCUMENTS_ANSWER,
        citations: [],
        confidence: 0,
        retrieved,
        model: 'none',
      };
    const confidence = NOTHING_RETRIEVED_CONFIDENCE;
    return { status: 'not_found', answer: NOT_FOUND_ANSWER, citations: [], confidence, retrieved, model: 'none' };
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
