// A human-review task: its own workflow, listed by TenantId and ReviewStatus. Reviewers decide it with Workflow
// Updates (approve, edit, reject) whose validators refuse a bad decision to the caller at once. Undecided, it
// escalates after the timeout and expires after another. Since the review-claims patch a reviewer claims the task
// first (an Update; the claim lapses or is released), only the holder decides, reviewers are notified by webhook
// when it opens or escalates, and the views of its sources are prepared for the review console.
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type {
  ApproveDecision,
  ClaimRequest,
  EditDecision,
  RejectDecision,
  ReviewEvent,
  ReviewOutcome,
  ReviewTaskInput,
  ReviewTaskState,
  SourceSearchRequest,
} from './definitions';
import {
  ReviewStatusKey,
  approveUpdate,
  claimUpdate,
  editUpdate,
  rejectUpdate,
  releaseUpdate,
  reviewStateQuery,
  searchSourcesUpdate,
} from './definitions';
import { storage } from './proxies';
import { legacyReviewTask } from './review-legacy';
import { escalate, openReviewState } from './review-state';

/** A webhook delivery retries with backoff for a few minutes; after that it is logged and given up. */
const notifications = proxyActivities<Pick<Activities, 'notifyReviewers'>>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 6, initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute' },
  summary: 'notify reviewers',
});
/** Source views (rendered pages, sheet rows, lines) and the reviewer's search of the tenant's documents. */
const reviewSources = proxyActivities<Pick<Activities, 'prepareReviewSources' | 'searchReviewSources'>>({
  startToCloseTimeout: '3 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3, initialInterval: '2s' },
  summary: 'prepare review sources',
});

/** Claims last at least this long and at most this long, whatever the client asks. */
const MIN_CLAIM_MS = 1_000;
const MAX_CLAIM_MS = 24 * 60 * 60 * 1000;
const DEFAULT_CLAIM_MS = 15 * 60 * 1000;

const refuse = (type: string, message: string): ApplicationFailure =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

export async function reviewTask(input: ReviewTaskInput): Promise<ReviewOutcome> {
  if (!patched('review-decisions-as-updates')) return legacyReviewTask(input);
  // Tasks started before claims existed keep deciding without one (and without notifications) until they close.
  const claims = patched('review-claims');
  const state = openReviewState(input);
  setHandler(reviewStateQuery, () => state);
  registerDecisionHandlers(input, state, claims);

  const decided = (): boolean => state.outcome !== undefined;
  if (claims) {
    registerClaimHandlers(input, state);
    void lapseClaims(state, decided);
    notify(input, state, 'opened');
    void reviewSources
      .prepareReviewSources({ tenantId: input.tenantId, taskId: state.taskId, chunkIds: citableIds(input, state) })
      .catch(() => log.warn('review sources not prepared', { taskId: state.taskId }));
  }
  if (!(await condition(decided, input.timeout))) {
    escalate(state);
    if (claims) notify(input, state, 'escalated');
    await condition(decided, input.timeout);
  }
  // A decision whose handler is still resolving citations when time runs out is let finish.
  await condition(() => decided() || !state.deciding);
  state.outcome ??= { decision: 'expired', answer: '', citations: [], decidedAt: new Date().toISOString() };
  const outcome = state.outcome;
  state.status = outcome.decision;
  state.claim = undefined;
  upsertSearchAttributes([{ key: ReviewStatusKey, value: outcome.decision }]);
  await storage.recordCorrection({ tenantId: input.tenantId, question: input.question, outcome });
  await condition(allHandlersFinished);
  return outcome;
}

/** Started, not awaited: a failed delivery is logged by the activity and here, and never blocks the task. */
function notify(input: ReviewTaskInput, state: ReviewTaskState, event: ReviewEvent): void {
  void notifications
    .notifyReviewers({
      tenantId: input.tenantId,
      taskId: state.taskId,
      event,
      confidence: input.draft.confidence,
      threshold: input.threshold,
      // An activity argument, not a command: the escalation metric's reason label (workers/activity-metrics.ts).
      reason: input.draft.reason ?? 'LOW_CONFIDENCE',
    })
    .catch(() => log.warn('review notification not delivered', { taskId: state.taskId, event }));
}

function citableIds(input: ReviewTaskInput, state: ReviewTaskState): string[] {
  return [...input.retrieved, ...(state.found ?? [])].map((r) => r.chunkId);
}

const claimHeld = (state: ReviewTaskState): boolean =>
  state.claim !== undefined && Date.parse(state.claim.expiresAt) > Date.now();

/** Ends each claim when its time is up, unless it was renewed, released or the task decided meanwhile. */
async function lapseClaims(state: ReviewTaskState, decided: () => boolean): Promise<void> {
  for (;;) {
    await condition(() => state.claim !== undefined || decided());
    if (decided()) return;
    const claim = state.claim;
    if (!claim) continue;
    const left = Math.max(1, Date.parse(claim.expiresAt) - Date.now());
    const changed = await condition(() => state.claim !== claim || decided(), left);
    if (!changed) {
      state.claim = undefined;
      log.info('review claim lapsed', { taskId: state.taskId });
    }
  }
}

function checkOpen(input: ReviewTaskInput, state: ReviewTaskState, d: { tenantId: string; reviewerId: string }): void {
  // The task's tenant comes from the answer workflow that opened it; the decision's from the caller's credential.
  if (d.tenantId !== input.tenantId) throw refuse('REVIEW_NOT_FOUND', 'No such review task for this tenant.');
  if (state.outcome) {
    const by = state.outcome.reviewerId ? ` by ${state.outcome.reviewerId}` : '';
    throw refuse('REVIEW_CLOSED', `The review task is already ${state.outcome.decision}${by}.`);
  }
  if (state.deciding) throw refuse('REVIEW_CLOSED', 'Another decision on this task is being applied.');
  if (!d.reviewerId?.trim()) throw refuse('INVALID_INPUT', 'A reviewer id is required.');
}

/** The caller must hold the claim (refused at once otherwise, naming the holder). */
function checkClaimedBy(state: ReviewTaskState, reviewerId: string): void {
  if (!claimHeld(state)) throw refuse('REVIEW_NOT_CLAIMED', 'Claim the task before working on it.');
  checkNotClaimedByOther(state, reviewerId);
}

function checkNotClaimedByOther(state: ReviewTaskState, reviewerId: string): void {
  if (claimHeld(state) && state.claim?.reviewerId !== reviewerId)
    throw refuse('REVIEW_CLAIMED', `The review task is claimed by ${state.claim?.reviewerId}.`);
}

function registerClaimHandlers(input: ReviewTaskInput, state: ReviewTaskState): void {
  setHandler(
    claimUpdate,
    (c: ClaimRequest) => {
      const ttl = Math.min(MAX_CLAIM_MS, Math.max(MIN_CLAIM_MS, Math.round(c.ttlMs ?? DEFAULT_CLAIM_MS)));
      const now = Date.now();
      // The holder renewing keeps the time it first claimed.
      const renewed = claimHeld(state) && state.claim?.reviewerId === c.reviewerId;
      const claimedAt = renewed && state.claim ? state.claim.claimedAt : new Date(now).toISOString();
      state.claim = { reviewerId: c.reviewerId, claimedAt, expiresAt: new Date(now + ttl).toISOString() };
      return { ...state.claim, renewed };
    },
    {
      validator: (c: ClaimRequest) => {
        checkOpen(input, state, c);
        if (c.ttlMs !== undefined && !(Number.isFinite(c.ttlMs) && c.ttlMs > 0))
          throw refuse('INVALID_INPUT', 'A claim lasts a positive number of milliseconds.');
        if (claimHeld(state) && state.claim?.reviewerId !== c.reviewerId)
          throw refuse('REVIEW_CLAIMED', `The review task is claimed by ${state.claim?.reviewerId}.`);
      },
    },
  );
  setHandler(
    releaseUpdate,
    (c: ClaimRequest) => {
      const held = claimHeld(state) && state.claim?.reviewerId === c.reviewerId;
      if (held) state.claim = undefined;
      return { released: held };
    },
    {
      validator: (c: ClaimRequest) => {
        checkOpen(input, state, c);
        if (claimHeld(state) && state.claim?.reviewerId !== c.reviewerId)
          throw refuse('REVIEW_CLAIMED', `The review task is claimed by ${state.claim?.reviewerId}.`);
      },
    },
  );
  setHandler(
    searchSourcesUpdate,
    async (q: SourceSearchRequest) => {
      const hits = await reviewSources.searchReviewSources({ tenantId: input.tenantId, text: q.text.trim(), limit: 8 });
      const known = new Set(citableIds(input, state));
      state.found = [...(state.found ?? []), ...hits.filter((h) => !known.has(h.chunkId))].slice(-50);
      return hits;
    },
    {
      validator: (q: SourceSearchRequest) => {
        checkOpen(input, state, q);
        checkClaimedBy(state, q.reviewerId);
        if (typeof q.text !== 'string' || q.text.trim().length < 2 || q.text.length > 500)
          throw refuse('INVALID_INPUT', 'Search with 2 to 500 characters.');
      },
    },
  );
}

/** One decision at a time: validators refuse a second while the first is being applied or once it is made. */
function registerDecisionHandlers(input: ReviewTaskInput, state: ReviewTaskState, claims: boolean): void {
  const retrievedIds = new Set(input.retrieved.map((r) => r.chunkId));
  const citable = (chunkId: unknown): boolean =>
    typeof chunkId === 'string' &&
    (retrievedIds.has(chunkId) || (state.found ?? []).some((f) => f.chunkId === chunkId));

  // While a claim is held only its holder decides. An unclaimed task may be decided in one Update (the CLI, the v1
  // API): the decision is its own claim, and one decision at a time is applied, so two reviewers never both decide.
  const checkDecision = (d: { tenantId: string; reviewerId: string }): void => {
    checkOpen(input, state, d);
    if (claims) checkNotClaimedByOther(state, d.reviewerId);
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
    { validator: checkDecision },
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
        checkDecision(d);
        if (!d.answer?.trim()) throw refuse('INVALID_INPUT', 'The corrected answer is empty.');
        if (!Array.isArray(d.citations) || d.citations.some((c) => !citable(c?.chunkId))) {
          throw refuse(
            'CITATION_NOT_RETRIEVED',
            claims
              ? "Every citation must name a chunk retrieved for this question or found by a search of this tenant's documents."
              : 'Every citation must name a chunk retrieved for this question.',
          );
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
        checkDecision(d);
        if (!d.reason?.trim()) throw refuse('INVALID_INPUT', 'A reason is required to reject.');
      },
    },
  );
}
