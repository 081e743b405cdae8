// Answering: retrieve (tenant-scoped) → generate → verify → confidence. Below the tenant's threshold the
// answer goes to a human-review task and the reviewed outcome is returned.
import {
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  log,
  patched,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { AnswerOutcome, AnswerQuestionInput, AnswerResult, AnswerStage } from './definitions';
import {
  EXPIRED_ANSWER,
  NOT_CACHED_ANSWER,
  REJECTED_ANSWER,
  ReviewStatusKey,
  TenantIdKey,
  answerOutcomeUpdate,
  answerProgressQuery,
  reviewWorkflowId,
  questionKey,
} from './definitions';
import { answering, answeringLocal } from './proxies';
import { runAnswerPipeline } from './pipeline';
import { reviewTask } from './review';
import { runTraceId } from './trace-context';

interface Progress {
  stage: AnswerStage;
  reviewTaskId?: string;
  result?: AnswerResult;
}

/**
 * Callers that wait (HTTP `wait=true`, the CLI) send the answerOutcome update with the start (Update-with-Start): it
 * completes as soon as the answer is known or the question waits for a reviewer, so no caller polls and none waits
 * for a review it does not want. Handlers add no commands: runs recorded before them replay unchanged.
 */
export async function answerQuestion(input: AnswerQuestionInput): Promise<AnswerResult> {
  const progress: Progress = { stage: 'retrieving' };
  setHandler(answerProgressQuery, () => ({ stage: progress.stage, reviewTaskId: progress.reviewTaskId }));
  setHandler(answerOutcomeUpdate, async (): Promise<AnswerOutcome> => {
    await condition(() => progress.result !== undefined || progress.reviewTaskId !== undefined);
    return progress.result
      ? { kind: 'answer', result: progress.result }
      : { kind: 'escalated', reviewTaskId: progress.reviewTaskId as string };
  });
  progress.result = await answer(input, progress);
  // An update accepted just before the end still gets its answer.
  await condition(allHandlersFinished);
  return progress.result;
}

async function answer(input: AnswerQuestionInput, progress: Progress): Promise<AnswerResult> {
  // Runs from before the answer cache keep their recorded steps: the policy as a regular activity and no cache.
  const cacheable = patched('answer-cache');
  const policy = cacheable
    ? await answeringLocal.tenantPolicy({ tenantId: input.tenantId })
    : await answering.tenantPolicy({ tenantId: input.tenantId });
  const threshold = input.threshold ?? policy.threshold;
  const topK = input.topK ?? policy.topK;
  let cacheKey: string | undefined;
  if (cacheable) {
    const cached = await answeringLocal.lookupCachedAnswer({
      tenantId: input.tenantId,
      question: input.question,
      topK,
      calibration: policy.calibration,
      threshold,
      // A question asked with its own prompt version is cached under that version, not the worker's pinned one.
      ...(input.promptVersion === undefined ? {} : { promptVersion: input.promptVersion }),
    });
    if (cached.hit) {
      progress.stage = 'done';
      log.info('answered from cache', { status: cached.hit.status, confidence: cached.hit.confidence, threshold });
      return { ...cached.hit, threshold, escalated: false, cached: true, ...traced() };
    }
    cacheKey = cached.key;
  }
  // A cache-only ask (a tenant over its model budget) ends here without a model call.
  if (input.onlyFromCache) {
    progress.stage = 'done';
    return {
      status: 'not_cached',
      answer: NOT_CACHED_ANSWER,
      citations: [],
      confidence: 0,
      threshold,
      escalated: false,
      retrieved: [],
      model: 'none',
    };
  }
  const result = await runAnswerPipeline(
    input.tenantId,
    input.question,
    topK,
    (s) => (progress.stage = s),
    policy.modelFallback,
    input.promptVersion,
  );

  // The trace id comes from the start's header (in history): replay reads the same one, and it adds no command.
  const base: AnswerResult = { ...result, threshold, escalated: false, ...traced() };
  // A tenant without documents is never sent to review: there is nothing a reviewer could cite or correct. (Only
  // runs with the no-documents-status patch, see pipeline.ts, produce this status.)
  if (result.status === 'no_documents' || result.confidence >= threshold || input.escalate === false) {
    // Only what would be served without review is served again from the cache.
    if (cacheKey && result.confidence >= threshold) await answeringLocal.storeCachedAnswer({ key: cacheKey, result });
    progress.stage = 'done';
    log.info('answered', { status: result.status, confidence: result.confidence, threshold });
    return base;
  }
  // The answer model was unavailable: nothing was drafted, so the reviewer answers from the retrieved chunks.
  const unavailable = result.status === 'model_unavailable';
  const status: 'answered' | 'not_found' = result.status === 'answered' ? 'answered' : 'not_found';

  const info = workflowInfo();
  // Keyed by question and run: one task per answer run, and the same id when the run's history is replayed.
  const taskId = reviewWorkflowId(input.tenantId, `${questionKey(input.question)}-${info.runId.slice(0, 8)}`);
  log.info('escalating to review', { confidence: result.confidence, threshold });
  const task = await startChild(reviewTask, {
    workflowId: taskId,
    args: [
      {
        tenantId: input.tenantId,
        question: input.question,
        draft: {
          status,
          answer: result.answer,
          citations: result.citations,
          confidence: result.confidence,
          reason: unavailable ? 'MODEL_UNAVAILABLE' : 'LOW_CONFIDENCE',
          ...(result.calibration ? { calibration: result.calibration, signals: result.signals } : {}),
        },
        threshold,
        retrieved: result.retrieved,
        timeout: policy.reviewTimeout,
      },
    ],
    typedSearchAttributes: [
      { key: TenantIdKey, value: input.tenantId },
      { key: ReviewStatusKey, value: 'open' },
    ],
    // The task outlives a cancelled question: reviewers' corrections still feed evaluation.
    parentClosePolicy: ParentClosePolicy.ABANDON,
    staticSummary: unavailable
      ? `Answer a question for ${input.tenantId}: the answer model was unavailable`
      : `Review a low-confidence answer for ${input.tenantId} (confidence ${result.confidence.toFixed(2)} < ${threshold})`,
  });
  // Reported only once the task exists, so a caller that sees it can open it at once.
  progress.stage = 'awaiting_review';
  progress.reviewTaskId = taskId;
  const outcome = await task.result();
  progress.stage = 'done';
  // A reviewer's decision labels the draft for the tenant's calibration: approved means it was right.
  if (result.signals && outcome.decision !== 'expired' && patched('calibration-labels')) {
    await answering.recordLabels({
      tenantId: input.tenantId,
      labels: [
        {
          key: `review:${taskId}`,
          kind: status,
          signals: result.signals,
          correct: outcome.decision === 'approved',
        },
      ],
    });
  }

  const reviewed = { ...base, escalated: true, reviewTaskId: taskId, review: outcome };
  switch (outcome.decision) {
    case 'approved':
    case 'edited':
      return { ...reviewed, status: 'reviewed', answer: outcome.answer, citations: outcome.citations };
    case 'rejected':
      return { ...reviewed, status: 'rejected', answer: REJECTED_ANSWER, citations: [] };
    case 'expired':
      return { ...reviewed, status: 'review_expired', answer: EXPIRED_ANSWER, citations: [] };
  }
}

/** The run's trace id (see trace-context.ts) as an AnswerResult field, or nothing when the run is not traced. */
function traced(): { traceId?: string } {
  const traceId = runTraceId();
  return traceId ? { traceId } : {};
}
