// Activity proxies with explicit timeouts and retry policies, one set per kind of work.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const NON_RETRYABLE_INPUT = ['INVALID_TENANT', 'INVALID_DOCUMENT_ID', 'SOURCE_NOT_FOUND', 'STAGING_MISMATCH', 'TENANT_MISMATCH'];

/** Parsing runs isolated with its own time limit; the activity timeout sits above it. */
export const parsing = proxyActivities<Pick<Activities, 'prepareDocument'>>({
  startToCloseTimeout: '10 minutes',
  retry: { maximumAttempts: 3, initialInterval: '2s', nonRetryableErrorTypes: NON_RETRYABLE_INPUT },
  summary: 'parse and stage document',
});

/** Embedding may take long for big documents: it heartbeats every batch and resumes after a retry. */
export const embedding = proxyActivities<Pick<Activities, 'embedAndUpsert'>>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 8, initialInterval: '2s', maximumInterval: '1 minute', nonRetryableErrorTypes: NON_RETRYABLE_INPUT },
  summary: 'embed and upsert chunks',
});

export const storage = proxyActivities<Pick<Activities, 'activateDocument' | 'discardStagedDocument' | 'resolveCitations' | 'recordCorrection'>>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes: NON_RETRYABLE_INPUT },
});

export const answering = proxyActivities<Pick<Activities, 'tenantPolicy' | 'retrieveChunks' | 'verifyDraft'>>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '1s', maximumInterval: '20s', nonRetryableErrorTypes: NON_RETRYABLE_INPUT },
});

/** Model calls: transient provider faults retry with backoff (or the provider's retry-after). */
export const generation = proxyActivities<Pick<Activities, 'generateDraft'>>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 6, initialInterval: '2s', maximumInterval: '1 minute', nonRetryableErrorTypes: ['MODEL_REQUEST_REJECTED'] },
  summary: 'draft answer',
});

export const evaluationStore = proxyActivities<Pick<Activities, 'loadCorrections' | 'loadBaseline' | 'saveEvaluation'>>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
});
