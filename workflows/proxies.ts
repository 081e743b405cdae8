// Activity proxies with explicit timeouts and retry policies, one set per kind of work. Which failures are final is
// decided where they happen: the worker's failure-mapping interceptor marks bad input non-retryable by its code.
import { ActivityCancellationType, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Priority } from '@temporalio/common';
import type { Activities } from '../activities';
import {
  CHAT_ATTEMPT_TIMEOUT_MS,
  CHAT_BUDGET_MS,
  INGEST_STEP_HEARTBEAT_TIMEOUT_MS,
  PREPARE_DOCUMENT_HEARTBEAT_TIMEOUT_MS,
  PREPARE_DOCUMENT_TIMEOUT_MS,
} from '../common/timeouts';

/**
 * Parsing runs isolated with its own time limit below this timeout. It heartbeats while the parse runs, so a dead
 * worker is noticed within the heartbeat timeout, and a cancellation waits for the parse child to be killed.
 */
export const parsing = proxyActivities<Pick<Activities, 'prepareDocument'>>({
  startToCloseTimeout: PREPARE_DOCUMENT_TIMEOUT_MS,
  heartbeatTimeout: PREPARE_DOCUMENT_HEARTBEAT_TIMEOUT_MS,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  // Bad input fails at once (typed, non-retryable); a dependency down for a while (the vector store) is waited out.
  retry: { maximumAttempts: 6, initialInterval: '2s', maximumInterval: '30s' },
  summary: 'parse and stage document',
});

/** The same parse step on its own task queue (parseTaskQueue), with the ingestion's priority and fairness key. */
export function parsingOn(taskQueue: string, priority: Priority): typeof parsing {
  return proxyActivities<Pick<Activities, 'prepareDocument'>>({
    startToCloseTimeout: PREPARE_DOCUMENT_TIMEOUT_MS,
    heartbeatTimeout: PREPARE_DOCUMENT_HEARTBEAT_TIMEOUT_MS,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { maximumAttempts: 6, initialInterval: '2s', maximumInterval: '30s' },
    summary: 'parse and stage document',
    taskQueue,
    priority,
  });
}

/** A page of a batch's manifest (the document list kept in the blob store). */
export const batches = proxyActivities<Pick<Activities, 'readBatchPage'>>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '1s' },
  summary: 'read a page of the batch',
});

/**
 * Embedding may take long for big documents: it heartbeats every few seconds (its progress every batch) and resumes
 * after a retry; a killed worker's embedding is retried elsewhere within the heartbeat timeout.
 */
export const embedding = proxyActivities<Pick<Activities, 'embedAndUpsert'>>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: INGEST_STEP_HEARTBEAT_TIMEOUT_MS,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 8, initialInterval: '2s', maximumInterval: '1 minute' },
  summary: 'embed and upsert chunks',
});

export const storage = proxyActivities<
  Pick<Activities, 'activateDocument' | 'discardStagedDocument' | 'resolveCitations' | 'recordCorrection'>
>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' },
});

/**
 * Activation and clean-up of an ingestion heartbeat, so a killed worker's document moves on within seconds. They wait
 * for the store's write queue, which on a large LanceDB table may be retraining its vector index (143 s at 1M rows):
 * the heartbeat, not a short attempt limit, tells a stuck attempt from a waiting one.
 */
export const activation = proxyActivities<Pick<Activities, 'activateDocument' | 'discardStagedDocument'>>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: INGEST_STEP_HEARTBEAT_TIMEOUT_MS,
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' },
});

export const answering = proxyActivities<
  Pick<
    Activities,
    'tenantPolicy' | 'retrieveChunks' | 'verifyDraft' | 'generateFallbackDraft' | 'recordLabels' | 'refitCalibration'
  >
>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '1s', maximumInterval: '20s' },
});

/**
 * The cheap steps of an ask run as local activities on the workflow's worker: no task round trip, one marker event
 * each. The answer cache lives in that worker's memory, so its lookup and store run there too.
 */
export const answeringLocal = proxyLocalActivities<
  Pick<Activities, 'tenantPolicy' | 'lookupCachedAnswer' | 'storeCachedAnswer'>
>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3, initialInterval: '200ms', maximumInterval: '2s' },
});

/**
 * Retrieval and verification as local activities: store reads and (offline) embeddings of a few milliseconds, so the
 * ask saves two task round trips. Same timeout and retries as the regular ones; the draft stays a regular activity
 * (a chat model may take seconds and has its own budget).
 */
export const answeringLocalSteps = proxyLocalActivities<Pick<Activities, 'retrieveChunks' | 'verifyDraft'>>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '1s', maximumInterval: '20s' },
});

/**
 * Model calls: transient provider faults retry with backoff (or the provider's retry-after), within about a minute
 * in all. One request is bounded by GROUNDWORK_CHAT_TIMEOUT (20 s) below the attempt's limit; once the budget is
 * spent the question degrades (escalates with MODEL_UNAVAILABLE, or answers extractively) instead of failing.
 */
export const generation = proxyActivities<Pick<Activities, 'generateDraft'>>({
  startToCloseTimeout: CHAT_ATTEMPT_TIMEOUT_MS,
  scheduleToCloseTimeout: CHAT_BUDGET_MS,
  retry: { maximumAttempts: 3, initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '10s' },
  summary: 'draft answer',
});

/** A page of golden questions answered and scored inside one activity; it heartbeats per question. */
export const evaluationRun = proxyActivities<Pick<Activities, 'evaluateGoldenPage'>>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 3, initialInterval: '5s' },
  summary: 'evaluate a page of golden questions',
});

/** The run's golden set, merged with the tenant's corrections, kept in the evaluation store under its content hash. */
export const evaluationSets = proxyActivities<Pick<Activities, 'prepareGoldenSet'>>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5 },
  summary: 'prepare the golden set',
});

export const evaluationStore = proxyActivities<Pick<Activities, 'loadCorrections' | 'loadBaseline' | 'saveEvaluation'>>(
  {
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 5 },
  },
);

/**
 * The document lifecycle: each call removes one part of a document or tenant (idempotent, so retries finish a partial
 * run). Deleting a large tenant's points may take a while.
 */
export const documents = proxyActivities<Pick<Activities, 'deleteDocumentPart' | 'purgeTenantPart'>>({
  startToCloseTimeout: '10 minutes',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '1 minute' },
});

/** Recording a failed ingestion is best effort: a few quick tries, so the ingestion's own failure is not delayed. */
export const registry = proxyActivities<Pick<Activities, 'recordIngestFailure'>>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1s' },
  summary: 'record the failure in the document registry',
});
