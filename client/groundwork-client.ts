// The typed client backend services use. It talks to Temporal only; the CLI and HTTP API are built on it.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  Client,
  Connection,
  QueryNotRegisteredError,
  ScheduleOverlapPolicy,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { Metadata, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Duration } from '@temporalio/common';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { z } from 'zod';
import type { Config } from '../common/config';
import { GroundworkError } from '../common/errors';
import { DOCUMENT_ID_PATTERN, TENANT_ID_PATTERN, documentIdFromName, stableKey } from '../common/ids';
import type {
  AnswerQuestionInput,
  AnswerResult,
  EditDecision,
  EvaluateTenantInput,
  EvaluationReport,
  GoldenQuestion,
  IngestBatchResult,
  IngestDocumentInput,
  IngestDocumentResult,
  ReviewOutcome,
  ReviewStatus,
  ReviewTaskState,
} from '../workflows/definitions';
import {
  DocumentIdKey,
  MAX_INLINE_BYTES,
  ReviewStatusKey,
  TenantIdKey,
  answerWorkflowId,
  approveUpdate,
  editUpdate,
  evaluationScheduleId,
  evaluationWorkflowId,
  ingestBatchWorkflowId,
  ingestWorkflowId,
  rejectUpdate,
  reviewStateQuery,
} from '../workflows/definitions';
import type { answerQuestion, evaluateTenant, ingestBatch, ingestDocument, reviewTask } from '../workflows';

export const tenantIdSchema = z
  .string()
  .regex(TENANT_ID_PATTERN, 'tenant ids are 1-128 letters, digits, ".", "_" or "-"');
export const documentIdSchema = z
  .string()
  .regex(DOCUMENT_ID_PATTERN, 'document ids are 1-200 letters, digits, ".", "_", "@" or "-"');
export const questionSchema = z
  .string()
  .trim()
  .min(3, 'the question is too short')
  .max(2000, 'the question is too long');
export const concurrencySchema = z
  .number()
  .int('must be a whole number')
  .min(1, 'must be at least 1')
  .max(64, 'must be at most 64');
export const goldenSetSchema = z
  .array(
    z.object({
      question: questionSchema,
      expectedDocuments: z.array(documentIdSchema).optional(),
      expectAnswer: z.boolean().optional(),
      expectedAnswerContains: z.string().optional(),
    }),
  )
  .max(500);

/** A request Groundwork refuses (bad input, unknown or closed review task): `code` says which. */
export class ClientInputError extends GroundworkError {
  override readonly name = 'ClientInputError';
  constructor(code: string, message: string) {
    super(code, message);
  }
}

function reviewNotFound(): ClientInputError {
  return new ClientInputError('REVIEW_NOT_FOUND', 'No such review task for this tenant.');
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success)
    throw new ClientInputError('INVALID_INPUT', `${what}: ${r.error.issues.map((i) => i.message).join('; ')}`);
  return r.data;
}

/** Per-document ingestion options that apply to every file of a batch. */
export type IngestOptions = Pick<IngestDocumentInput, 'includeHiddenSheets' | 'chunkAcrossPages'>;

/** Where the CLI, the HTTP API and `fromConfig` connect when TEMPORAL_ADDRESS (or a temporal.toml profile) sets none. */
export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
const DEFAULT_INGEST_CONCURRENCY = 4;

export interface ClientOptions {
  address: string;
  namespace?: string;
  taskQueue?: string;
  apiKey?: string;
  tls?: TLSConfig | boolean;
  metadata?: Metadata;
  /** Documents ingested in parallel by a folder batch unless the caller says otherwise (default 4). */
  ingestConcurrency?: number;
}

export interface ReviewSummary {
  taskId: string;
  tenantId: string;
  status: string;
  startTime: Date;
}

export class GroundworkClient {
  private constructor(
    readonly temporal: Client,
    private readonly connection: Connection,
    readonly taskQueue: string,
    readonly ingestConcurrency: number,
  ) {}

  static async connect(options: ClientOptions): Promise<GroundworkClient> {
    const connection = await Connection.connect({
      address: options.address,
      tls: options.tls || undefined,
      apiKey: options.apiKey,
      metadata: options.metadata,
    });
    const client = new Client({ connection, namespace: options.namespace ?? 'default' });
    return new GroundworkClient(
      client,
      connection,
      options.taskQueue ?? 'groundwork',
      options.ingestConcurrency ?? DEFAULT_INGEST_CONCURRENCY,
    );
  }

  /** Connects as configured (TEMPORAL_*, temporal.toml, GROUNDWORK_INGEST_CONCURRENCY); the address defaults to 127.0.0.1:7233. */
  static async fromConfig(config: Config): Promise<GroundworkClient> {
    const t = config.temporal;
    return GroundworkClient.connect({
      address: t.address ?? DEFAULT_TEMPORAL_ADDRESS,
      namespace: t.namespace,
      taskQueue: t.taskQueue,
      apiKey: t.apiKey,
      tls: t.tls,
      metadata: t.metadata,
      ingestConcurrency: config.ingest.concurrency,
    });
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  // ---------- ingestion ----------

  /** Starts (or joins, when already running) the ingestion of one document. */
  async startIngest(input: IngestDocumentInput): Promise<WorkflowHandle<typeof ingestDocument>> {
    parse(tenantIdSchema, input.tenantId, 'tenant');
    parse(documentIdSchema, input.documentId, 'document id');
    if (input.source.kind === 'inline' && Buffer.byteLength(input.source.contentBase64, 'base64') > MAX_INLINE_BYTES) {
      throw new ClientInputError(
        'FILE_TOO_LARGE',
        `Inline uploads are limited to ${MAX_INLINE_BYTES} bytes; pass a path the worker can read.`,
      );
    }
    if (input.source.kind === 'path')
      input = { ...input, source: { kind: 'path', path: path.resolve(input.source.path) } };
    return this.temporal.workflow.start<typeof ingestDocument>('ingestDocument', {
      taskQueue: this.taskQueue,
      workflowId: ingestWorkflowId(input.tenantId, input.documentId),
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      typedSearchAttributes: [
        { key: TenantIdKey, value: input.tenantId },
        { key: DocumentIdKey, value: input.documentId },
      ],
      staticSummary: `Ingest ${input.documentId} for ${input.tenantId}`,
    });
  }

  async ingest(input: IngestDocumentInput): Promise<IngestDocumentResult> {
    return (await this.startIngest(input)).result();
  }

  /** Expands files and folders (recursively) into ingestion inputs with default document ids. */
  static async collectFiles(paths: string[]): Promise<string[]> {
    const out: string[] = [];
    const walk = async (p: string): Promise<void> => {
      const stat = await fs.stat(p).catch(() => undefined);
      if (!stat) throw new ClientInputError('SOURCE_NOT_FOUND', `No such file or folder: ${path.basename(p)}`);
      if (stat.isDirectory()) {
        for (const entry of (await fs.readdir(p)).sort()) if (!entry.startsWith('.')) await walk(path.join(p, entry));
      } else if (stat.isFile()) out.push(path.resolve(p));
    };
    for (const p of paths) await walk(p);
    return out;
  }

  /** Many documents: one parent workflow fans out child ingestions with bounded concurrency. */
  async startIngestBatch(
    tenantId: string,
    files: string[],
    concurrency = this.ingestConcurrency,
    options: IngestOptions = {},
  ): Promise<WorkflowHandle<typeof ingestBatch>> {
    parse(tenantIdSchema, tenantId, 'tenant');
    parse(concurrencySchema, concurrency, 'concurrency');
    const flags = {
      ...(options.includeHiddenSheets ? { includeHiddenSheets: true } : {}),
      ...(options.chunkAcrossPages ? { chunkAcrossPages: true } : {}),
    };
    const documents = files.map((f) => ({
      documentId: documentIdFromName(f),
      source: { kind: 'path' as const, path: path.resolve(f) },
      ...flags,
    }));
    // The options are part of the batch's identity: the same files with other options are another batch.
    const optionKey = Object.keys(flags).sort().join(',');
    const batchKey = stableKey(
      documents.map((d) => `${d.documentId}=${d.source.path}`).join('\n') + (optionKey ? `\n${optionKey}` : ''),
    );
    return this.temporal.workflow.start<typeof ingestBatch>('ingestBatch', {
      taskQueue: this.taskQueue,
      workflowId: ingestBatchWorkflowId(tenantId, batchKey),
      args: [{ tenantId, batchKey, documents, concurrency }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      typedSearchAttributes: [{ key: TenantIdKey, value: tenantId }],
      staticSummary: `Ingest ${documents.length} documents for ${tenantId}`,
    });
  }

  async ingestBatch(
    tenantId: string,
    files: string[],
    concurrency?: number,
    options?: IngestOptions,
  ): Promise<IngestBatchResult> {
    return (await this.startIngestBatch(tenantId, files, concurrency, options)).result();
  }

  // ---------- answering ----------

  /** Starts answering; the same question asked while a run is in flight joins that run. */
  async startAsk(input: AnswerQuestionInput): Promise<WorkflowHandle<typeof answerQuestion>> {
    parse(tenantIdSchema, input.tenantId, 'tenant');
    const question = parse(questionSchema, input.question, 'question');
    return this.temporal.workflow.start<typeof answerQuestion>('answerQuestion', {
      taskQueue: this.taskQueue,
      workflowId: answerWorkflowId(input.tenantId, question),
      args: [{ ...input, question }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      typedSearchAttributes: [{ key: TenantIdKey, value: input.tenantId }],
      staticSummary: `Answer a question for ${input.tenantId}`,
    });
  }

  async ask(input: AnswerQuestionInput): Promise<AnswerResult> {
    return (await this.startAsk(input)).result();
  }

  // ---------- review ----------

  async listReviews(tenantId: string, status: ReviewStatus | 'pending' | 'all' = 'pending'): Promise<ReviewSummary[]> {
    parse(tenantIdSchema, tenantId, 'tenant');
    let query = `WorkflowType = 'reviewTask' AND TenantId = '${tenantId}'`;
    if (status === 'pending') query += ` AND ReviewStatus IN ('open', 'escalated')`;
    else if (status !== 'all') query += ` AND ReviewStatus = '${status}'`;
    const out: ReviewSummary[] = [];
    for await (const wf of this.temporal.workflow.list({ query })) {
      out.push({
        taskId: wf.workflowId,
        tenantId,
        status: String(wf.typedSearchAttributes.get(ReviewStatusKey) ?? 'unknown'),
        startTime: wf.startTime,
      });
      if (out.length >= 1000) break;
    }
    return out;
  }

  /** The task's full state; refuses tasks of other tenants as if they did not exist. */
  async getReview(tenantId: string, taskId: string): Promise<ReviewTaskState> {
    parse(tenantIdSchema, tenantId, 'tenant');
    let state: ReviewTaskState;
    try {
      state = await this.temporal.workflow.getHandle<typeof reviewTask>(taskId).query(reviewStateQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError || err instanceof QueryNotRegisteredError) throw reviewNotFound();
      throw err;
    }
    // The task's own record of its tenant decides, not the id, which the caller chose.
    if (state.tenantId !== tenantId) throw reviewNotFound();
    return state;
  }

  /** Approves the draft. The task checks the decision (tenant, reviewer, still open) and returns the outcome. */
  async approve(tenantId: string, taskId: string, reviewerId: string, note?: string): Promise<ReviewOutcome> {
    parse(tenantIdSchema, tenantId, 'tenant');
    return this.decide(tenantId, taskId, (h) =>
      h.executeUpdate(approveUpdate, { args: [{ tenantId, reviewerId, note }] }),
    );
  }

  /** Replaces the draft; every citation must name a chunk retrieved for the question (the task checks). */
  async edit(tenantId: string, taskId: string, edit: Omit<EditDecision, 'tenantId'>): Promise<ReviewOutcome> {
    parse(tenantIdSchema, tenantId, 'tenant');
    return this.decide(tenantId, taskId, (h) => h.executeUpdate(editUpdate, { args: [{ ...edit, tenantId }] }));
  }

  async reject(tenantId: string, taskId: string, reviewerId: string, reason: string): Promise<ReviewOutcome> {
    parse(tenantIdSchema, tenantId, 'tenant');
    return this.decide(tenantId, taskId, (h) =>
      h.executeUpdate(rejectUpdate, { args: [{ tenantId, reviewerId, reason }] }),
    );
  }

  /**
   * Sends a decision Update. The task's validators are the only checks, so checking and deciding cannot race;
   * their refusals (REVIEW_CLOSED, REVIEW_NOT_FOUND, CITATION_NOT_RETRIEVED, INVALID_INPUT) become ClientInputErrors.
   */
  private async decide(
    tenantId: string,
    taskId: string,
    send: (handle: WorkflowHandle<typeof reviewTask>) => Promise<ReviewOutcome>,
  ): Promise<ReviewOutcome> {
    const handle = this.temporal.workflow.getHandle<typeof reviewTask>(taskId);
    try {
      return await send(handle);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        // A workflow that is not a review task has no handler for the Update: to the caller, no such task.
        if (err.cause.message.startsWith('No registered handler for update')) throw reviewNotFound();
        throw new ClientInputError(err.cause.type ?? 'INVALID_INPUT', err.cause.message);
      }
      if (err instanceof WorkflowNotFoundError) throw await this.notFoundOrClosed(tenantId, taskId);
      throw err;
    }
  }

  /** Updates cannot reach a finished task: it is REVIEW_CLOSED when it is this tenant's review task, else not found. */
  private async notFoundOrClosed(tenantId: string, taskId: string): Promise<ClientInputError> {
    const desc = await this.temporal.workflow
      .getHandle(taskId)
      .describe()
      .catch(() => undefined);
    if (
      desc &&
      desc.type === 'reviewTask' &&
      desc.status.name !== 'RUNNING' &&
      desc.typedSearchAttributes.get(TenantIdKey) === tenantId
    ) {
      const status = desc.typedSearchAttributes.get(ReviewStatusKey);
      return new ClientInputError('REVIEW_CLOSED', `The review task is already ${status ?? 'closed'}.`);
    }
    return reviewNotFound();
  }

  // ---------- evaluation ----------

  async runEvaluation(input: EvaluateTenantInput): Promise<EvaluationReport> {
    parse(tenantIdSchema, input.tenantId, 'tenant');
    const golden: GoldenQuestion[] = parse(goldenSetSchema, input.golden, 'golden set');
    return this.temporal.workflow.execute<typeof evaluateTenant>('evaluateTenant', {
      taskQueue: this.taskQueue,
      workflowId: evaluationWorkflowId(input.tenantId, `manual-${Date.now()}`),
      args: [{ ...input, golden }],
      typedSearchAttributes: [{ key: TenantIdKey, value: input.tenantId }],
      staticSummary: `Evaluate ${golden.length} golden questions for ${input.tenantId}`,
    });
  }

  /** Creates or updates the tenant's re-evaluation Schedule. */
  async scheduleEvaluation(input: {
    tenantId: string;
    golden: GoldenQuestion[];
    every: string;
    paused?: boolean;
  }): Promise<string> {
    parse(tenantIdSchema, input.tenantId, 'tenant');
    const golden = parse(goldenSetSchema, input.golden, 'golden set');
    const scheduleId = evaluationScheduleId(input.tenantId);
    const action = {
      type: 'startWorkflow' as const,
      workflowType: 'evaluateTenant',
      taskQueue: this.taskQueue,
      workflowId: evaluationWorkflowId(input.tenantId, 'scheduled'),
      args: [{ tenantId: input.tenantId, golden }],
      typedSearchAttributes: [{ key: TenantIdKey, value: input.tenantId }],
      staticSummary: `Scheduled re-evaluation for ${input.tenantId}`,
    };
    const spec = { intervals: [{ every: input.every as Duration }] };
    try {
      await this.temporal.schedule.create({
        scheduleId,
        spec,
        action,
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
        state: { paused: input.paused ?? false, note: `Re-evaluates ${golden.length} golden questions` },
        typedSearchAttributes: [{ key: TenantIdKey, value: input.tenantId }],
      });
    } catch (err) {
      if (!(err instanceof Error) || err.name !== 'ScheduleAlreadyRunning') throw err;
      await this.temporal.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action }));
    }
    return scheduleId;
  }

  async triggerEvaluation(tenantId: string): Promise<void> {
    await this.temporal.schedule.getHandle(evaluationScheduleId(tenantId)).trigger(ScheduleOverlapPolicy.ALLOW_ALL);
  }

  async deleteEvaluationSchedule(tenantId: string): Promise<void> {
    await this.temporal.schedule.getHandle(evaluationScheduleId(tenantId)).delete();
  }
}
