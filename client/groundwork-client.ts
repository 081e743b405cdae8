// The typed client backend services use. It talks to Temporal only; the CLI and HTTP API are built on it.
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  Client,
  Connection,
  QueryNotRegisteredError,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WithStartWorkflowOperation,
} from '@temporalio/client';
import type { Metadata, WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { DataConverter, Duration } from '@temporalio/common';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client';
import { z } from 'zod';
import { dataConverterFor } from '../common/codec';
import { AuditLog, auditSafeId } from '../common/audit';
import type { AuditActor, AuditEntryInput } from '../common/audit';
import { MAX_MANIFEST_BYTES, encodeManifest } from '../activities/batches';
import { EvaluationStore } from '../activities/evaluation-store';
import { MAX_GOLDEN_QUESTIONS, encodeGoldenSet } from '../activities/golden-sets';
import { DocumentRegistry } from '../activities/documents';
import type { DocumentRecord } from '../activities/documents';
import { isBlobRef } from '../common/blob-store';
import { openBlobStore, openObjectStore, openSecretStore } from '../common/shared-state';
import type { BlobStore, StoredBlob } from '../common/blob-store';
import type { Config } from '../common/config';
import { flushTracing, startTracing } from '../common/tracing';
import { GroundworkError } from '../common/errors';
import { DOCUMENT_ID_PATTERN, TENANT_ID_PATTERN, documentIdFromName, stableKey } from '../common/ids';
import { pdfPasswordScope } from '../common/secrets';
import type { Secrets } from '../common/secrets';
import type {
  AnswerQuestionInput,
  AnswerResult,
  DeleteDocumentResult,
  DocumentSource,
  PurgeTenantResult,
  EditDecision,
  EvaluateTenantInput,
  EvaluationReport,
  GoldenQuestion,
  IngestBatchResult,
  IngestDocumentInput,
  IngestDocumentResult,
  ReviewClaim,
  ReviewOutcome,
  ReviewStatus,
  ReviewTaskState,
  RetrievedRef,
} from '../workflows/definitions';
import {
  DocumentIdKey,
  MAX_INLINE_BYTES,
  ReviewStatusKey,
  TenantIdKey,
  answerWorkflowId,
  answerOutcomeUpdate,
  answerProgressQuery,
  approveUpdate,
  claimUpdate,
  deleteDocumentWorkflowId,
  purgeTenantWorkflowId,
  editUpdate,
  evaluationScheduleId,
  evaluationWorkflowId,
  ingestBatchWorkflowId,
  ingestRunOptions,
  ingestWorkflowId,
  rejectUpdate,
  releaseUpdate,
  reviewStateQuery,
  searchSourcesUpdate,
} from '../workflows/definitions';
import type {
  answerQuestion,
  deleteDocument,
  evaluateTenant,
  ingestBatch,
  ingestDocument,
  purgeTenant,
  reviewTask,
} from '../workflows';

export const tenantIdSchema = z
  .string()
  .regex(TENANT_ID_PATTERN, 'tenant ids are 1-128 letters, digits, ".", "_" or "-"');
export const documentIdSchema = z
  .string()
  .regex(
    DOCUMENT_ID_PATTERN,
    'document ids are 1-200 letters (any script), digits, ".", "_", "@", "~" or "-", starting with a letter or digit',
  );
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
      expectedDocuments: z.array(documentIdSchema).max(100, 'at most 100 expected documents').optional(),
      expectAnswer: z.boolean().optional(),
      expectedAnswerContains: z.string().max(1000, 'the expected answer is too long').optional(),
    }),
  )
  .max(MAX_GOLDEN_QUESTIONS, `at most ${MAX_GOLDEN_QUESTIONS} golden questions`);
/**
 * The largest golden set a client without the deployment's evaluation store passes inline (in the workflow's input,
 * or the Schedule's action): history payloads stay well under 256 KB. With the store any set goes by reference.
 */
export const MAX_INLINE_GOLDEN_BYTES = 128 * 1024;

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

const isMissingHandler = (cause: unknown): boolean =>
  cause instanceof ApplicationFailure && cause.message.startsWith('No registered handler for update');

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
  /** The payload codec (GROUNDWORK_PAYLOAD_KEY): the same keys as the workers, or they cannot read each other. */
  dataConverter?: DataConverter;
  /** Where PDF passwords wait for their ingestion: the workers' `<data>/secrets` (shared storage across hosts). */
  secrets?: Secrets;
  /** The workers' blob store and document registry: uploads and document listings (fromConfig sets them). */
  documents?: DocumentStores;
  /** The deployment's evaluation store: golden sets go there and evaluations carry their hash (fromConfig sets it). */
  evaluations?: EvaluationStore;
  /** How long a review claim lasts (GROUNDWORK_REVIEW_CLAIM_TIMEOUT) and where the review console is (links). */
  review?: { claimTimeoutMs: number; consoleUrl?: string };
  /** The audit trail (fromConfig: <data>/audit): calls given an actor are recorded there. */
  audit?: AuditLog;
  /** Trace workflow starts, signals, updates and queries (OpenTelemetry), propagating the caller's trace context. */
  tracing?: boolean;
}

/** What an ask returns once the answer waits for a reviewer (unless the caller chose to wait for the review). */
export interface EscalatedAnswer {
  status: 'escalated';
  workflowId: string;
  reviewTaskId: string;
  /** The task's page in the review console, when the console's address is known. */
  reviewUrl?: string;
}

/** The console page of a task (the same link the notifications carry). */
export function reviewTaskUrl(consoleUrl: string, tenantId: string, taskId: string): string {
  return `${consoleUrl}#/t/${encodeURIComponent(tenantId)}/task/${encodeURIComponent(taskId)}`;
}

/**
 * What the client shares with the workers besides Temporal: the blob store uploads go into and the document registry
 * (a read). Both live on the workers' storage (GROUNDWORK_BLOB_DIR, GROUNDWORK_DATA_DIR): the CLI runs on a worker
 * host, or on storage shared with them.
 */
export interface DocumentStores {
  blobs: BlobStore;
  registry: DocumentRegistry;
  /** GROUNDWORK_MAX_FILE_MB in bytes: larger uploads are refused with FILE_TOO_LARGE. */
  maxUploadBytes: number;
}

/** One document of a batch: its id and source (a blob from uploadFile, or a path below the tenant's ingest root). */
export type BatchDocument = Omit<IngestDocumentInput, 'tenantId' | 'password' | 'passwordRef'>;

/** A blob source for a workflow, with what the store reported. */
export type UploadedSource = Extract<DocumentSource, { kind: 'blob' }> & Pick<StoredBlob, 'sha256' | 'bytes'>;

/** What purgeTenant removed: the workflow's counts plus what the client ended first. */
export interface PurgeTenantSummary extends PurgeTenantResult {
  /** Open review tasks of the tenant that were terminated. */
  reviewTasks: number;
  /** True when the tenant's evaluation Schedule existed and was deleted. */
  schedule: boolean;
}

/** The parts of an ingestion request that decide what a run does: a running run with the same ones may be joined. */
function ingestIdentity(input: IngestDocumentInput): string {
  const s = input.source;
  const source =
    s.kind === 'blob'
      ? ['blob', s.ref, s.name]
      : s.kind === 'path'
        ? ['path', s.path]
        : ['inline', s.name, stableKey(s.contentBase64)];
  return JSON.stringify([
    source,
    input.sourceName ?? null,
    input.includeHiddenSheets === true,
    input.chunkAcrossPages === true,
    input.passwordRef !== undefined || input.password !== undefined,
  ]);
}

const documentNotFound = (): ClientInputError =>
  new ClientInputError('DOCUMENT_NOT_FOUND', 'No such document for this tenant.');

/** One document to ingest. The password is stored in the secret store; the workflow sees only its reference. */
export type StartIngestInput = Omit<IngestDocumentInput, 'password' | 'passwordRef'> & {
  /** Password of an encrypted PDF. Never sent to Temporal: the workers read it from the shared secret store. */
  password?: string;
};

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
    private readonly secrets?: Secrets,
    /** The blob store and document registry shared with the workers; absent, uploads and listings are refused. */
    readonly documents?: DocumentStores,
    readonly review: { claimTimeoutMs: number; consoleUrl?: string } = { claimTimeoutMs: 15 * 60 * 1000 },
    readonly audit?: AuditLog,
    private readonly evaluations?: EvaluationStore,
  ) {}

  /** Who calls without naming an actor are recorded as (the CLI sets the operator); unset, such calls are not audited. */
  auditActor?: AuditActor;

  /** Records an action in the audit trail when there is a trail and an actor; ids the caller chose are made safe. */
  private async record(actor: AuditActor | undefined, entry: Omit<AuditEntryInput, 'actor'>): Promise<void> {
    const who = actor ?? this.auditActor;
    if (!this.audit || !who) return;
    const target = entry.target && { kind: entry.target.kind, id: auditSafeId(entry.target.id) };
    await this.audit.append({ ...entry, actor: who, ...(target ? { target } : {}) });
  }

  static async connect(options: ClientOptions): Promise<GroundworkClient> {
    const connection = await Connection.connect({
      address: options.address,
      tls: options.tls || undefined,
      apiKey: options.apiKey,
      metadata: options.metadata,
    });
    const client = new Client({
      connection,
      namespace: options.namespace ?? 'default',
      dataConverter: options.dataConverter,
      ...(options.tracing ? { interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } } : {}),
    });
    return new GroundworkClient(
      client,
      connection,
      options.taskQueue ?? 'groundwork',
      options.ingestConcurrency ?? DEFAULT_INGEST_CONCURRENCY,
      options.secrets,
      options.documents,
      options.review,
      options.audit,
      options.evaluations,
    );
  }

  /** Connects as configured (TEMPORAL_*, temporal.toml, GROUNDWORK_INGEST_CONCURRENCY); the address defaults to 127.0.0.1:7233. */
  static async fromConfig(config: Config): Promise<GroundworkClient> {
    // The process's tracer provider, unless the worker or the HTTP API in this process started it (the CLI's own).
    startTracing(config.tracing, 'client');
    const t = config.temporal;
    const objects = openObjectStore(config);
    return GroundworkClient.connect({
      address: t.address ?? DEFAULT_TEMPORAL_ADDRESS,
      namespace: t.namespace,
      taskQueue: t.taskQueue,
      apiKey: t.apiKey,
      tls: t.tls,
      metadata: t.metadata,
      ingestConcurrency: config.ingest.concurrency,
      dataConverter: dataConverterFor(config.security.payloadKeys),
      secrets: openSecretStore(config),
      documents: {
        blobs: openBlobStore(config),
        registry: DocumentRegistry.inStore(objects),
        maxUploadBytes: config.ingest.maxFileBytes,
      },
      review: { claimTimeoutMs: config.review.claimTimeoutMs, consoleUrl: config.review.consoleUrl },
      audit: AuditLog.forDataDir(config.dataDir),
      evaluations: EvaluationStore.inStore(objects, config.dataDir),
      tracing: config.tracing.enabled,
    });
  }

  async close(): Promise<void> {
    await this.connection.close();
    // A short-lived process (the CLI) sends its spans before it exits.
    await flushTracing().catch(() => undefined);
  }

  // ---------- ingestion ----------

  /**
   * Starts (or joins, when already running) the ingestion of one document. A password goes to the secret store and
   * only its reference into the workflow input (history); the parse activity deletes it once used.
   */
  async startIngest(request: StartIngestInput, actor?: AuditActor): Promise<WorkflowHandle<typeof ingestDocument>> {
    const handle = await this.startIngestRun(request);
    const runId = (handle as Partial<WorkflowHandleWithFirstExecutionRunId>).firstExecutionRunId;
    await this.record(actor, {
      tenantId: request.tenantId,
      action: 'document.ingest',
      target: { kind: 'document', id: request.documentId },
      details: {
        workflowId: handle.workflowId,
        ...(runId ? { runId } : { status: 'joined' }),
        sourceKind: request.source.kind,
      },
    });
    return handle;
  }

  private async startIngestRun(request: StartIngestInput): Promise<WorkflowHandle<typeof ingestDocument>> {
    // A caller's own passwordRef (or legacy plain password field) is never forwarded: references are made here.
    const { password, ...fields } = request;
    let input: IngestDocumentInput = { ...fields };
    delete input.passwordRef;
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
    if (input.source.kind === 'blob') {
      const { ref, name } = input.source;
      if (!isBlobRef(ref) || !ref.startsWith(`blob:${input.tenantId}/`))
        throw new ClientInputError('INVALID_INPUT', "The blob reference is not one of this tenant's uploads.");
      if (typeof name !== 'string' || name.length === 0 || name.length > 300)
        throw new ClientInputError('INVALID_INPUT', 'A blob source needs a file name of 1-300 characters.');
    }
    if (password !== undefined && password !== '') {
      if (!this.secrets)
        throw new ClientInputError('INVALID_INPUT', 'This client has no secret store, so it cannot pass a password.');
      const passwordRef = await this.secrets.put(password, {
        scope: pdfPasswordScope(input.tenantId, input.documentId),
      });
      input = { ...input, passwordRef };
      let handle: WorkflowHandle<typeof ingestDocument>;
      try {
        handle = await this.startIngestWorkflow(input);
      } catch (err) {
        await this.secrets.remove(passwordRef).catch(() => undefined);
        throw err;
      }
      // A joined run (no first run id: it was not started here) reads its own reference, never this one.
      if ((handle as Partial<WorkflowHandleWithFirstExecutionRunId>).firstExecutionRunId === undefined)
        await this.secrets.remove(passwordRef).catch(() => undefined);
      return handle;
    }
    return this.startIngestWorkflow(input);
  }

  /**
   * Starts the run, refusing (INGEST_RUNNING) while another ingestion of the document runs: joining it would hand the
   * caller the result of other bytes. A running run with the very same request is joined, which is harmless.
   */
  private async startIngestWorkflow(input: IngestDocumentInput): Promise<WorkflowHandle<typeof ingestDocument>> {
    const run = ingestRunOptions(input.tenantId, input.documentId);
    const { workflowId } = run;
    try {
      return await this.temporal.workflow.start<typeof ingestDocument>('ingestDocument', {
        ...run,
        taskQueue: this.taskQueue,
        args: [input],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      const handle = this.temporal.workflow.getHandle<typeof ingestDocument>(workflowId);
      const running = await this.runningInput<IngestDocumentInput>(handle).catch(() => undefined);
      if (running && ingestIdentity(running) === ingestIdentity(input)) return handle;
      throw new ClientInputError(
        'INGEST_RUNNING',
        `An ingestion of ${input.documentId} is running; try again when it has finished.`,
      );
    }
  }

  /** The input a run was started with, decoded as the workers see it (with the payload codec). */
  private async runningInput<T>(handle: WorkflowHandle): Promise<T | undefined> {
    const history = await handle.fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const [input] = await decodeArrayFromPayloads(
      this.temporal.options.loadedDataConverter,
      started?.input?.payloads ?? [],
    );
    return input as T | undefined;
  }

  /** True while the workflow's latest run is running. */
  private async isRunning(workflowId: string): Promise<boolean> {
    try {
      return (await this.temporal.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  async ingest(input: StartIngestInput): Promise<IngestDocumentResult> {
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

  /**
   * Many documents: one parent workflow fans out child ingestions with bounded concurrency. Each entry is a document
   * (from uploadFiles: blob sources) or a path the workers may read (below the tenant's ingest root).
   */
  async startIngestBatch(
    tenantId: string,
    files: (string | BatchDocument)[],
    concurrency = this.ingestConcurrency,
    options: IngestOptions = {},
    actor?: AuditActor,
  ): Promise<WorkflowHandle<typeof ingestBatch>> {
    parse(tenantIdSchema, tenantId, 'tenant');
    parse(concurrencySchema, concurrency, 'concurrency');
    const flags = {
      ...(options.includeHiddenSheets ? { includeHiddenSheets: true } : {}),
      ...(options.chunkAcrossPages ? { chunkAcrossPages: true } : {}),
    };
    const documents: BatchDocument[] = files.map((f) => ({
      ...(typeof f === 'string'
        ? { documentId: documentIdFromName(f), source: { kind: 'path' as const, path: path.resolve(f) } }
        : f),
      ...flags,
    }));
    for (const d of documents) {
      parse(documentIdSchema, d.documentId, 'document id');
      if (d.source.kind === 'blob' && !d.source.ref.startsWith(`blob:${tenantId}/`))
        throw new ClientInputError('INVALID_INPUT', "The blob reference is not one of this tenant's uploads.");
    }
    // The options are part of the batch's identity: the same files with other options are another batch.
    const optionKey = Object.keys(flags).sort().join(',');
    const sourceKey = (s: DocumentSource): string =>
      s.kind === 'path' ? s.path : s.kind === 'blob' ? s.ref : stableKey(s.contentBase64);
    const batchKey = stableKey(
      documents.map((d) => `${d.documentId}=${sourceKey(d.source)}`).join('\n') + (optionKey ? `\n${optionKey}` : ''),
    );
    // With a blob store the list goes there, and the workflow reads it a page per run: its history holds a reference
    // however many documents there are. (A client without stores passes the list inline.)
    const manifest = this.documents
      ? {
          ref: (
            await this.documents.blobs.put(tenantId, Readable.from([encodeManifest(documents)]), {
              maxBytes: MAX_MANIFEST_BYTES,
            })
          ).ref,
          total: documents.length,
        }
      : undefined;
    const handle = await this.temporal.workflow.start<typeof ingestBatch>('ingestBatch', {
      taskQueue: this.taskQueue,
      workflowId: ingestBatchWorkflowId(tenantId, batchKey),
      args: [
        manifest
          ? { tenantId, batchKey, documents: [], manifest, concurrency }
          : { tenantId, batchKey, documents, concurrency },
      ],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      typedSearchAttributes: [{ key: TenantIdKey, value: tenantId }],
      staticSummary: `Ingest ${documents.length} documents for ${tenantId}`,
    });
    // One entry for the batch (its documents are in its manifest): a batch of 20,000 is not 20,000 synced appends.
    await this.record(actor, {
      tenantId,
      action: 'document.ingest',
      target: { kind: 'batch', id: handle.workflowId },
      details: { workflowId: handle.workflowId, via: 'batch', documents: documents.length },
    });
    return handle;
  }

  async ingestBatch(
    tenantId: string,
    files: (string | BatchDocument)[],
    concurrency?: number,
    options?: IngestOptions,
    actor?: AuditActor,
  ): Promise<IngestBatchResult> {
    return (await this.startIngestBatch(tenantId, files, concurrency, options, actor)).result();
  }

  // ---------- uploads and the document lifecycle ----------

  private stores(): DocumentStores {
    if (!this.documents)
      throw new GroundworkError(
        'DOCUMENT_STORES_MISSING',
        'This client has no blob store or document registry: create it with GroundworkClient.fromConfig.',
      );
    return this.documents;
  }

  /**
   * Streams a local file into the blob store (the workers' GROUNDWORK_BLOB_DIR) and returns the blob source to ingest
   * it with. Refuses files over GROUNDWORK_MAX_FILE_MB (FILE_TOO_LARGE) and anything but a regular file.
   */
  async uploadFile(tenantId: string, file: string, name = path.basename(file)): Promise<UploadedSource> {
    parse(tenantIdSchema, tenantId, 'tenant');
    const { blobs, maxUploadBytes } = this.stores();
    const stat = await fs.stat(file).catch(() => undefined);
    if (!stat?.isFile()) throw new ClientInputError('SOURCE_NOT_FOUND', `No such file: ${path.basename(file)}`);
    const stored = await blobs.put(tenantId, createReadStream(file, { highWaterMark: 1024 * 1024 }), {
      maxBytes: maxUploadBytes,
    });
    return { kind: 'blob', ref: stored.ref, name, sha256: stored.sha256, bytes: stored.bytes };
  }

  /** Uploads local files, one after another, into batch documents with default ids (the file names). */
  async uploadFiles(tenantId: string, files: string[]): Promise<BatchDocument[]> {
    const documents: BatchDocument[] = [];
    for (const file of files) {
      const { kind, ref, name } = await this.uploadFile(tenantId, file);
      documents.push({ documentId: documentIdFromName(file), source: { kind, ref, name } });
    }
    return documents;
  }

  /** The tenant's documents as the registry knows them: live ones, failed ones, ones being ingested. */
  async listDocuments(tenantId: string): Promise<DocumentRecord[]> {
    parse(tenantIdSchema, tenantId, 'tenant');
    return this.stores().registry.list(tenantId);
  }

  /** One document's record; DOCUMENT_NOT_FOUND when the registry does not know it. */
  async getDocument(tenantId: string, documentId: string): Promise<DocumentRecord> {
    parse(tenantIdSchema, tenantId, 'tenant');
    parse(documentIdSchema, documentId, 'document id');
    const record = await this.stores().registry.get(tenantId, documentId);
    if (!record) throw documentNotFound();
    return record;
  }

  /**
   * Starts deleting a document: its points, blobs no other document uses, staged data and registry entry (workflow
   * `delete:<tenant>:<document>`; a deletion already running is joined). Refused with INGEST_RUNNING while the
   * document's ingestion runs.
   */
  async startDeleteDocument(
    tenantId: string,
    documentId: string,
    actor?: AuditActor,
  ): Promise<WorkflowHandle<typeof deleteDocument>> {
    parse(tenantIdSchema, tenantId, 'tenant');
    parse(documentIdSchema, documentId, 'document id');
    if (await this.isRunning(ingestWorkflowId(tenantId, documentId)))
      throw new ClientInputError(
        'INGEST_RUNNING',
        `An ingestion of ${documentId} is running; delete the document when it has finished.`,
      );
    const handle = await this.temporal.workflow.start<typeof deleteDocument>('deleteDocument', {
      taskQueue: this.taskQueue,
      workflowId: deleteDocumentWorkflowId(tenantId, documentId),
      args: [{ tenantId, documentId }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      typedSearchAttributes: [
        { key: TenantIdKey, value: tenantId },
        { key: DocumentIdKey, value: documentId },
      ],
      staticSummary: `Delete ${documentId} of ${tenantId}`,
    });
    await this.record(actor, {
      tenantId,
      action: 'document.delete',
      target: { kind: 'document', id: documentId },
      details: { workflowId: handle.workflowId },
    });
    return handle;
  }

  /** Deletes a document and returns what was removed; DOCUMENT_NOT_FOUND when there was nothing to delete. */
  async deleteDocument(tenantId: string, documentId: string, actor?: AuditActor): Promise<DeleteDocumentResult> {
    const result = await (await this.startDeleteDocument(tenantId, documentId, actor)).result();
    if (!result.found) throw documentNotFound();
    return result;
  }

  /**
   * Removes everything a tenant has: its evaluation Schedule and open review tasks (ended here, first), then, in the
   * `purge:<tenant>` workflow, its points, blobs, staged data, evaluation state and registry. Refused with
   * INGEST_RUNNING while an ingestion of the tenant runs (it would write again after the purge).
   */
  async purgeTenant(tenantId: string, actor?: AuditActor): Promise<PurgeTenantSummary> {
    parse(tenantIdSchema, tenantId, 'tenant');
    const running = this.temporal.workflow.list({
      query: `TenantId = '${tenantId}' AND ExecutionStatus = 'Running' AND WorkflowType IN ('ingestDocument', 'ingestBatch')`,
    });
    for await (const wf of running) {
      throw new ClientInputError(
        'INGEST_RUNNING',
        `Ingestions of ${tenantId} are running (${wf.workflowId}); cancel them or wait, then purge.`,
      );
    }
    let schedule = true;
    await this.deleteEvaluationSchedule(tenantId).catch((err: unknown) => {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      schedule = false;
    });
    let reviewTasks = 0;
    const open = this.temporal.workflow.list({
      query: `WorkflowType = 'reviewTask' AND TenantId = '${tenantId}' AND ExecutionStatus = 'Running'`,
    });
    for await (const wf of open) {
      try {
        await this.temporal.workflow.getHandle(wf.workflowId, wf.runId).terminate(`tenant ${tenantId} purged`);
        reviewTasks += 1;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err; // it closed meanwhile
      }
    }
    const result = await this.temporal.workflow.execute<typeof purgeTenant>('purgeTenant', {
      taskQueue: this.taskQueue,
      workflowId: purgeTenantWorkflowId(tenantId),
      args: [{ tenantId }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      typedSearchAttributes: [{ key: TenantIdKey, value: tenantId }],
      staticSummary: `Purge everything of ${tenantId}`,
    });
    await this.record(actor, {
      tenantId,
      action: 'tenant.purge',
      target: { kind: 'tenant', id: tenantId },
      details: {
        workflowId: purgeTenantWorkflowId(tenantId),
        documents: result.documents,
        points: result.points,
        blobs: result.blobs,
        reviewTasks,
        schedule,
      },
    });
    return { ...result, reviewTasks, schedule };
  }

  // ---------- answering ----------

  /** The start of an answer run: the same question asked with the same options while a run is in flight joins it. */
  private askStartOptions(input: AnswerQuestionInput) {
    parse(tenantIdSchema, input.tenantId, 'tenant');
    const question = parse(questionSchema, input.question, 'question');
    return {
      taskQueue: this.taskQueue,
      workflowId: answerWorkflowId(input.tenantId, question, input),
      args: [{ ...input, question }] as [AnswerQuestionInput],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      typedSearchAttributes: [{ key: TenantIdKey, value: input.tenantId }],
      staticSummary: `Answer a question for ${input.tenantId}`,
    };
  }

  /** Starts answering; the same question asked with the same options while a run is in flight joins that run. */
  async startAsk(input: AnswerQuestionInput): Promise<WorkflowHandle<typeof answerQuestion>> {
    return this.temporal.workflow.start<typeof answerQuestion>('answerQuestion', this.askStartOptions(input));
  }

  async ask(input: AnswerQuestionInput): Promise<AnswerResult> {
    return (await this.startAsk(input)).result();
  }

  /**
   * The answer, or, as soon as the run waits for a reviewer, `escalated` with the review task (asking never hangs on
   * a review). `waitReview: true` waits for the reviewed answer instead.
   */
  async askUntilEscalated(
    input: AnswerQuestionInput,
    options: { waitReview?: boolean; consoleUrl?: string; pollMs?: number } = {},
  ): Promise<(AnswerResult & { workflowId: string }) | EscalatedAnswer> {
    if (options.waitReview) {
      const handle = await this.startAsk(input);
      return { ...(await handle.result()), workflowId: handle.workflowId };
    }
    // Update-with-Start: one call starts (or joins) the run and returns when the answer or the review task is known.
    const start = new WithStartWorkflowOperation<typeof answerQuestion>('answerQuestion', this.askStartOptions(input));
    const outcome = await this.temporal.workflow.executeUpdateWithStart(answerOutcomeUpdate, {
      startWorkflowOperation: start,
    });
    const { workflowId } = await start.workflowHandle();
    if (outcome.kind === 'answer') return { ...outcome.result, workflowId };
    const consoleUrl = options.consoleUrl ?? this.review.consoleUrl;
    return {
      status: 'escalated',
      workflowId,
      reviewTaskId: outcome.reviewTaskId,
      reviewUrl: consoleUrl ? reviewTaskUrl(consoleUrl, input.tenantId, outcome.reviewTaskId) : undefined,
    };
  }

  /** Waits for the run's result, or returns `escalated` once it waits for a reviewer (see askUntilEscalated). */
  async answerOrEscalation(
    handle: WorkflowHandle<typeof answerQuestion>,
    tenantId: string,
    options: { waitReview?: boolean; consoleUrl?: string; pollMs?: number } = {},
  ): Promise<(AnswerResult & { workflowId: string }) | EscalatedAnswer> {
    const { workflowId } = handle;
    if (options.waitReview) return { ...(await handle.result()), workflowId };
    const consoleUrl = options.consoleUrl ?? this.review.consoleUrl;
    // Polled, not raced against result(): a result() left waiting for a review would outlive the caller's interest.
    for (;;) {
      const p = await handle.query(answerProgressQuery).catch(() => undefined);
      if (p?.stage === 'awaiting_review' && p.reviewTaskId)
        return {
          status: 'escalated',
          workflowId,
          reviewTaskId: p.reviewTaskId,
          reviewUrl: consoleUrl ? reviewTaskUrl(consoleUrl, tenantId, p.reviewTaskId) : undefined,
        };
      if (p === undefined || p.stage === 'done') {
        const { status } = await handle.describe();
        if (status.name !== 'RUNNING') return { ...(await handle.result()), workflowId };
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 250));
    }
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

  /**
   * Claims the task for the reviewer (or renews their claim) for GROUNDWORK_REVIEW_CLAIM_TIMEOUT: until it lapses or
   * is released, only they can decide it. Refused with REVIEW_CLAIMED while another reviewer holds it.
   */
  async claim(tenantId: string, taskId: string, reviewerId: string, actor?: AuditActor): Promise<ReviewClaim> {
    parse(tenantIdSchema, tenantId, 'tenant');
    return this.decide(
      tenantId,
      taskId,
      (h) => h.executeUpdate(claimUpdate, { args: [{ tenantId, reviewerId, ttlMs: this.review.claimTimeoutMs }] }),
      { actor, action: 'review.claim', reviewerId, details: (c) => ({ renewed: c.renewed === true }) },
    );
  }

  /** Gives the claim back; `released: false` when the reviewer did not hold it. */
  async release(
    tenantId: string,
    taskId: string,
    reviewerId: string,
    actor?: AuditActor,
  ): Promise<{ released: boolean }> {
    parse(tenantIdSchema, tenantId, 'tenant');
    return this.decide(tenantId, taskId, (h) => h.executeUpdate(releaseUpdate, { args: [{ tenantId, reviewerId }] }), {
      actor,
      action: 'review.release',
      reviewerId,
      details: (r) => ({ released: r.released }),
    });
  }

  /** The claim holder searches the tenant's documents; the hits become citable by an edit of this task. */
  async searchSources(tenantId: string, taskId: string, reviewerId: string, text: string): Promise<RetrievedRef[]> {
    parse(tenantIdSchema, tenantId, 'tenant');
    return this.decide(tenantId, taskId, (h) =>
      h.executeUpdate(searchSourcesUpdate, { args: [{ tenantId, reviewerId, text }] }),
    );
  }

  /**
   * Approves the draft. The task checks the decision (tenant, reviewer, still open, and, while a claim is held, that
   * it is the caller's) and returns the outcome.
   */
  async approve(
    tenantId: string,
    taskId: string,
    reviewerId: string,
    note?: string,
    actor?: AuditActor,
  ): Promise<ReviewOutcome> {
    parse(tenantIdSchema, tenantId, 'tenant');
    return this.decide(
      tenantId,
      taskId,
      (h) => h.executeUpdate(approveUpdate, { args: [{ tenantId, reviewerId, note }] }),
      { actor, action: 'review.decide', reviewerId, details: () => ({ decision: 'approve' }) },
    );
  }

  /** Replaces the draft; every citation must name a chunk retrieved for the question or found by a search. */
  async edit(
    tenantId: string,
    taskId: string,
    edit: Omit<EditDecision, 'tenantId'>,
    actor?: AuditActor,
  ): Promise<ReviewOutcome> {
    parse(tenantIdSchema, tenantId, 'tenant');
    return this.decide(tenantId, taskId, (h) => h.executeUpdate(editUpdate, { args: [{ ...edit, tenantId }] }), {
      actor,
      action: 'review.decide',
      reviewerId: edit.reviewerId,
      details: () => ({ decision: 'edit' }),
    });
  }

  async reject(
    tenantId: string,
    taskId: string,
    reviewerId: string,
    reason: string,
    actor?: AuditActor,
  ): Promise<ReviewOutcome> {
    parse(tenantIdSchema, tenantId, 'tenant');
    return this.decide(
      tenantId,
      taskId,
      (h) => h.executeUpdate(rejectUpdate, { args: [{ tenantId, reviewerId, reason }] }),
      { actor, action: 'review.decide', reviewerId, details: () => ({ decision: 'reject' }) },
    );
  }

  /**
   * Sends a decision Update. The task's validators are the only checks, so checking and deciding cannot race;
   * their refusals (REVIEW_CLOSED, REVIEW_NOT_FOUND, CITATION_NOT_RETRIEVED, INVALID_INPUT) become ClientInputErrors.
   */
  private async decide<T>(
    tenantId: string,
    taskId: string,
    send: (handle: WorkflowHandle<typeof reviewTask>) => Promise<T>,
    audit?: {
      actor?: AuditActor;
      action: 'review.claim' | 'review.release' | 'review.decide';
      reviewerId: string;
      details: (result: T) => Record<string, string | boolean>;
    },
  ): Promise<T> {
    try {
      const result = await this.sendDecision(tenantId, taskId, send);
      if (audit)
        await this.record(audit.actor, {
          tenantId,
          action: audit.action,
          target: { kind: 'review', id: taskId },
          details: { reviewer: auditSafeId(audit.reviewerId), ...audit.details(result) },
        });
      return result;
    } catch (err) {
      // A refused claim or decision (REVIEW_CLAIMED, REVIEW_CLOSED…) is recorded with its code.
      if (audit && err instanceof ClientInputError)
        await this.record(audit.actor, {
          tenantId,
          action: audit.action,
          target: { kind: 'review', id: taskId },
          outcome: 'refused',
          details: { reviewer: auditSafeId(audit.reviewerId), code: auditSafeId(err.code) },
        });
      throw err;
    }
  }

  private async sendDecision<T>(
    tenantId: string,
    taskId: string,
    send: (handle: WorkflowHandle<typeof reviewTask>) => Promise<T>,
  ): Promise<T> {
    const handle = this.temporal.workflow.getHandle<typeof reviewTask>(taskId);
    try {
      return await send(handle);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        // A workflow that is not a review task has no handler for the Update: to the caller, no such task.
        if (isMissingHandler(err.cause)) throw reviewNotFound();
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

  async runEvaluation(input: EvaluateTenantInput, actor?: AuditActor): Promise<EvaluationReport> {
    parse(tenantIdSchema, input.tenantId, 'tenant');
    const golden: GoldenQuestion[] = parse(goldenSetSchema, input.golden, 'golden set');
    const goldenArgs = await this.goldenArgs(input.tenantId, golden);
    const workflowId = evaluationWorkflowId(input.tenantId, `manual-${Date.now()}`);
    await this.record(actor, {
      tenantId: input.tenantId,
      action: 'evaluation.run',
      target: { kind: 'workflow', id: workflowId },
      details: { questions: golden.length, setBaseline: input.setBaseline === true },
    });
    return this.temporal.workflow.execute<typeof evaluateTenant>('evaluateTenant', {
      taskQueue: this.taskQueue,
      workflowId,
      // The reference is this client's to set (goldenArgs), never the caller's.
      args: [{ ...input, goldenRef: undefined, ...goldenArgs }],
      typedSearchAttributes: [{ key: TenantIdKey, value: input.tenantId }],
      staticSummary: `Evaluate ${golden.length} golden questions for ${input.tenantId}`,
    });
  }

  /** Creates or updates the tenant's re-evaluation Schedule. */
  async scheduleEvaluation(
    input: {
      tenantId: string;
      golden: GoldenQuestion[];
      every: string;
      paused?: boolean;
    },
    actor?: AuditActor,
  ): Promise<string> {
    parse(tenantIdSchema, input.tenantId, 'tenant');
    const golden = parse(goldenSetSchema, input.golden, 'golden set');
    const goldenArgs = await this.goldenArgs(input.tenantId, golden);
    const scheduleId = evaluationScheduleId(input.tenantId);
    const action = {
      type: 'startWorkflow' as const,
      workflowType: 'evaluateTenant',
      taskQueue: this.taskQueue,
      workflowId: evaluationWorkflowId(input.tenantId, 'scheduled'),
      args: [{ tenantId: input.tenantId, ...goldenArgs }],
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
    await this.record(actor, {
      tenantId: input.tenantId,
      action: 'evaluation.schedule',
      target: { kind: 'schedule', id: scheduleId },
      details: { every: input.every, questions: golden.length, ...(input.paused ? { status: 'paused' } : {}) },
    });
    return scheduleId;
  }

  /**
   * A golden set as an evaluation's arguments. With the deployment's evaluation store (fromConfig) the set is kept
   * there once, under its content hash (the same set is one object, kept until the tenant is purged), and only the
   * hash enters the workflow's input or the Schedule's action. Without it the set goes inline, up to
   * MAX_INLINE_GOLDEN_BYTES.
   */
  private async goldenArgs(
    tenantId: string,
    golden: GoldenQuestion[],
  ): Promise<Pick<EvaluateTenantInput, 'golden' | 'goldenRef'>> {
    const encoded = encodeGoldenSet(golden);
    if (this.evaluations) return { golden: [], goldenRef: await this.evaluations.saveGoldenSet(tenantId, encoded) };
    if (encoded.byteLength > MAX_INLINE_GOLDEN_BYTES)
      throw new ClientInputError(
        'GOLDEN_SET_TOO_LARGE',
        `The golden set takes ${Math.ceil(encoded.byteLength / 1024)} KB; a client without the deployment's evaluation store passes at most ${MAX_INLINE_GOLDEN_BYTES / 1024} KB (GroundworkClient.fromConfig connects to it and passes any size by reference).`,
      );
    return { golden };
  }

  async triggerEvaluation(tenantId: string, actor?: AuditActor): Promise<void> {
    await this.temporal.schedule.getHandle(evaluationScheduleId(tenantId)).trigger(ScheduleOverlapPolicy.ALLOW_ALL);
    await this.record(actor, {
      tenantId,
      action: 'evaluation.run',
      target: { kind: 'schedule', id: evaluationScheduleId(tenantId) },
      details: { trigger: true },
    });
  }

  async deleteEvaluationSchedule(tenantId: string, actor?: AuditActor): Promise<void> {
    await this.temporal.schedule.getHandle(evaluationScheduleId(tenantId)).delete();
    await this.record(actor, {
      tenantId,
      action: 'evaluation.unschedule',
      target: { kind: 'schedule', id: evaluationScheduleId(tenantId) },
    });
  }
}
