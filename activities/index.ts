// Every side effect the workflows need, grouped by domain. Each domain's factory takes a narrow options object
// (stores, models, limits, policy): no configuration object, and no secrets.
import { ObjectBlobStore } from '../common/blob-store';
import type { BlobStore } from '../common/blob-store';
import { LocalObjectStore, scopedStore } from '../common/object-store';
import type { ObjectStore } from '../common/object-store';
import { AuditLog } from '../common/audit';
import { SecretStore } from '../common/secrets';
import type { Secrets } from '../common/secrets';
import { CorpusGenerations, createAnswerCacheActivities } from './answer-cache';
import { modelsKey } from './answer/defaults';
import { createAnsweringActivities } from './answering';
import { createBatchActivities } from './batches';
import type { AnsweringPolicy } from './answering';
import { DocumentRegistry, createDocumentActivities, recordingActivation } from './documents';
import { createEvaluationActivities } from './evaluation';
import { createGoldenSetActivities } from './golden-sets';
import { createEvaluationRunActivities } from './evaluation-run';
import { EvaluationStore } from './evaluation-store';
import type { Answerer, Embedder } from './models/types';
import { createNotificationActivities, notificationOptions } from './notifications';
import { createParsingActivities } from './parsing';
import { ReviewSourceCache, createReviewSourceActivities } from './review-sources';
import { loadReviewSettings } from '../common/config';
import type { ReviewSettings } from '../common/config';
import type { ParsingOptions } from './parsing';
import { StagingArea } from './staging';
import { createStorageActivities } from './storage';
import type { VectorStore } from './vectors/types';

export interface ActivityDeps {
  vectors: VectorStore;
  embedder: Embedder;
  answerer: Answerer;
  /** This host's state: the usage ledger, the audit trail, PDF passwords; the shared state too unless `objects`. */
  dataDir: string;
  /**
   * The deployment's shared state (common/shared-state.ts): staged chunks under staging/, the registry under
   * documents/, evaluation state under evaluations/, corpus generations under corpus/, review source views under
   * review-sources/. Default: the data dir.
   */
  objects?: ObjectStore;
  /** Uploaded document bytes (GROUNDWORK_BLOB_DIR, or the bucket's blobs/); default `blobs/` of `objects`. */
  blobs?: BlobStore;
  /** GROUNDWORK_INGEST_ROOTS: `path` sources are read only below `<root>/<tenant>/`. Default none: paths refused. */
  ingestRoots?: readonly string[];
  parseLimits: ParsingOptions['limits'];
  embedBatch: number;
  policy: AnsweringPolicy;
  /** PDF passwords by reference; default `<dataDir>/secrets` (shared by every worker host and the clients). */
  secrets?: Secrets;
  /** Review notifications (GROUNDWORK_REVIEW_*); default: read from the environment. */
  review?: ReviewSettings;
  /** The answer cache (GROUNDWORK_ANSWER_CACHE_SIZE, GROUNDWORK_ANSWER_CACHE_TTL); default 10,000 answers for 24 h. */
  answerCache?: { maxEntries: number; maxAgeMs: number };
  /** The prompt version chat answers are drafted with (none for the offline answerer): part of answer-cache keys. */
  promptVersion?: string;
}

export function createActivities(deps: ActivityDeps) {
  const { vectors, embedder, answerer } = deps;
  const objects = deps.objects ?? new LocalObjectStore(deps.dataDir);
  const staging = new StagingArea(scopedStore(objects, 'staging'));
  const blobs = deps.blobs ?? new ObjectBlobStore(scopedStore(objects, 'blobs'));
  const registry = DocumentRegistry.inStore(objects);
  const evaluations = EvaluationStore.inStore(objects, deps.dataDir);
  const generations = CorpusGenerations.inStore(objects);
  const answering = createAnsweringActivities({
    vectors,
    embedder,
    answerer,
    policy: deps.policy,
    evaluations,
    audit: AuditLog.forDataDir(deps.dataDir),
    generations,
  });
  const storage = createStorageActivities({ vectors, embedder, staging, embedBatch: deps.embedBatch });
  return {
    ...createNotificationActivities(notificationOptions(deps.review ?? loadReviewSettings())),
    ...createReviewSourceActivities({
      vectors,
      embedder,
      blobs,
      cache: ReviewSourceCache.inStore(objects),
      registry,
      ingestRoots: deps.ingestRoots ?? [],
      maxBytes: deps.parseLimits.maxBytes,
    }),
    ...createParsingActivities({
      vectors,
      staging,
      embedderId: embedder.id,
      limits: deps.parseLimits,
      secrets: deps.secrets ?? SecretStore.inDataDir(deps.dataDir),
      blobs,
      ingestRoots: deps.ingestRoots ?? [],
      registry,
    }),
    ...storage,
    activateDocument: recordingActivation(storage.activateDocument, registry, vectors, generations),
    ...answering,
    ...createAnswerCacheActivities({
      generations,
      maxEntries: deps.answerCache?.maxEntries ?? 10_000,
      maxAgeMs: deps.answerCache?.maxAgeMs ?? 24 * 3600_000,
      models: modelsKey(embedder.id, answerer.id),
      promptVersion: () => deps.promptVersion ?? '',
    }),
    ...createEvaluationRunActivities({ steps: answering, store: evaluations }),
    ...createEvaluationActivities({ store: evaluations }),
    ...createGoldenSetActivities({ store: evaluations }),
    ...createBatchActivities({ blobs }),
    ...createDocumentActivities({ vectors, blobs, staging, registry, evaluations, generations }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { PreparedDocument } from './parsing';
export type { DocumentRecord } from './documents';
export type { RetrievedChunk, AnsweringPolicy } from './answering';
