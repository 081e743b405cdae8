// Activity proxies with explicit timeouts and retry policies, one set per kind of work. Which failures are final is
// decided where they happen: the worker's failure-mapping interceptor marks bad input non-retryable by its code.
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { PREPARE_DOCUMENT_HEARTBEAT_TIMEOUT_MS, PREPARE_DOCUMENT_TIMEOUT_MS } from '../common/timeouts';

/**
 * Parsing runs isolated with its own time limit below this timeout. It heartbeats while the parse runs, so a dead
 * worker is noticed within the heartbeat timeout, and a cancellation waits for the parse child to be killed.
 */
export const parsing = proxyActivities<Pick<Activities, 'prepareDocument'>>({
  startToCloseTimeout: PREPARE_DOCUMENT_TIMEOUT_MS,
  heartbeatTimeout: PREPARE_DOCUMENT_HEARTBEAT_TIMEOUT_MS,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { maximumAttempts: 3, initialInterval: '2s' },
  summary: 'parse and stage document',
});

/** Embedding may take long for big documents: it heartbeats every batch and resumes after a retry. */
export const embedding = proxyActivities<Pick<Activities, 'embedAndUpsert'>>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
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

export const answering = proxyActivities<Pick<Activities, 'tenantPolicy' | 'retrieveChunks' | 'verifyDraft'>>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '1s', maximumInterval: '20s' },
});

/** Model calls: transient provider faults retry with backoff (or the provider's retry-after). */
export const generation = proxyActivities<Pick<Activities, 'generateDraft'>>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 6, initialInterval: '2s', maximumInterval: '1 minute' },
  summary: 'draft answer',
});

export const evaluationStore = proxyActivities<Pick<Activities, 'loadCorrections' | 'loadBaseline' | 'saveEvaluation'>>(
  {
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 5 },
  },
);
