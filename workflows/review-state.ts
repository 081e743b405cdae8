// What every review task starts from and how it escalates, shared by current and pre-Update review tasks.
import { msToNumber } from '@temporalio/common/lib/time';
import { log, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ReviewTaskInput, ReviewTaskState } from './definitions';
import { ReviewStatusKey } from './definitions';

export function openReviewState(input: ReviewTaskInput): ReviewTaskState {
  const openedAt = Date.now(); // workflow-safe: the SDK makes Date deterministic
  return {
    taskId: workflowInfo().workflowId,
    tenantId: input.tenantId,
    status: 'open',
    question: input.question,
    draft: input.draft,
    threshold: input.threshold,
    retrieved: input.retrieved,
    openedAt: new Date(openedAt).toISOString(),
    // Only read by queries (the review console), so adding it changes no history.
    escalatesAt: new Date(openedAt + msToNumber(input.timeout)).toISOString(),
    refused: [],
  };
}

/** Undecided past the timeout: listed as escalated for operators and reviewers. */
export function escalate(state: ReviewTaskState): void {
  state.status = 'escalated';
  state.escalatedAt = new Date().toISOString();
  upsertSearchAttributes([{ key: ReviewStatusKey, value: 'escalated' }]);
  log.warn('review task escalated', { tenantId: state.tenantId });
}
