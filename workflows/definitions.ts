// What clients and workflows share: messages, search attribute keys, workflow ID builders and the
// input/output types of every workflow. Deterministic and dependency-light: safe in the workflow sandbox.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { answerWorkflowId as questionWorkflowId, ingestWorkflowId, stableKey } from '../common/ids';
import type { Duration, SearchAttributePair } from '@temporalio/common';
import type { AnswerSignals } from '../activities/answer/signals';
import type { EvaluationTally } from './evaluation-scoring';

// ---------- search attributes (registered on the dev server by workers/dev-server.ts) ----------
export const TenantIdKey = defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD);
export const DocumentIdKey = defineSearchAttributeKey('DocumentId', SearchAttributeType.KEYWORD);
export const ReviewStatusKey = defineSearchAttributeKey('ReviewStatus', SearchAttributeType.KEYWORD);
export const EvalDriftKey = defineSearchAttributeKey('EvalDrift', SearchAttributeType.BOOL);
export const SEARCH_ATTRIBUTE_KEYS = [TenantIdKey, DocumentIdKey, ReviewStatusKey, EvalDriftKey] as const;

// ---------- identifiers ----------
// The rules live in common/ids.ts (one module for clients, activities and workflows); re-exported here so that
// everything a client shares with workflows can be imported from this module.
export {
  evaluationScheduleId,
  evaluationWorkflowId,
  ingestBatchWorkflowId,
  ingestWorkflowId,
  questionKey,
  reviewWorkflowId,
  deleteDocumentWorkflowId,
  purgeTenantWorkflowId,
} from '../common/ids';

// ---------- ingestion ----------
/** Workflow id, search attributes and summary of one document's ingestion: the same whoever starts it. */
export function ingestRunOptions(
  tenantId: string,
  documentId: string,
): { workflowId: string; typedSearchAttributes: SearchAttributePair[]; staticSummary: string } {
  return {
    workflowId: ingestWorkflowId(tenantId, documentId),
    typedSearchAttributes: [
      { key: TenantIdKey, value: tenantId },
      { key: DocumentIdKey, value: documentId },
    ],
    staticSummary: `Ingest ${documentId} for ${tenantId}`,
  };
}

/**
 * Sources are references, never bytes: a blob in the content-addressed blob store (`blob:<tenant>/<sha256>`, what
 * uploads and the CLI produce), or a path below the tenant's ingest root (GROUNDWORK_INGEST_ROOTS/<tenant>/). Inline
 * content is still read for runs started with it, and for small API uploads.
 */
export type DocumentSource =
  | { kind: 'blob'; ref: string; name: string }
  | { kind: 'path'; path: string }
  | { kind: 'inline'; name: string; contentBase64: string };

/** Inline sources travel through workflow history, so they are capped well below Temporal's payload limit. */
export const MAX_INLINE_BYTES = 192 * 1024;

export interface IngestDocumentInput {
  tenantId: string;
  documentId: string;
  source: DocumentSource;
  /** Display name used in citations (defaults to the file name). */
  sourceName?: string;
  /**
   * Reference (`secret:<id>`) to the password of an encrypted PDF in the secret store (common/secrets.ts): the
   * password itself never enters workflow history. prepareDocument reads it and removes it once it is used.
   */
  passwordRef?: string;
  /**
   * @deprecated The password in plain text, kept in history: only runs started before passwordRef carry it.
   * Clients pass the password to GroundworkClient.startIngest, which stores it and sends passwordRef.
   */
  password?: string;
  includeHiddenSheets?: boolean;
  /** Let PDF chunks flow across page breaks (they then cite page ranges). Default: chunks stay on one page. */
  chunkAcrossPages?: boolean;
}

export interface IngestWarningSummary {
  code: string;
  message: string;
  locator?: string;
}

export interface IngestDocumentResult {
  status: 'ingested' | 'unchanged';
  tenantId: string;
  documentId: string;
  version: string;
  chunks: number;
  retired: number;
  pages?: number;
  sheets?: number;
  ocrPages?: number;
  warnings: IngestWarningSummary[];
}

export interface IngestBatchInput {
  tenantId: string;
  batchKey: string;
  /** The documents, inline (batches started before manifests); empty when `manifest` holds them. */
  documents: Omit<IngestDocumentInput, 'tenantId'>[];
  /** The document list in the blob store (activities/batches.ts), read a page per run: history holds only this. */
  manifest?: { ref: string; total: number };
  concurrency?: number;
  /** Carried across continue-as-new. */
  progress?: IngestBatchProgress;
}

export interface IngestBatchProgress {
  next: number;
  ingested: number;
  unchanged: number;
  /** The first MAX_BATCH_FAILURES_LISTED failures (the registry has every document's last error). */
  failed: { documentId: string; code: string; message: string }[];
  /** All failures, listed or not (absent in runs from before the list was bounded: then failed.length). */
  failedCount?: number;
}

/** Failures a batch lists in its progress and result: the progress travels through continue-as-new. */
export const MAX_BATCH_FAILURES_LISTED = 200;

/** How many documents of a batch failed. */
export const batchFailures = (p: IngestBatchProgress): number => p.failedCount ?? p.failed.length;

export type IngestBatchResult = IngestBatchProgress & { total: number };

export const ingestProgressQuery = defineQuery<{ stage: string; detail?: string }>('ingestProgress');
export const batchProgressQuery = defineQuery<IngestBatchProgress & { total: number; running: number }>(
  'batchProgress',
);

// ---------- document lifecycle ----------
export interface DeleteDocumentInput {
  tenantId: string;
  documentId: string;
}

/** What a deletion removed: points of every version, blobs no other document uses, staging, the registry entry. */
export interface DeleteDocumentResult {
  tenantId: string;
  documentId: string;
  /** False when nothing of the document was found (no points, no registry entry). */
  found: boolean;
  points: number;
  blobs: number;
  staged: number;
  registry: number;
}

export interface PurgeTenantInput {
  tenantId: string;
}

/** What a tenant purge removed from the stores; the client adds the schedule and the review tasks it ended. */
export interface PurgeTenantResult {
  tenantId: string;
  points: number;
  blobs: number;
  staged: number;
  evaluations: number;
  documents: number;
}

// ---------- answering ----------
export interface Citation {
  documentId: string;
  sourceName?: string;
  /** Page or sheet/cell range, e.g. "p. 3" or "Revenue!A5:F12". */
  locator: string;
  chunkId: string;
  quote: string;
}

/** What the answer workflow keeps of a retrieved chunk: enough to cite it and to show reviewers. */
export interface RetrievedRef {
  chunkId: string;
  documentId: string;
  sourceName?: string;
  locator: string;
  score: number;
  /** First characters of the chunk, for reviewers. */
  preview: string;
}

export interface AnswerQuestionInput {
  tenantId: string;
  question: string;
  topK?: number;
  /** Default true. Evaluation runs pass false: no review tasks are opened. */
  escalate?: boolean;
  /** Overrides the tenant's configured threshold for this question. */
  threshold?: number;
  /** The prompt version (prompts/answer/vN.md) for this question; unset: the worker's GROUNDWORK_PROMPT_VERSION. */
  promptVersion?: string;
  /**
   * Serve only a cached answer, making no model call: without one the run ends at once with `not_cached`. The HTTP API
   * asks this way for a tenant over its model budget, so cached answers are still served.
   */
  onlyFromCache?: boolean;
}

/**
 * `no_documents`: the tenant has no active documents at all (an empty or misconfigured store), so nothing can be
 * said about the question; `not_found`: it has documents, but none answers the question; `not_cached`: an
 * onlyFromCache ask found no cached answer.
 */
export type AnswerStatus =
  | 'answered'
  | 'not_found'
  | 'no_documents'
  | 'model_unavailable'
  | 'not_cached'
  | 'reviewed'
  | 'rejected'
  | 'review_expired';

export interface AnswerResult {
  status: AnswerStatus;
  answer: string;
  citations: Citation[];
  confidence: number;
  threshold: number;
  escalated: boolean;
  reviewTaskId?: string;
  review?: ReviewOutcome;
  retrieved: RetrievedRef[];
  model: string;
  /** The calibration fit that computed the confidence (a shipped default or the tenant's own version). */
  calibration?: string;
  /** The signals the confidence was computed from, each in [0, 1]. */
  signals?: AnswerSignals;
  /** The chat model was unavailable after its retries: the question escalated, or the extractive answerer stood in. */
  degraded?: { reason: 'MODEL_UNAVAILABLE'; fallback: 'escalate' | 'extractive' };
  /** The prompt version (prompts/) the draft was generated with; absent for the offline extractive answerer. */
  promptVersion?: string;
  /** The OpenTelemetry trace of this ask (HTTP request → workflow → activities), when tracing is on. */
  traceId?: string;
  /** Served from the answer cache: the same question on the same corpus, models and prompt was answered before. */
  cached?: boolean;
}

/** The stages of the answering path, in order; the progress query reports one of them. */
export type AnswerStage = 'retrieving' | 'generating' | 'verifying' | 'awaiting_review' | 'done';

export const answerProgressQuery = defineQuery<{ stage: AnswerStage; reviewTaskId?: string }>('answerProgress');

/** The task queue parsing runs on: its own worker slots (GROUNDWORK_INGEST_CONCURRENCY, a memory budget). */
export const parseTaskQueue = (taskQueue: string): string => `${taskQueue}-parse`;

/**
 * Task priority of an ingestion: a single upload (priority 2) goes before the documents of a batch (4), and tasks
 * carry their tenant as fairness key, so one tenant's backlog is dispatched in turn with others' work.
 */
export const ingestPriority = (tenantId: string, inBatch: boolean): { priorityKey: number; fairnessKey: string } => ({
  priorityKey: inBatch ? 4 : 2,
  fairnessKey: tenantId,
});

/** What a waiting caller gets: the answer, or the review task the question now waits on. */
export type AnswerOutcome = { kind: 'answer'; result: AnswerResult } | { kind: 'escalated'; reviewTaskId: string };

/** Completes once the answer is known or the question waits for a reviewer; sent with the start by waiting callers. */
export const answerOutcomeUpdate = defineUpdate<AnswerOutcome>('answerOutcome');

export const NOT_CACHED_ANSWER =
  'No cached answer to this question, and the tenant may not make new model calls now (its model budget is spent).';
export const NOT_FOUND_ANSWER = 'The documents do not contain an answer to this question.';
export const NO_DOCUMENTS_ANSWER = 'This tenant has no documents yet.';
export const MODEL_UNAVAILABLE_ANSWER =
  'The answer model is unavailable right now; the question needs a reviewer or a later retry.';
export const REJECTED_ANSWER = 'A reviewer rejected the drafted answer; no answer can be given from the documents.';
export const EXPIRED_ANSWER = 'No reviewer completed the review in time; no verified answer is available.';

/**
 * The answer run of a request: the same question with the same options is the same run (a second ask joins it);
 * other options (topK, escalate: false, a threshold) make another run, so a request never receives the outcome of a
 * run that was asked for differently (e.g. --no-escalate joining a run that waits for a reviewer).
 */
export function answerWorkflowId(
  tenantId: string,
  question: string,
  options: Pick<AnswerQuestionInput, 'topK' | 'escalate' | 'threshold' | 'promptVersion'> = {},
): string {
  const parts: string[] = [];
  if (options.promptVersion !== undefined) parts.push(`p=${options.promptVersion}`);
  if (options.topK !== undefined) parts.push(`k=${options.topK}`);
  if (options.escalate === false) parts.push('no-escalate');
  if (options.threshold !== undefined) parts.push(`t=${options.threshold}`);
  const base = questionWorkflowId(tenantId, question);
  return parts.length === 0 ? base : `${base}-${stableKey(parts.join('|')).slice(0, 8)}`;
}

// ---------- review ----------
export type ReviewStatus = 'open' | 'escalated' | 'approved' | 'edited' | 'rejected' | 'expired';

export interface ReviewTaskInput {
  tenantId: string;
  question: string;
  draft: {
    status: 'answered' | 'not_found';
    answer: string;
    citations: Citation[];
    confidence: number;
    /** Why it needs a reviewer: low confidence (the default), or the answer model was unavailable. */
    reason?: 'LOW_CONFIDENCE' | 'MODEL_UNAVAILABLE';
    /** The calibration fit and the signals behind the confidence; reviewers see the weakest ones. */
    calibration?: string;
    signals?: AnswerSignals;
  };
  threshold: number;
  retrieved: RetrievedRef[];
  /** How long reviewers have before the task escalates; the same again before it expires. */
  timeout: Duration;
}

/** Every decision names its tenant (from the caller's credential) and reviewer; the task checks both. */
export interface ApproveDecision {
  tenantId: string;
  reviewerId: string;
  note?: string;
}
export interface EditDecision {
  tenantId: string;
  reviewerId: string;
  answer: string;
  /** Chunks the corrected answer cites: each must be one retrieved for this question. */
  citations: { chunkId: string; quote?: string }[];
  note?: string;
}
export interface RejectDecision {
  tenantId: string;
  reviewerId: string;
  reason: string;
}

/**
 * Decisions are Workflow Updates: their validators refuse a bad decision to the caller (an ApplicationFailure whose
 * type is REVIEW_CLOSED, REVIEW_NOT_FOUND, CITATION_NOT_RETRIEVED or INVALID_INPUT), and an accepted one returns
 * the outcome.
 */
export const approveUpdate = defineUpdate<ReviewOutcome, [ApproveDecision]>('approveReview');
export const editUpdate = defineUpdate<ReviewOutcome, [EditDecision]>('editReview');
export const rejectUpdate = defineUpdate<ReviewOutcome, [RejectDecision]>('rejectReview');

/** Signals of review tasks started before decisions became Updates: kept only so those runs can finish. */
export const legacyApproveSignal = defineSignal<[ApproveDecision]>('approve');
export const legacyEditSignal = defineSignal<[EditDecision]>('edit');
export const legacyRejectSignal = defineSignal<[RejectDecision]>('reject');

/**
 * A reviewer claims a task before deciding it, so two reviewers never work on the same one. The claim lapses after
 * `ttlMs` (the client's GROUNDWORK_REVIEW_CLAIM_TIMEOUT, capped by the task) unless renewed; the holder may release
 * it. Refusals: REVIEW_CLAIMED (another reviewer holds it), REVIEW_CLOSED, REVIEW_NOT_FOUND, INVALID_INPUT.
 */
export interface ClaimRequest {
  tenantId: string;
  reviewerId: string;
  ttlMs?: number;
}
export interface ReviewClaim {
  reviewerId: string;
  claimedAt: string;
  expiresAt: string;
  /** In a claim Update's result: true when the reviewer already held the claim (it was renewed). */
  renewed?: boolean;
}
export const claimUpdate = defineUpdate<ReviewClaim, [ClaimRequest]>('claimReview');
export const releaseUpdate = defineUpdate<{ released: boolean }, [ClaimRequest]>('releaseReview');

/**
 * The claim holder searches the tenant's documents for a chunk that retrieval missed; the hits (found by a
 * tenant-scoped activity, so never another tenant's) become citable by an edit of this task.
 */
export interface SourceSearchRequest {
  tenantId: string;
  reviewerId: string;
  text: string;
}
export const searchSourcesUpdate = defineUpdate<RetrievedRef[], [SourceSearchRequest]>('searchReviewSources');

/** Where a review task's notification and source views go; both are best-effort and never block a decision. */
export type ReviewEvent = 'opened' | 'escalated';

export interface ReviewOutcome {
  decision: 'approved' | 'edited' | 'rejected' | 'expired';
  reviewerId?: string;
  answer: string;
  citations: Citation[];
  note?: string;
  decidedAt: string;
}

export interface ReviewTaskState {
  taskId: string;
  tenantId: string;
  status: ReviewStatus;
  question: string;
  draft: ReviewTaskInput['draft'];
  threshold: number;
  retrieved: RetrievedRef[];
  openedAt: string;
  escalatedAt?: string;
  outcome?: ReviewOutcome;
  /** True while an accepted decision is being applied (an edit's citations are being resolved). */
  deciding?: boolean;
  /** When an undecided task escalates (openedAt plus the timeout); absent on tasks from before the console. */
  escalatesAt?: string;
  /** The reviewer working on the task, until the claim lapses, is released or the task is decided. */
  claim?: ReviewClaim;
  /** Chunks found by a reviewer's search (searchSourcesUpdate): citable by an edit besides the retrieved ones. */
  found?: RetrievedRef[];
  /** Only review tasks started before decisions became Updates record refused signals here. */
  refused: { action: string; reviewerId: string; reason: string; at: string }[];
}

export const reviewStateQuery = defineQuery<ReviewTaskState>('reviewState');

// ---------- evaluation ----------
export interface GoldenQuestion {
  question: string;
  /** Documents a good retrieval must include (any of them). Empty or absent: not scored for retrieval. */
  expectedDocuments?: string[];
  /** False for questions the documents cannot answer: the right outcome is "not in the documents". */
  expectAnswer?: boolean;
  /** Optional text the answer should contain (case-insensitive). */
  expectedAnswerContains?: string;
}

export interface EvaluateTenantInput {
  tenantId: string;
  /** Questions given inline; empty when they come by `goldenRef`. */
  golden: GoldenQuestion[];
  /**
   * The golden set's content hash in the tenant's evaluation store (the client kept it there with saveGoldenSet):
   * what a client connected to the deployment's stores passes, so no history carries the questions.
   */
  goldenRef?: string;
  /** Include reviewer corrections recorded for the tenant (default true). */
  includeCorrections?: boolean;
  /** Make this run the tenant's new baseline. */
  setBaseline?: boolean;
  /** Set by the workflow itself when it continues as new: where the run stands. */
  resume?: EvaluationResume;
  /**
   * Answer with this prompt version instead of the worker's pinned one (`eval compare`). Such a run is an experiment:
   * it records no calibration labels, refits nothing and never becomes the baseline unless setBaseline says so.
   */
  promptVersion?: string;
}

/** What a continued evaluation carries: the next golden question, the tally so far, the wrong answers so far. */
export interface EvaluationResume {
  runKey: string;
  cursor: number;
  tally: EvaluationTally;
  failures: EvaluationQuestionResult[];
  /** Served-wrong count, latencies, prompt versions and models so far (runs from before them carry none). */
  stats?: EvaluationRunStats;
  /** The run's golden set in the evaluation store: its content hash and size (runs with their set inline carry none). */
  set?: { ref: string; total: number };
}

/** What an evaluation counts besides the tally: answers served wrong, answer latencies, prompt versions and models. */
export interface EvaluationRunStats {
  /** Wrong answers at or above the threshold: what users would have been served without review. */
  servedWrong: number;
  /** Each question's answering time in ms, rounded. */
  latenciesMs: number[];
  /** The prompt versions and models the drafts recorded (an extractive fallback adds its model, no version). */
  promptVersions: string[];
  models: string[];
}

export interface EvaluationMetrics {
  questions: number;
  retrievalHitRate: number | null;
  answerAccuracy: number;
  abstentionAccuracy: number | null;
  meanConfidence: number;
  escalationRate: number;
}

export interface EvaluationQuestionResult {
  question: string;
  status: 'answered' | 'not_found' | 'no_documents' | 'model_unavailable';
  confidence: number;
  retrievalHit: boolean | null;
  correct: boolean;
}

export interface EvaluationReport {
  tenantId: string;
  runAt: string;
  metrics: EvaluationMetrics;
  baseline?: EvaluationMetrics;
  drift: { detected: boolean; reasons: string[] };
  results: EvaluationQuestionResult[];
  /**
   * `failures`: `results` lists the wrong answers only (at most 200; every result is kept in the evaluation store),
   * as evaluations run in pages do. Absent: every question.
   */
  resultsScope?: 'failures';
  /** The tenant's calibration after this run: refitted once it has enough labelled outcomes. */
  calibration?: { version: string; labels: number; refitted: boolean };
  /** The prompt version the drafts were asked with (several, comma-separated, if the pin changed mid-run). */
  promptVersion?: string;
  /** The answer model(s) of the drafts, comma-separated (a chat model, plus `extractive` when it stood in). */
  model?: string;
  /** Share of questions answered wrong at or above the threshold (served without review); absent in older reports. */
  servedWrongRate?: number;
  /** Median answering time of a golden question in ms (retrieve, draft, verify); absent in older reports. */
  p50LatencyMs?: number | null;
}
