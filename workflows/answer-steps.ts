// The answering path as a sequence of steps: retrieve → generate → verify, with the degraded path when the chat
// model stays unavailable. Workflows run it over activity proxies (pipeline.ts); `npm run eval:squad` runs the same
// code over the activities themselves. Deterministic: no I/O, no clock, only the steps it is given.
import type { createAnsweringActivities } from '../activities/answering';
import type { AnswerSignals } from '../activities/answer/signals';
import type { AnswerStage, Citation, RetrievedRef } from './definitions';
import { MODEL_UNAVAILABLE_ANSWER, NO_DOCUMENTS_ANSWER, NOT_FOUND_ANSWER } from './definitions';

export type AnswerStepActivities = Pick<
  ReturnType<typeof createAnsweringActivities>,
  'retrieveChunks' | 'generateDraft' | 'generateFallbackDraft' | 'verifyDraft'
>;

export interface PipelineResult {
  status: 'answered' | 'not_found' | 'no_documents' | 'model_unavailable';
  answer: string;
  citations: Citation[];
  confidence: number;
  retrieved: RetrievedRef[];
  model: string;
  /** The calibration fit that computed the confidence, and the signals it used. */
  calibration?: string;
  signals?: AnswerSignals;
  /** Set when the chat model was unavailable: the question escalated, or the extractive answerer stood in. */
  degraded?: { reason: 'MODEL_UNAVAILABLE'; fallback: 'escalate' | 'extractive' };
  /** The prompt version the draft was asked with; absent when no chat model was asked (extractive, nothing found). */
  promptVersion?: string;
}

export interface AnswerStepOptions {
  onStage?: (stage: AnswerStage) => void;
  /** The workflow's patched(); outside a workflow every change applies. */
  patched?: (id: string) => boolean;
  /** What to do when the chat model stays unavailable after its retries. */
  modelFallback?: 'escalate' | 'extractive';
  /** Whether an error is the chat model staying unavailable (in a workflow: an ActivityFailure of that kind). */
  isModelUnavailable?: (err: unknown) => boolean;
  /**
   * Whether an error is the tenant's model budget refusing a call (BUDGET_EXCEEDED): the question degrades as when
   * the model is unavailable, always escalating (status model_unavailable), instead of failing.
   */
  isBudgetExceeded?: (err: unknown) => boolean;
}

const PREVIEW_CHARS = 240;

/**
 * Confidence of "not in the documents" when the tenant has documents but retrieval found nothing above the noise
 * floor. Retrieval can miss (a paraphrase, another language, a term the embedder does not know), so an empty result
 * is evidence of absence, not proof: halfway, so a reviewer looks at it unless the caller turns escalation off.
 */
export const NOTHING_RETRIEVED_CONFIDENCE = 0.5;

export async function runAnswerSteps(
  steps: AnswerStepActivities,
  input: { tenantId: string; question: string; topK: number; promptVersion?: string },
  options: AnswerStepOptions = {},
): Promise<PipelineResult> {
  const { tenantId, question, topK } = input;
  const onStage = options.onStage ?? (() => undefined);
  const patched = options.patched ?? (() => true);
  // The tenant's model budget refused a step's model call (any step: the question's embedding, the draft, the
  // verification's embedding): the question escalates as when the model is unavailable. Never extractive, since
  // verification would need the refused embedder again.
  const overBudget = (err: unknown): boolean =>
    options.isBudgetExceeded?.(err) === true && patched('budget-exceeded-degrades');
  const budgetSpent = (retrievedSoFar: RetrievedRef[]): PipelineResult => ({
    status: 'model_unavailable',
    answer: MODEL_UNAVAILABLE_ANSWER,
    confidence: 0,
    citations: [],
    retrieved: retrievedSoFar,
    model: 'none',
    degraded: { reason: 'MODEL_UNAVAILABLE', fallback: 'escalate' },
  });
  onStage('retrieving');
  let found: Awaited<ReturnType<AnswerStepActivities['retrieveChunks']>>;
  try {
    found = await steps.retrieveChunks({ tenantId, question, topK });
  } catch (err) {
    if (!overBudget(err)) throw err;
    return budgetSpent([]);
  }
  const { chunks, tenantChunks } = found;
  const retrieved: RetrievedRef[] = chunks.map((c) => ({
    chunkId: c.chunkId,
    documentId: c.documentId,
    sourceName: c.sourceName,
    locator: c.locator,
    score: c.score,
    preview: c.text.slice(0, PREVIEW_CHARS),
  }));
  const none = { citations: [], retrieved, model: 'none' };
  if (chunks.length === 0) {
    // Runs started before the patch keep their old answer: "not in the documents" with full confidence.
    if (!patched('no-documents-status'))
      return { status: 'not_found', answer: NOT_FOUND_ANSWER, confidence: 1, ...none };
    // No active chunk at all: an empty or misconfigured store says nothing about the question.
    if (tenantChunks === 0) return { status: 'no_documents', answer: NO_DOCUMENTS_ANSWER, confidence: 0, ...none };
    return { status: 'not_found', answer: NOT_FOUND_ANSWER, confidence: NOTHING_RETRIEVED_CONFIDENCE, ...none };
  }
  onStage('generating');
  let degraded: PipelineResult['degraded'];
  let draft;
  try {
    // A run's own prompt version (an evaluation comparing versions) goes to the activity; unset: the worker's pinned one.
    const prompt = input.promptVersion === undefined ? {} : { promptVersion: input.promptVersion };
    draft = await steps.generateDraft({ tenantId, question, chunks, ...prompt });
  } catch (err) {
    // Runs started before the patch fail as they did; later ones degrade instead of failing the question.
    if (overBudget(err)) return budgetSpent(retrieved);
    if (!options.isModelUnavailable?.(err) || !patched('model-unavailable-degrades')) throw err;
    const fallback = options.modelFallback ?? 'escalate';
    degraded = { reason: 'MODEL_UNAVAILABLE', fallback };
    if (fallback === 'escalate')
      return { status: 'model_unavailable', answer: MODEL_UNAVAILABLE_ANSWER, confidence: 0, ...none, degraded };
    draft = await steps.generateFallbackDraft({ tenantId, question, chunks });
  }
  onStage('verifying');
  let verified: Awaited<ReturnType<AnswerStepActivities['verifyDraft']>>;
  try {
    verified = await steps.verifyDraft({
      tenantId,
      question,
      draft,
      retrieved: chunks.map((c) => ({
        ref: c.ref,
        chunkId: c.chunkId,
        score: c.score,
        ...(c.denseRank !== undefined ? { denseRank: c.denseRank } : {}),
        ...(c.lexicalRank !== undefined ? { lexicalRank: c.lexicalRank } : {}),
      })),
    });
  } catch (err) {
    if (!overBudget(err)) throw err;
    return budgetSpent(retrieved);
  }
  return {
    status: verified.status,
    answer: verified.answer,
    citations: verified.citations,
    confidence: verified.confidence,
    retrieved,
    model: draft.model,
    ...(draft.promptVersion === undefined ? {} : { promptVersion: draft.promptVersion }),
    ...(verified.calibration ? { calibration: verified.calibration, signals: verified.signals } : {}),
    ...(degraded ? { degraded } : {}),
  };
}
