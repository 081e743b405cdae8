// The typed client backend services use. It talks to Temporal only; the CLI and HTTP API are built on it.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Client, Connection, ScheduleOverlapPolicy, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowNotFoundError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { z } from 'zod';
import type {
  AnswerQuestionInput,
  AnswerResult,
  EditSignal,
  EvaluateTenantInput,
  EvaluationReport,
  GoldenQuestion,
  IngestBatchResult,
  IngestDocumentInput,
  IngestDocumentResult,
  ReviewStatus,
  ReviewTaskState,
} from '../workflows/definitions';
import {
  DOCUMENT_ID_PATTERN,
  DocumentIdKey,
  MAX_INLINE_BYTES,
  ReviewStatusKey,
  TENANT_ID_PATTERN,
  TenantIdKey,
  answerWorkflowId,
  approveSignal,
  editSignal,
  evaluationScheduleId,
  evaluationWorkflowId,
  ingestBatchWorkflowId,
  ingestWorkflowId,
  rejectSignal,
  reviewStateQuery,
  stableKey,
} from '../workflows/definitions';
import type { answerQuestion, evaluateTenant, ingestBatch, ingestDocument, reviewTask } from '../workflows';

export const tenantIdSchema = z.string().regex(TENANT_ID_PATTERN, 'tenant ids are 1-128 letters, digits, ".", "_" or "-"');
export const documentIdSchema = z.string().regex(DOCUMENT_ID_PATTERN, 'document ids are 1-200 letters, digits, ".", "_", "@" or "-"');
export const questionSchema = z.string().trim().min(3, 'the question is too short').max(2000, 'the question is too long');
export const reviewerIdSchema = z.string().trim().min(1, 'a reviewer id is required').max(200);
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

export class ClientInputError extends Error {
  override readonly name = 'ClientInputError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ClientInputError('INVALID_INPUT', `${what}: ${r.error.issues.map((i) => i.message).join('; ')}`);
  return r.data;
}

/** Document ids default to the file name, made safe: "Q3 report.pdf" → "Q3-report.pdf". */
export function documentIdFromPath(file: string): string {
  const base = path.basename(file).replace(/[^A-Za-z0-9_.@-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return (base || `doc-${stableKey(file)}`).slice(0, 200);
}

/** Per-document ingestion options that apply to every file of a batch. */
export type IngestOptions = Pick<IngestDocumentInput, 'includeHiddenSheets' | 'chunkAcrossPages'>;

export interface ClientOptions {
  address: string;
  namespace?: string;
  taskQueue?: string;
  apiKey?: string;
  tls?: boolean;
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
  ) {}

  static async connect(options: ClientOptions): Promise<GroundworkClient> {
    const connection = await Connection.connect({ address: options.address, tls: options.tls || undefined, apiKey: options.apiKey });
    const client = new Client({ connection, namespace: options.namespace ?? 'default' });
    return new GroundworkClient(client, connection, options.taskQueue ?? 'groundwork');
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
      throw new ClientInputError('FILE_TOO_LARGE', `Inline uploads are limited to ${MAX_INLINE_BYTES} bytes; pass a path the worker can read.`);
    }
    if (input.source.kind === 'path') input = { ...input, source: { kind: 'path', path: path.resolve(input.source.path) } };
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
  async startIngestBatch(tenantId: string, files: string[], concurrency = 4, options: IngestOptions = {}): Promise<WorkflowHandle<typeof ingestBatch>> {
    parse(tenantIdSchema, tenantId, 'tenant');
    const flags = { ...(options.includeHiddenSheets ? { includeHiddenSheets: true } : {}), ...(options.chunkAcrossPages ? { chunkAcrossPages: true } : {}) };
    const documents = files.map((f) => ({ documentId: documentIdFromPath(f), source: { kind: 'path' as const, path: path.resolve(f) }, ...flags }));
    // The options are part of the batch's identity: the same files with other options are another batch.
    const optionKey = Object.keys(flags).sort().join(',');
    const batchKey = stableKey(documents.map((d) => `${d.documentId}=${d.source.path}`).join('\n') + (optionKey ? `\n${optionKey}` : ''));
    return this.temporal.workflow.start<typeof ingestBatch>('ingestBatch', {
      taskQueue: this.taskQueue,
      workflowId: ingestBatchWorkflowId(tenantId, batchKey),
      args: [{ tenantId, batchKey, documents, concurrency }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      typedSearchAttributes: [{ key: TenantIdKey, value: tenantId }],
      staticSummary: `Ingest ${documents.length} documents for ${tenantId}`,
    });
  }

  async ingestBatch(tenantId: string, files: string[], concurrency?: number, options?: IngestOptions): Promise<IngestBatchResult> {
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
    if (!taskId.startsWith(`review:${tenantId}:`)) throw new ClientInputError('REVIEW_NOT_FOUND', 'No such review task for this tenant.');
    try {
      return await this.temporal.workflow.getHandle<typeof reviewTask>(taskId).query(reviewStateQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new ClientInputError('REVIEW_NOT_FOUND', 'No such review task for this tenant.');
      throw err;
    }
  }

  private async openTask(tenantId: string, taskId: string): Promise<ReviewTaskState> {
    const state = await this.getReview(tenantId, taskId);
    if (state.outcome) throw new ClientInputError('REVIEW_CLOSED', `The review task is already ${state.status}.`);
    return state;
  }

  async approve(tenantId: string, taskId: string, reviewerId: string, note?: string): Promise<void> {
    await this.openTask(tenantId, taskId);
    await this.temporal.workflow.getHandle(taskId).signal(approveSignal, { tenantId, reviewerId: parse(reviewerIdSchema, reviewerId, 'reviewer'), note });
  }

  async edit(tenantId: string, taskId: string, edit: Omit<EditSignal, 'tenantId'>): Promise<void> {
    const state = await this.openTask(tenantId, taskId);
    parse(reviewerIdSchema, edit.reviewerId, 'reviewer');
    if (!edit.answer.trim()) throw new ClientInputError('INVALID_INPUT', 'The corrected answer is empty.');
    const retrieved = new Set(state.retrieved.map((r) => r.chunkId));
    const foreign = edit.citations.filter((c) => !retrieved.has(c.chunkId));
    if (foreign.length > 0) {
      throw new ClientInputError('CITATION_NOT_RETRIEVED', 'Every citation must name a chunk retrieved for this question (see `review show`).');
    }
    await this.temporal.workflow.getHandle(taskId).signal(editSignal, { ...edit, tenantId });
  }

  async reject(tenantId: string, taskId: string, reviewerId: string, reason: string): Promise<void> {
    await this.openTask(tenantId, taskId);
    if (!reason.trim()) throw new ClientInputError('INVALID_INPUT', 'A reason is required to reject.');
    await this.temporal.workflow.getHandle(taskId).signal(rejectSignal, { tenantId, reviewerId: parse(reviewerIdSchema, reviewerId, 'reviewer'), reason });
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
  async scheduleEvaluation(input: { tenantId: string; golden: GoldenQuestion[]; every: string; paused?: boolean }): Promise<string> {
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
