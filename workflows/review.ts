// A human-review task: its own workflow, listed by TenantId and ReviewStatus. Reviewers decide it with Workflow
// Updates (approve, edit, reject) whose validators refuse a bad decision to the caller at once. Undecided, it
// escalates after the timeout and expires after another.
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  patched,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type {
  ApproveDecision,
  EditDecision,
  RejectDecision,
  ReviewOutcome,
  ReviewTaskInput,
  ReviewTaskState,
} from './definitions';
import { ReviewStatusKey, approveUpdate, editUpdate, rejectUpdate, reviewStateQuery } from './definitions';
import { storage } from './proxies';
import { legacyReviewTask } from './review-legacy';
import { escalate, openReviewState } from './review-state';

const refuse = (type: string, message: string): ApplicationFailure =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

export async function reviewTask(input: ReviewTaskInput): Promise<ReviewOutcome> {
  if (!patched('review-decisions-as-updates')) return legacyReviewTask(input);
  const state = openReviewState(input);
  setHandler(reviewStateQuery, () => state);
  registerDecisionHandlers(input, state);

  const decided = (): boolean => state.outcome !== undefined;
  if (!(await condition(decided, input.timeout))) {
    escalate(state);
    await condition(decided, input.timeout);
  }
  // A decision whose handler is still resolving citations when time runs out is let finish.
  await condition(() => decided() || !state.deciding);
  state.outcome ??= { decision: 'expired', answer: '', citations: [], decidedAt: new Date().toISOString() };
  const outcome = state.outcome;
  state.status = outcome.decision;
  upsertSearchAttributes([{ key: ReviewStatusKey, value: outcome.decision }]);
  await storage.recordCorrection({ tenantId: input.tenantId, question: input.question, outcome });
  await condition(allHandlersFinished);
  return outcome;
}

/** One decision at a time: validators refuse a second while the first is being applied or once it is made. */
function registerDecisionHandlers(input: ReviewTaskInput, state: ReviewTaskState): void {
  const retrievedIds = new Set(input.retrieved.map((r) => r.chunkId));

  const checkOpen = (d: { tenantId: string; reviewerId: string }): void => {
    // The task's tenant comes from the answer workflow that opened it; the decision's from the caller's credential.
    if (d.tenantId !== input.tenantId) throw refuse('REVIEW_NOT_FOUND', 'No such review task for this tenant.');
    if (state.outcome) {
      const by = state.outcome.reviewerId ? ` by ${state.outcome.reviewerId}` : '';
      throw refuse('REVIEW_CLOSED', `The review task is already ${state.outcome.decision}${by}.`);
    }
    if (state.deciding) throw refuse('REVIEW_CLOSED', 'Another decision on this task is being applied.');
    if (!d.reviewerId?.trim()) throw refuse('INVALID_INPUT', 'A reviewer id is required.');
  };

  const decide = async (make: () => Promise<Omit<ReviewOutcome, 'decidedAt'>>): Promise<ReviewOutcome> => {
    state.deciding = true;
    try {
      state.outcome = { ...(await make()), decidedAt: new Date().toISOString() };
      return state.outcome;
    } finally {
      state.deciding = false;
    }
  };

  setHandler(
    approveUpdate,
    (d: ApproveDecision) =>
      decide(async () => ({
        decision: 'approved',
        reviewerId: d.reviewerId,
        answer: input.draft.answer,
        citations: input.draft.citations,
        note: d.note,
      })),
    { validator: checkOpen },
  );
  setHandler(
    editUpdate,
    (d: EditDecision) =>
      decide(async () => {
        const answer = d.answer.trim();
        const citations = await storage.resolveCitations({ tenantId: input.tenantId, answer, citations: d.citations });
        return { decision: 'edited', reviewerId: d.reviewerId, answer, citations, note: d.note };
      }),
    {
      validator: (d: EditDecision) => {
        checkOpen(d);
        if (!d.answer?.trim()) throw refuse('INVALID_INPUT', 'The corrected answer is empty.');
        if (!Array.isArray(d.citations) || d.citations.some((c) => !retrievedIds.has(c?.chunkId))) {
          throw refuse('CITATION_NOT_RETRIEVED', 'Every citation must name a chunk retrieved for this question.');
        }
      },
    },
  );
  setHandler(
    rejectUpdate,
    (d: RejectDecision) =>
      decide(async () => ({
        decision: 'rejected',
        reviewerId: d.reviewerId,
        answer: '',
        citations: [],
        note: d.reason,
      })),
    {
      validator: (d: RejectDecision) => {
        checkOpen(d);
        if (!d.reason?.trim()) throw refuse('INVALID_INPUT', 'A reason is required to reject.');
      },
    },
  );
}
