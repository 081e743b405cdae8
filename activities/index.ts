// Every side effect the workflows need, grouped by domain. Each domain's factory takes a narrow options object
// (stores, models, limits, policy): no configuration object, and no secrets.
import path from 'node:path';
import { LocalBlobStore } from '../common/blob-store';
import type { BlobStore } from '../common/blob-store';
import { AuditLog } from '../common/audit';
import { SecretStore } from '../common/secrets';
import { CorpusGenerations, createAnswerCacheActivities } from './answer-cache';
import { modelsKey } from './answer/defaults';
import { createAnsweringActivities } from './answering';
import { createBatchActivities } from './batches';
import type { AnsweringPolicy } from './answering';
import { DocumentRegistry, createDocumentActivities, recordingActivation } from './documents';
import { createEvaluationActivities } from './evaluation';
import { createEvaluationRunActivities } from './evaluation-run';
import { EvaluationStore } from './evaluation-store';
import type { Answerer, Embedder } from './models/types';
import { createNotificationActivities, notificationOptions } from './notifications';
import { createParsingActivities } from './parsing';
import { createReviewSourceActivities } from './review-sources';
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
  /** Local state: staged chunks under staging/, evaluation state under evaluations/, the registry under documents/. */
  dataDir: string;
  /** Uploaded document bytes (GROUNDWORK_BLOB_DIR); default `<dataDir>/blobs`. */
  blobs?: BlobStore;
  /** GROUNDWORK_INGEST_ROOTS: `path` sources are read only below `<root>/<tenant>/`. Default none: paths refused. */
  ingestRoots?: readonly string[];
  parseLimits: ParsingOptions['limits'];
  embedBatch: number;
  policy: AnsweringPolicy;
  /** PDF passwords by reference; default `<dataDir>/secrets` (shared by every worker host and the clients). */
  secrets?: SecretStore;
  /** Review notifications (GROUNDWORK_REVIEW_*); default: read from the environment. */
  review?: ReviewSettings;
  /** The answer cache (GROUNDWORK_ANSWER_CACHE_SIZE, GROUNDWORK_ANSWER_CACHE_TTL); default 10,000 answers for 24 h. */
  answerCache?: { maxEntries: number; maxAgeMs: number };
  /** The prompt version chat answers are drafted with (none for the offline answerer): part of answer-cache keys. */
  promptVersion?: string;
}

export function createActivities(deps: ActivityDeps) {
  const { vectors, embedder, answerer } = deps;
  const staging = new StagingArea(path.join(deps.dataDir, 'staging'));
  const blobs = deps.blobs ?? new LocalBlobStore(path.join(deps.dataDir, 'blobs'));
  const registry = DocumentRegistry.inDataDir(deps.dataDir);
  const evaluations = new EvaluationStore(path.join(deps.dataDir, 'evaluations'));
  const generations = CorpusGenerations.inDataDir(deps.dataDir);
  const answering = createAnsweringActivities({
    vectors,
    embedder,
    answerer,
    policy: deps.policy,
    evaluations,
    audit: AuditLog.forDataDir(deps.dataDir),
  });
  const storage = createStorageActivities({ vectors, embedder, staging, embedBatch: deps.embedBatch });
  return {
    ...createNotificationActivities(notificationOptions(deps.review ?? loadReviewSettings())),
    ...createReviewSourceActivities({
      vectors,
      embedder,
      blobs,
      dataDir: deps.dataDir,
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
    ...createBatchActivities({ blobs }),
    ...createDocumentActivities({ vectors, blobs, staging, registry, evaluations, generations }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { PreparedDocument } from './parsing';
export type { DocumentRecord } from './documents';
export type { RetrievedChunk, AnsweringPolicy } from './answering';
