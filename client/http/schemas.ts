// The wire shapes of HTTP responses as zod schemas: the OpenAPI document is generated from them, and the
// compile-time checks at the end keep them in step with the workflow types they describe.
import { z } from 'zod';
import type { DocumentRecord } from '../../activities/documents';
import type {
  AnswerResult,
  DeleteDocumentResult,
  EvaluationReport,
  IngestDocumentResult,
  ReviewOutcome,
  ReviewTaskState,
} from '../../workflows/definitions';
import type { ApiKeyInfo } from '../auth/key-store';
import type { PurgeTenantSummary } from '../groundwork-client';
import { ROLES } from '../auth/roles';

export const errorResponse = z.object({
  error: z.object({
    code: z.string().meta({ description: 'Stable machine-readable code, e.g. UNAUTHENTICATED, FORBIDDEN.' }),
    message: z.string(),
  }),
});

export const citation = z.object({
  documentId: z.string(),
  sourceName: z.string().optional(),
  locator: z.string().meta({ description: 'Page or sheet!cells, e.g. "p. 3" or "Revenue!A5:F12".' }),
  chunkId: z.string(),
  quote: z.string(),
});

export const retrievedRef = z.object({
  chunkId: z.string(),
  documentId: z.string(),
  sourceName: z.string().optional(),
  locator: z.string(),
  score: z.number(),
  preview: z.string(),
});

export const reviewOutcome = z.object({
  decision: z.enum(['approved', 'edited', 'rejected', 'expired']),
  reviewerId: z.string().optional(),
  answer: z.string(),
  citations: z.array(citation),
  note: z.string().optional(),
  decidedAt: z.string(),
});

/** The numbers a confidence is computed from (activities/answer/signals.ts), each in [0, 1]. */
export const answerSignals = z.object({
  retrieval: z.number(),
  margin: z.number(),
  citedScore: z.number(),
  citedRank: z.number(),
  agreement: z.number(),
  coverage: z.number(),
  missingTerms: z.number(),
  lexicalSupport: z.number(),
  semanticSupport: z.number(),
  typeMatch: z.number(),
  kept: z.number(),
  draftConfidence: z.number(),
  tokenProbability: z.number().optional(),
});

export const answerResult = z.object({
  status: z.enum([
    'answered',
    'not_found',
    'no_documents',
    'model_unavailable',
    'not_cached',
    'reviewed',
    'rejected',
    'review_expired',
  ]),
  answer: z.string(),
  citations: z.array(citation),
  confidence: z.number(),
  threshold: z.number(),
  escalated: z.boolean(),
  reviewTaskId: z.string().optional(),
  review: reviewOutcome.optional(),
  retrieved: z.array(retrievedRef),
  model: z.string(),
  calibration: z.string().optional().meta({ description: 'The calibration fit that computed the confidence.' }),
  signals: answerSignals.optional(),
  degraded: z
    .object({ reason: z.literal('MODEL_UNAVAILABLE'), fallback: z.enum(['escalate', 'extractive']) })
    .optional()
    .meta({ description: 'The answer model was unavailable: escalated, or answered by the extractive fallback.' }),
  traceId: z.string().optional().meta({ description: 'The OpenTelemetry trace of this ask, when tracing is on.' }),
  promptVersion: z.string().optional().meta({
    description: 'The prompt version (prompts/answer/vN.md) of the draft; absent for offline extractive answers.',
  }),
  cached: z.boolean().optional().meta({
    description: 'Served from the answer cache: asked before on the same corpus, models, prompt and calibration.',
  }),
});

export const answerWithId = answerResult.extend({ workflowId: z.string() });

export const answerState = z.union([
  z.object({
    workflowId: z.string(),
    done: z.literal(false),
    progress: z.object({
      stage: z.enum(['retrieving', 'generating', 'verifying', 'awaiting_review', 'done']),
      reviewTaskId: z.string().optional(),
    }),
  }),
  z.object({ workflowId: z.string(), done: z.literal(true), result: answerResult }),
]);

export const accepted = z.object({ workflowId: z.string() });

export const ingestAccepted = z.object({ workflowId: z.string(), documentId: z.string() });

export const ingestResult = z.object({
  status: z.enum(['ingested', 'unchanged']),
  tenantId: z.string(),
  documentId: z.string(),
  version: z.string(),
  chunks: z.number().int(),
  retired: z.number().int(),
  pages: z.number().int().optional(),
  sheets: z.number().int().optional(),
  ocrPages: z.number().int().optional(),
  warnings: z.array(z.object({ code: z.string(), message: z.string(), locator: z.string().optional() })),
});

export const reviewStatus = z.enum(['open', 'escalated', 'approved', 'edited', 'rejected', 'expired']);

export const reviewList = z.object({
  tasks: z.array(
    z.object({
      taskId: z.string(),
      tenantId: z.string(),
      status: z.string(),
      startTime: z.string().meta({ format: 'date-time' }),
    }),
  ),
});

export const reviewState = z.object({
  taskId: z.string(),
  tenantId: z.string(),
  status: reviewStatus,
  question: z.string(),
  draft: z.object({
    status: z.enum(['answered', 'not_found']),
    answer: z.string(),
    citations: z.array(citation),
    confidence: z.number(),
    reason: z.enum(['LOW_CONFIDENCE', 'MODEL_UNAVAILABLE']).optional(),
    calibration: z.string().optional(),
    signals: answerSignals.optional(),
  }),
  threshold: z.number(),
  retrieved: z.array(retrievedRef),
  openedAt: z.string(),
  escalatedAt: z.string().optional(),
  outcome: reviewOutcome.optional(),
  deciding: z.boolean().optional(),
  escalatesAt: z.string().optional(),
  claim: z
    .object({ reviewerId: z.string(), claimedAt: z.string(), expiresAt: z.string(), renewed: z.boolean().optional() })
    .optional(),
  found: z.array(retrievedRef).optional(),
  refused: z.array(z.object({ action: z.string(), reviewerId: z.string(), reason: z.string(), at: z.string() })),
});

const metrics = z.object({
  questions: z.number().int(),
  retrievalHitRate: z.number().nullable(),
  answerAccuracy: z.number(),
  abstentionAccuracy: z.number().nullable(),
  meanConfidence: z.number(),
  escalationRate: z.number(),
});

export const evaluationReport = z.object({
  tenantId: z.string(),
  runAt: z.string(),
  metrics,
  baseline: metrics.optional(),
  drift: z.object({ detected: z.boolean(), reasons: z.array(z.string()) }),
  results: z.array(
    z.object({
      question: z.string(),
      status: z.enum(['answered', 'not_found', 'no_documents', 'model_unavailable']),
      confidence: z.number(),
      retrievalHit: z.boolean().nullable(),
      correct: z.boolean(),
    }),
  ),
  calibration: z.object({ version: z.string(), labels: z.number(), refitted: z.boolean() }).optional(),
  resultsScope: z
    .literal('failures')
    .optional()
    .meta({ description: 'results lists only the wrong answers (at most 200); absent: every question.' }),
  promptVersion: z.string().optional().meta({ description: 'The prompt version(s) the drafts were asked with.' }),
  model: z.string().optional().meta({ description: 'The answer model(s) of the drafts.' }),
  servedWrongRate: z
    .number()
    .optional()
    .meta({ description: 'Share of questions answered wrong at or above the threshold (served without review).' }),
  p50LatencyMs: z.number().nullable().optional().meta({ description: 'Median answering time of a question in ms.' }),
});

export const evaluationSchedule = z.object({ scheduleId: z.string(), every: z.string() });

export const deleted = z.object({ deleted: z.literal(true) });

export const documentRecord = z.object({
  tenantId: z.string(),
  documentId: z.string(),
  status: z.enum(['live', 'failed', 'pending']),
  name: z.string().optional(),
  version: z.string().optional(),
  chunks: z.number().optional(),
  pages: z.number().optional(),
  sheets: z.number().optional(),
  ingestedAt: z.string().optional(),
  lastError: z.object({ code: z.string(), message: z.string(), at: z.string() }).optional(),
});

export const documentList = z.object({ documents: z.array(documentRecord) });

export const deletedDocument = z.object({
  tenantId: z.string(),
  documentId: z.string(),
  found: z.boolean(),
  points: z.number(),
  blobs: z.number(),
  staged: z.number(),
  registry: z.number(),
});

export const purgedTenant = z.object({
  tenantId: z.string(),
  points: z.number(),
  blobs: z.number(),
  staged: z.number(),
  evaluations: z.number(),
  documents: z.number(),
  reviewTasks: z.number(),
  schedule: z.boolean(),
});

export const keyInfo = z.object({
  keyId: z.string(),
  tenant: z.string().meta({ description: 'A tenant id, or * for all tenants (admin keys only).' }),
  role: z.enum(ROLES),
  name: z.string().optional(),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
});

export const createdKey = keyInfo.extend({
  key: z.string().meta({ description: 'The key, gw_<keyId>_<secret>. Shown only in this response.' }),
});

// ---------- compile-time: the workflow types fit the schemas they are answered with ----------
type Fits<T, S extends z.ZodType> = [T] extends [z.output<S>] ? true : false;
const fits = <T extends true>(): T | undefined => undefined;
fits<Fits<AnswerResult, typeof answerResult>>();
fits<Fits<ReviewOutcome, typeof reviewOutcome>>();
fits<Fits<ReviewTaskState, typeof reviewState>>();
fits<Fits<IngestDocumentResult, typeof ingestResult>>();
fits<Fits<EvaluationReport, typeof evaluationReport>>();
fits<Fits<ApiKeyInfo, typeof keyInfo>>();
fits<Fits<DocumentRecord, typeof documentRecord>>();
fits<Fits<DeleteDocumentResult, typeof deletedDocument>>();
fits<Fits<PurgeTenantSummary, typeof purgedTenant>>();
