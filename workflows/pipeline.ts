// The answering path shared by answerQuestion and evaluateTenant, over the activity proxies (answer-steps.ts holds
// the steps themselves).
import { ActivityFailure, ApplicationFailure, TimeoutFailure, patched } from '@temporalio/workflow';
import type { AnswerStage } from './definitions';
import { answering, answeringLocalSteps, generation } from './proxies';
import { runAnswerSteps } from './answer-steps';
import type { PipelineResult } from './answer-steps';

export type { PipelineResult } from './answer-steps';
export { NOTHING_RETRIEVED_CONFIDENCE } from './answer-steps';

/**
 * The failures behind a step's error, outermost first. A regular activity's failure arrives wrapped in an
 * ActivityFailure; a local activity's (retrieval, verification) arrives as the failure itself.
 */
function stepFailures(err: unknown): unknown[] {
  const out: unknown[] = [];
  let cause: unknown = err instanceof ActivityFailure ? err.cause : err instanceof ApplicationFailure ? err : undefined;
  while (cause) {
    out.push(cause);
    cause = (cause as { cause?: unknown }).cause;
  }
  return out;
}

/**
 * The chat model is unavailable once its activity has used its retry budget on transient faults: the provider's
 * MODEL_UNAVAILABLE (timeouts, 429, 5xx, refused connections) or the activity's own time limits.
 */
export function isModelUnavailable(err: unknown): boolean {
  return stepFailures(err).some(
    (f) => f instanceof TimeoutFailure || (f instanceof ApplicationFailure && f.type === 'MODEL_UNAVAILABLE'),
  );
}

/** The tenant's model budget refused a call (BUDGET_EXCEEDED, non-retryable): the question degrades, never fails. */
export function isBudgetExceeded(err: unknown): boolean {
  return stepFailures(err).some((f) => f instanceof ApplicationFailure && f.type === 'BUDGET_EXCEEDED');
}

export async function runAnswerPipeline(
  tenantId: string,
  question: string,
  topK: number,
  onStage: (stage: AnswerStage) => void = () => undefined,
  modelFallback: 'escalate' | 'extractive' = 'escalate',
  promptVersion?: string,
): Promise<PipelineResult> {
  // Runs from before it keep retrieval and verification as regular activities.
  const local = patched('answer-local-steps');
  return runAnswerSteps(
    // Activity proxies have no own properties to spread: each step is named.
    {
      retrieveChunks: local ? answeringLocalSteps.retrieveChunks : answering.retrieveChunks,
      generateDraft: generation.generateDraft,
      generateFallbackDraft: answering.generateFallbackDraft,
      verifyDraft: local ? answeringLocalSteps.verifyDraft : answering.verifyDraft,
    },
    { tenantId, question, topK, promptVersion },
    { onStage, patched, modelFallback, isModelUnavailable, isBudgetExceeded },
  );
}
