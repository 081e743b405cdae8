// Review tasks started before decisions became Workflow Updates: completed by signals, with refusals recorded in
// the state query. Kept unchanged so that those runs replay and finish; new tasks never take this path.
import { allHandlersFinished, condition, log, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type {
  ApproveDecision,
  Citation,
  EditDecision,
  RejectDecision,
  ReviewOutcome,
  ReviewTaskInput,
} from './definitions';
import {
  ReviewStatusKey,
  legacyApproveSignal as approveSignal,
  legacyEditSignal as editSignal,
  legacyRejectSignal as rejectSignal,
  reviewStateQuery,
} from './definitions';
import { storage } from './proxies';
import { escalate, openReviewState } from './review-state';

type ApproveSignal = ApproveDecision;
type EditSignal = EditDecision;
type RejectSignal = RejectDecision;

type Decision =
  | { action: 'approve'; signal: ApproveSignal }
  | { action: 'edit'; signal: EditSignal }
  | { action: 'reject'; signal: RejectSignal };

export async function legacyReviewTask(input: ReviewTaskInput): Promise<ReviewOutcome> {
  const state = openReviewState(input);
  const retrievedIds = new Set(input.retrieved.map((r) => r.chunkId));
  const queue: Decision[] = [];

  const refuse = (action: string, reviewerId: string, reason: string): void => {
    state.refused.push({ action, reviewerId, reason, at: new Date().toISOString() });
    log.warn('review signal refused', { action, reason });
  };
  /** Signals cannot reply, so the checks that can fail are applied here and refusals are visible by query. */
  const accept = (decision: Decision): void => {
    const { signal } = decision;
    if (state.outcome) return refuse(decision.action, signal.reviewerId, 'the task is already decided');
    if (signal.tenantId !== input.tenantId)
      return refuse(decision.action, signal.reviewerId, 'reviewer is not of this tenant');
    if (!signal.reviewerId?.trim()) return refuse(decision.action, '', 'a reviewer id is required');
    if (decision.action === 'edit') {
      if (!decision.signal.answer?.trim()) return refuse('edit', signal.reviewerId, 'the corrected answer is empty');
      const foreign = decision.signal.citations.filter((c) => !retrievedIds.has(c.chunkId));
      if (foreign.length > 0)
        return refuse('edit', signal.reviewerId, 'citations must name chunks retrieved for this question');
    }
    if (decision.action === 'reject' && !decision.signal.reason?.trim())
      return refuse('reject', signal.reviewerId, 'a reason is required');
    queue.push(decision);
  };

  setHandler(approveSignal, (signal) => accept({ action: 'approve', signal }));
  setHandler(editSignal, (signal) => accept({ action: 'edit', signal }));
  setHandler(rejectSignal, (signal) => accept({ action: 'reject', signal }));
  setHandler(reviewStateQuery, () => state);

  let decided = await condition(() => queue.length > 0, input.timeout);
  if (!decided) {
    escalate(state);
    decided = await condition(() => queue.length > 0, input.timeout);
  }

  const decision = queue[0];
  let outcome: ReviewOutcome;
  if (!decided || !decision) {
    outcome = { decision: 'expired', answer: '', citations: [], decidedAt: new Date().toISOString() };
  } else if (decision.action === 'approve') {
    outcome = {
      decision: 'approved',
      reviewerId: decision.signal.reviewerId,
      answer: input.draft.answer,
      citations: input.draft.citations,
      note: decision.signal.note,
      decidedAt: new Date().toISOString(),
    };
  } else if (decision.action === 'edit') {
    const citations: Citation[] = await storage.resolveCitations({
      tenantId: input.tenantId,
      answer: decision.signal.answer,
      citations: decision.signal.citations,
    });
    outcome = {
      decision: 'edited',
      reviewerId: decision.signal.reviewerId,
      answer: decision.signal.answer.trim(),
      citations,
      note: decision.signal.note,
      decidedAt: new Date().toISOString(),
    };
  } else {
    outcome = {
      decision: 'rejected',
      reviewerId: decision.signal.reviewerId,
      answer: '',
      citations: [],
      note: decision.signal.reason,
      decidedAt: new Date().toISOString(),
    };
  }
  state.outcome = outcome;
  state.status = outcome.decision;
  upsertSearchAttributes([{ key: ReviewStatusKey, value: outcome.decision }]);
  await storage.recordCorrection({ tenantId: input.tenantId, question: input.question, outcome });
  await condition(allHandlersFinished);
  return outcome;
}
