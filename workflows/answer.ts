// Answering: retrieve (tenant-scoped) → generate → verify → confidence. Below the tenant's threshold the
// answer goes to a human-review task and the reviewed outcome is returned.
import { ParentClosePolicy, log, patched, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import type { AnswerQuestionInput, AnswerResult, AnswerStage } from './definitions';
import {
  EXPIRED_ANSWER,
  REJECTED_ANSWER,
  ReviewStatusKey,
  TenantIdKey,
  answerProgressQuery,
  reviewWorkflowId,
  questionKey,
} from './definitions';
import { answering, answeringLocal } from './proxies';
import { runAnswerPipeline } from './pipeline';
import { reviewTask } from './review';

export async function answerQuestion(input: AnswerQuestionInput): Promise<AnswerResult> {
  let stage: AnswerStage = 'retrieving';
  let reviewTaskId: string | undefined;
  setHandler(answerProgressQuery, () => ({ stage, reviewTaskId }));

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
    });
    if (cached.hit) {
      stage = 'done';
      log.info('answered from cache', { status: cached.hit.status, confidence: cached.hit.confidence, threshold });
      return { ...cached.hit, threshold, escalated: false, cached: true };
    }
    cacheKey = cached.key;
  }
  const result = await runAnswerPipeline(
    input.tenantId,
    input.question,
    topK,
    (s) => (stage = s),
    policy.modelFallback,
  );

  const base: AnswerResult = { ...result, threshold, escalated: false };
  // A tenant without documents is never sent to review: there is nothing a reviewer could cite or correct. (Only
  // runs with the no-documents-status patch, see pipeline.ts, produce this status.)
  if (result.status === 'no_documents' || result.confidence >= threshold || input.escalate === false) {
    // Only what would be served without review is served again from the cache.
    if (cacheKey && result.confidence >= threshold) await answeringLocal.storeCachedAnswer({ key: cacheKey, result });
    stage = 'done';
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
  stage = 'awaiting_review';
  reviewTaskId = taskId;
  const outcome = await task.result();
  stage = 'done';
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

  const reviewed = { ...base, escalated: true, reviewTaskId, review: outcome };
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
