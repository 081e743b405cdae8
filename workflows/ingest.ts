// Ingestion: parse (by reference) → embed and upsert in batches → activate the new version and retire
// the old. Same content again is a no-op; a failure leaves the previously active version untouched.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type {
  IngestBatchInput,
  IngestBatchProgress,
  IngestBatchResult,
  IngestDocumentInput,
  IngestDocumentResult,
} from './definitions';
import {
  MAX_BATCH_FAILURES_LISTED,
  batchFailures,
  batchProgressQuery,
  ingestPriority,
  ingestProgressQuery,
  ingestRunOptions,
  parseTaskQueue,
} from './definitions';
import { activation, batches, embedding, parsing, parsingOn, registry } from './proxies';

/**
 * The workflow fails with the activity's ApplicationFailure itself, so that the failure type operators and
 * clients see on the run is the stable error code (e.g. PDF_ENCRYPTED), not a generic "activity failed".
 */
export async function ingestDocument(input: IngestDocumentInput): Promise<IngestDocumentResult> {
  try {
    return await ingestDocumentSteps(input);
  } catch (err) {
    const failure = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : err;
    // The document registry shows what failed; runs started before this step existed replay without it.
    if (!isCancellation(err) && patched('record-ingest-failure')) await recordIngestFailure(input, failure);
    throw failure;
  }
}

/** Best effort: a registry that cannot be written must not hide the ingestion's own failure code. */
async function recordIngestFailure(input: IngestDocumentInput, failure: unknown): Promise<void> {
  const code = failure instanceof ApplicationFailure && failure.type ? failure.type : 'INGEST_FAILED';
  const message = failure instanceof Error ? failure.message : 'Ingestion failed.';
  // Only a blob reference is passed on (the registry deletes it with the document); inline bytes stay out.
  const source = input.source.kind === 'blob' ? input.source : undefined;
  try {
    await CancellationScope.nonCancellable(() =>
      registry.recordIngestFailure({ tenantId: input.tenantId, documentId: input.documentId, code, message, source }),
    );
  } catch (err) {
    log.warn('the failed ingestion could not be recorded in the document registry', {
      documentId: input.documentId,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}

async function ingestDocumentSteps(input: IngestDocumentInput): Promise<IngestDocumentResult> {
  let stage = 'parsing';
  setHandler(ingestProgressQuery, () => ({ stage }));

  // Runs from before the parse queue keep parsing on the workflow's own queue.
  const prepared = patched('parse-task-queue')
    ? await parsingOn(
        parseTaskQueue(workflowInfo().taskQueue),
        ingestPriority(input.tenantId, workflowInfo().parent !== undefined),
      ).prepareDocument(input)
    : await parsing.prepareDocument(input);
  const base = { tenantId: input.tenantId, documentId: input.documentId, version: prepared.version };
  if (prepared.unchanged || !prepared.stagingRef) {
    stage = 'done';
    return { ...base, status: 'unchanged', chunks: prepared.chunks, retired: 0, warnings: [] };
  }
  const stagingRef = prepared.stagingRef;
  try {
    stage = 'embedding';
    await embedding.embedAndUpsert({ ...base, stagingRef });
    stage = 'activating';
    const { retired } = await activation.activateDocument({ ...base, stagingRef });
    stage = 'done';
    log.info('document ingested', {
      documentId: input.documentId,
      version: prepared.version,
      chunks: prepared.chunks,
      retired,
    });
    return {
      ...base,
      status: 'ingested',
      chunks: prepared.chunks,
      retired,
      pages: prepared.pages,
      sheets: prepared.sheets,
      ocrPages: prepared.ocrPages,
      warnings: prepared.warnings,
    };
  } catch (err) {
    stage = 'cleaning up';
    // Staged points and files of this run are removed; the active version (if any) was never touched. A cancelled
    // scope refuses to schedule activities, so the clean-up runs in a scope that cancellation cannot reach.
    const cleanup = { tenantId: input.tenantId, documentId: input.documentId, stagingRef };
    if (patched('cleanup-survives-cancellation'))
      await CancellationScope.nonCancellable(() => activation.discardStagedDocument(cleanup));
    else await activation.discardStagedDocument(cleanup);
    throw err;
  }
}

/** Documents per run before continuing as new: keeps each history far below Temporal's limits. */
const DOCUMENTS_PER_RUN = 100;
/** Clients pass GROUNDWORK_INGEST_CONCURRENCY; these bound what any caller may ask for. */
const DEFAULT_BATCH_CONCURRENCY = 4;
const MAX_BATCH_CONCURRENCY = 32;

export async function ingestBatch(input: IngestBatchInput): Promise<IngestBatchResult> {
  const total = input.manifest?.total ?? input.documents.length;
  const progress: IngestBatchProgress = input.progress ?? { next: 0, ingested: 0, unchanged: 0, failed: [] };
  const concurrency = Math.max(1, Math.min(input.concurrency ?? DEFAULT_BATCH_CONCURRENCY, MAX_BATCH_CONCURRENCY));
  let running = 0;
  setHandler(batchProgressQuery, () => ({ ...progress, total, running }));

  const runEnd = Math.min(total, progress.next + DOCUMENTS_PER_RUN);
  // A manifest batch reads this run's documents by reference; an inline batch (started before manifests) has them.
  const runStart = progress.next;
  const page =
    input.manifest && runStart < runEnd
      ? await batches.readBatchPage({
          tenantId: input.tenantId,
          ref: input.manifest.ref,
          offset: runStart,
          limit: runEnd - runStart,
        })
      : undefined;
  const pending: Promise<void>[] = [];
  while (progress.next < runEnd) {
    await condition(() => running < concurrency);
    const doc = page ? page[progress.next - runStart] : input.documents[progress.next];
    progress.next += 1;
    if (!doc) continue;
    running += 1;
    const child = { ...doc, tenantId: input.tenantId };
    pending.push(
      (async () => {
        try {
          const handle = await startChild(ingestDocument, {
            args: [child],
            ...ingestRunOptions(input.tenantId, doc.documentId),
            // A document whose earlier ingestion finished may be ingested again; a running one is not doubled.
            workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
            parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          });
          const result = await handle.result();
          if (result.status === 'unchanged') progress.unchanged += 1;
          else progress.ingested += 1;
        } catch (err) {
          // A cancelled batch ends cancelled, not as a batch whose documents all "failed".
          if (isCancellation(err) && patched('cancelled-batch-ends-cancelled')) throw err;
          const cause = err instanceof ChildWorkflowFailure ? err.cause : err;
          // Another ingestion of the same document is running: a refusal with a code, not an unexplained failure.
          const alreadyRunning = cause instanceof WorkflowExecutionAlreadyStartedError;
          const code = alreadyRunning
            ? 'INGEST_RUNNING'
            : cause instanceof ApplicationFailure && cause.type
              ? cause.type
              : 'INGEST_FAILED';
          const message = alreadyRunning
            ? 'Another ingestion of this document is running.'
            : cause instanceof Error
              ? cause.message
              : 'Ingestion failed.';
          // Counted always, listed up to a bound: a batch of 20,000 failing documents must not carry 20,000 messages.
          progress.failedCount = batchFailures(progress) + 1;
          if (progress.failed.length < MAX_BATCH_FAILURES_LISTED)
            progress.failed.push({ documentId: doc.documentId, code, message });
        } finally {
          running -= 1;
        }
      })(),
    );
  }
  await Promise.all(pending);
  if (progress.next < total) {
    log.info('continuing batch as new', { next: progress.next, total, historyLength: workflowInfo().historyLength });
    await continueAsNew<typeof ingestBatch>({ ...input, progress });
  }
  return { ...progress, total };
}
