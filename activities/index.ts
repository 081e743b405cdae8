// Every side effect the workflows need, built by one factory over explicit dependencies.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Context, log } from '@temporalio/activity';
import type { Duration } from '@temporalio/common';
import { extractChunks } from '../ingest';
import { contentHash } from '../ingest/hash';
import type { Config } from '../workers/config';
import { thresholdFor } from '../workers/config';
import type {
  Citation,
  EvaluationMetrics,
  EvaluationReport,
  GoldenQuestion,
  IngestDocumentInput,
  IngestWarningSummary,
  ReviewOutcome,
} from '../workflows/definitions';
import { DOCUMENT_ID_PATTERN, MAX_INLINE_BYTES, TENANT_ID_PATTERN } from '../workflows/definitions';
import { bestQuote, verifyAnswer } from './answer/verify';
import { badInput, mapFailures } from './errors';
import { EvaluationStore } from './evaluation-store';
import type { Answerer, ContextChunk, DraftAnswer, Embedder } from './models/types';
import { StagingArea } from './staging';
import { pointId } from './vectors/ids';
import type { VectorPoint, VectorStore } from './vectors/types';
import { formatLocator } from '../ingest/locator';

/** Bump when chunking or payload layout changes, so unchanged bytes are re-ingested once. */
const PIPELINE_VERSION = 'p1';
const MAX_WARNINGS_RETURNED = 20;

export interface ActivityDeps {
  vectors: VectorStore;
  embedder: Embedder;
  answerer: Answerer;
  config: Config;
}

export interface PreparedDocument {
  unchanged: boolean;
  version: string;
  previousVersion: string | null;
  stagingRef?: string;
  chunks: number;
  pages?: number;
  sheets?: number;
  ocrPages?: number;
  warnings: IngestWarningSummary[];
}

export interface RetrievedChunk extends ContextChunk {
  sourceName: string;
}

export function createActivities(deps: ActivityDeps) {
  const { vectors, embedder, answerer, config } = deps;
  const staging = new StagingArea(path.join(config.dataDir, 'staging'));
  const evaluations = new EvaluationStore(path.join(config.dataDir, 'evaluations'));

  function checkTenant(tenantId: string): void {
    if (!TENANT_ID_PATTERN.test(tenantId)) throw badInput('INVALID_TENANT', 'The tenant id is not valid.');
  }

  async function readSource(input: IngestDocumentInput): Promise<{ bytes: Uint8Array; name: string }> {
    const { source } = input;
    if (source.kind === 'inline') {
      const bytes = Buffer.from(source.contentBase64, 'base64');
      if (bytes.length > MAX_INLINE_BYTES) {
        throw badInput('FILE_TOO_LARGE', `Inline uploads are limited to ${MAX_INLINE_BYTES} bytes; pass a path instead.`);
      }
      return { bytes, name: source.name };
    }
    const file = path.resolve(source.path);
    const stat = await fs.stat(file).catch(() => undefined);
    if (!stat || !stat.isFile()) throw badInput('SOURCE_NOT_FOUND', 'The source file does not exist or is not a regular file.');
    if (stat.size > config.ingest.maxFileBytes) {
      throw badInput('FILE_TOO_LARGE', `The file is larger than the ${Math.round(config.ingest.maxFileBytes / 1048576)} MB limit.`);
    }
    return { bytes: await fs.readFile(file), name: path.basename(file) };
  }

  return {
    /** Parse step: read the source, skip when unchanged, otherwise parse (isolated) and stage chunks. */
    async prepareDocument(input: IngestDocumentInput): Promise<PreparedDocument> {
      return mapFailures(async () => {
        checkTenant(input.tenantId);
        if (!DOCUMENT_ID_PATTERN.test(input.documentId)) throw badInput('INVALID_DOCUMENT_ID', 'The document id is not valid.');
        const { bytes, name } = await readSource(input);
        const options = `${PIPELINE_VERSION}|${embedder.id}|hidden=${input.includeHiddenSheets ? 1 : 0}${input.chunkAcrossPages ? '|across=1' : ''}`;
        const version = contentHash(Buffer.concat([Buffer.from(options + '\n'), bytes])).slice(0, 20);
        const previousVersion = await vectors.activeVersion(input.tenantId, input.documentId);
        if (previousVersion === version) {
          const chunks = await vectors.count(input.tenantId, { documentId: input.documentId, state: 'active' });
          return { unchanged: true, version, previousVersion, chunks, warnings: [] };
        }
        const result = await extractChunks({
          bytes,
          fileName: name,
          password: input.password,
          includeHiddenSheets: input.includeHiddenSheets,
          chunking: { acrossPages: input.chunkAcrossPages === true },
          limits: { maxBytes: config.ingest.maxFileBytes, timeoutMs: config.ingest.parseTimeoutMs, maxMemoryMb: config.ingest.parseMemoryMb },
        });
        if (result.chunks.length === 0) throw badInput('NO_TEXT', 'No text could be extracted from the document.');
        const sourceName = input.sourceName ?? name;
        const stagingRef = await staging.write({
          tenantId: input.tenantId,
          documentId: input.documentId,
          version,
          sourceName,
          chunks: result.chunks.map((c) => ({
            index: c.index,
            text: c.text,
            locator: formatLocator(c.locator),
            locatorJson: JSON.stringify(c.locator),
            heading: c.heading,
            tokens: c.tokens,
          })),
        });
        const doc = result.document;
        log.info('document parsed', { documentId: input.documentId, version, chunks: result.chunks.length, kind: doc.kind });
        return {
          unchanged: false,
          version,
          previousVersion,
          stagingRef,
          chunks: result.chunks.length,
          pages: doc.stats.pages,
          sheets: doc.stats.sheets,
          ocrPages: doc.stats.ocrPages,
          warnings: doc.warnings.slice(0, MAX_WARNINGS_RETURNED).map((w) => ({
            code: w.code,
            message: w.message,
            locator: w.locator ? formatLocator(w.locator) : undefined,
          })),
        };
      });
    },

    /** Embed and upsert staged chunks in batches; heartbeats progress and resumes from it after a retry. */
    async embedAndUpsert(input: { tenantId: string; documentId: string; version: string; stagingRef: string }): Promise<{ upserted: number }> {
      return mapFailures(async () => {
        checkTenant(input.tenantId);
        const ctx = Context.current();
        const doc = await staging.read(input.stagingRef);
        if (doc.tenantId !== input.tenantId || doc.documentId !== input.documentId || doc.version !== input.version) {
          throw badInput('STAGING_MISMATCH', 'The staged document does not match the ingestion request.');
        }
        await vectors.ensureReady(embedder.dimensions);
        const resumeFrom = (ctx.info.heartbeatDetails as { next?: number } | undefined)?.next ?? 0;
        const batch = config.ingest.embedBatch;
        let upserted = 0;
        for (let start = resumeFrom; start < doc.chunks.length; start += batch) {
          const slice = doc.chunks.slice(start, start + batch);
          const vectorsOut = await embedder.embed(slice.map((c) => (c.heading ? `${c.heading}\n${c.text}` : c.text)));
          const points: VectorPoint[] = slice.map((c, i) => ({
            id: pointId(doc.tenantId, doc.documentId, doc.version, c.index),
            vector: vectorsOut[i] ?? [],
            payload: {
              tenantId: doc.tenantId,
              documentId: doc.documentId,
              version: doc.version,
              chunkId: pointId(doc.tenantId, doc.documentId, doc.version, c.index),
              chunkIndex: c.index,
              text: c.text,
              locator: c.locator,
              locatorJson: c.locatorJson,
              heading: c.heading,
              sourceName: doc.sourceName,
              state: 'staged',
            },
          }));
          await vectors.upsert(doc.tenantId, points);
          upserted += points.length;
          ctx.heartbeat({ next: start + slice.length });
        }
        return { upserted };
      });
    },

    /** Make the new version live and retire the old one; then drop the staging file. */
    async activateDocument(input: { tenantId: string; documentId: string; version: string; stagingRef?: string }): Promise<{ activated: number; retired: number }> {
      return mapFailures(async () => {
        checkTenant(input.tenantId);
        const counts = await vectors.activateVersion(input.tenantId, input.documentId, input.version);
        if (input.stagingRef) await staging.remove(input.stagingRef);
        return counts;
      });
    },

    /** Clean-up after a failed ingestion: staged points of this run go; the active version stays untouched. */
    async discardStagedDocument(input: { tenantId: string; documentId: string; stagingRef?: string }): Promise<{ discarded: number }> {
      return mapFailures(async () => {
        checkTenant(input.tenantId);
        const discarded = await vectors.discardStaged(input.tenantId, input.documentId);
        if (input.stagingRef) await staging.remove(input.stagingRef);
        return { discarded };
      });
    },

    async tenantPolicy(input: { tenantId: string }): Promise<{ threshold: number; reviewTimeout: Duration; topK: number; driftTolerance: number }> {
      checkTenant(input.tenantId);
      return {
        threshold: thresholdFor(config, input.tenantId),
        reviewTimeout: config.answering.reviewTimeout as Duration, // validated by the config schema
        topK: config.answering.topK,
        driftTolerance: config.evaluation.driftTolerance,
      };
    },

    /** Tenant-scoped nearest chunks, labelled C1..Cn for the answerer. */
    async retrieveChunks(input: { tenantId: string; question: string; topK: number }): Promise<{ chunks: RetrievedChunk[] }> {
      return mapFailures(async () => {
        checkTenant(input.tenantId);
        await vectors.ensureReady(embedder.dimensions);
        const [vector] = await embedder.embed([input.question]);
        if (!vector) return { chunks: [] };
        const hits = await vectors.search(input.tenantId, vector, { limit: input.topK, minScore: 0.01 });
        return {
          chunks: hits.map((h, i) => ({
            ref: `C${i + 1}`,
            chunkId: h.id,
            documentId: h.payload.documentId,
            sourceName: h.payload.sourceName,
            locator: h.payload.locator,
            text: h.payload.text,
            score: h.score,
          })),
        };
      });
    },

    async generateDraft(input: { question: string; chunks: ContextChunk[] }): Promise<DraftAnswer> {
      return mapFailures(() => answerer.answer({ question: input.question, context: input.chunks }));
    },

    /**
     * Verification re-reads the cited chunks from the store (tenant-scoped) rather than trusting what the
     * workflow passed: a citation must name a chunk retrieved for this tenant in this run (invariant 4).
     */
    async verifyDraft(input: { tenantId: string; question: string; draft: DraftAnswer; retrieved: { ref: string; chunkId: string; score: number }[] }) {
      return mapFailures(async () => {
        checkTenant(input.tenantId);
        const stored = await vectors.getChunks(input.tenantId, input.retrieved.map((r) => r.chunkId));
        const byId = new Map(stored.map((s) => [s.id, s]));
        const context: ContextChunk[] = [];
        for (const r of input.retrieved) {
          const s = byId.get(r.chunkId);
          if (!s) continue; // retired meanwhile, or never this tenant's: not citable
          context.push({
            ref: r.ref,
            chunkId: r.chunkId,
            documentId: s.payload.documentId,
            sourceName: s.payload.sourceName,
            locator: s.payload.locator,
            text: s.payload.text,
            score: r.score,
          });
        }
        return verifyAnswer({ question: input.question, draft: input.draft, context });
      });
    },

    /** Build citations for a reviewer's edit from chunk ids; ids not retrieved for this tenant are refused. */
    async resolveCitations(input: { tenantId: string; answer: string; citations: { chunkId: string; quote?: string }[] }): Promise<Citation[]> {
      return mapFailures(async () => {
        checkTenant(input.tenantId);
        const stored = await vectors.getChunks(input.tenantId, input.citations.map((c) => c.chunkId));
        const byId = new Map(stored.map((s) => [s.id, s]));
        return input.citations.flatMap((c) => {
          const s = byId.get(c.chunkId);
          if (!s) return [];
          // A reviewer's quote is kept only if it is verbatim chunk text; otherwise the sentence best matching the answer.
          const quote = c.quote && s.payload.text.includes(c.quote) ? c.quote : bestQuote(input.answer, s.payload.text);
          return [{ documentId: s.payload.documentId, sourceName: s.payload.sourceName, locator: s.payload.locator, chunkId: s.id, quote }];
        });
      });
    },

    async recordCorrection(input: { tenantId: string; question: string; outcome: ReviewOutcome }): Promise<void> {
      checkTenant(input.tenantId);
      if (input.outcome.decision === 'expired') return;
      await evaluations.addCorrection(input.tenantId, {
        question: input.question,
        decision: input.outcome.decision,
        documentIds: [...new Set(input.outcome.citations.map((c) => c.documentId))],
        reviewerId: input.outcome.reviewerId ?? 'unknown',
        recordedAt: input.outcome.decidedAt,
      });
    },

    async loadCorrections(input: { tenantId: string }): Promise<GoldenQuestion[]> {
      checkTenant(input.tenantId);
      return evaluations.correctionsAsGolden(input.tenantId);
    },

    async loadBaseline(input: { tenantId: string }): Promise<EvaluationMetrics | null> {
      checkTenant(input.tenantId);
      return (await evaluations.baseline(input.tenantId)) ?? null;
    },

    async saveEvaluation(input: { report: EvaluationReport; setBaseline: boolean }): Promise<void> {
      checkTenant(input.report.tenantId);
      await evaluations.saveReport(input.report, input.setBaseline);
      log.info('evaluation saved', { tenantId: input.report.tenantId, drift: input.report.drift.detected });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

