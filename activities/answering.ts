// The answering path's side effects: the tenant's policy, tenant-scoped retrieval, the model's draft, verification
// of that draft against the stored chunks, and citations for a reviewer's edit.
import type { CorpusGenerations } from './answer-cache';
import type { Duration } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { AuditLog } from '../common/audit';
import { recentPromises } from '../common/recent';
import { assertTenantId } from '../common/ids';
import type { Citation } from '../workflows/definitions';
import type { AnswerSignals } from './answer/signals';
import { bestSentence, computeSignals } from './answer/signals';
import type { Calibration, DraftKind } from './answer/calibration';
import { calibratedConfidence, fitCalibration, thresholdFor } from './answer/calibration';
import { defaultCalibration, modelsKey } from './answer/defaults';
import { mmrSelect } from './answer/mmr';
import { bestQuote, verifyAnswer } from './answer/verify';
import type { VerifiedAnswer } from './answer/verify';
import type { EvaluationStore, StoredLabel } from './evaluation-store';
import { ExtractiveAnswerer } from './models/extractive-answerer';
import type { Answerer, ContextChunk, DraftAnswer, Embedder } from './models/types';
import { cosine } from './vectors/fusion';
import type { ScoredChunk, VectorStore } from './vectors/types';

/**
 * What a tenant's answers are held to. The threshold is derived from the tenant's calibration for `targetRisk`
 * (GROUNDWORK_TARGET_RISK); a fixed threshold (GROUNDWORK_CONFIDENCE_THRESHOLD, GROUNDWORK_TENANT_THRESHOLDS)
 * overrides it when an operator sets one.
 */
export interface AnsweringPolicy {
  defaultThreshold?: number;
  tenantThresholds: Record<string, number>;
  targetRisk: number;
  /**
   * `calibrated`: confidence is the calibrated probability of being right and the threshold follows from targetRisk.
   * `heuristic` (the default until the calibrated mode meets its targets): the verification rule and a fixed
   * threshold (defaultThreshold, else 0.6); signals are still computed and recorded.
   */
  confidence?: 'heuristic' | 'calibrated';
  reviewTimeout: Duration;
  topK: number;
  driftTolerance: number;
  /** When the chat model stays unavailable: escalate to review, or answer with the offline extractive answerer. */
  modelFallback?: ModelFallback;
  tenantModelFallback?: Record<string, ModelFallback>;
}

export type ModelFallback = 'escalate' | 'extractive';

export interface AnsweringOptions {
  vectors: VectorStore;
  embedder: Embedder;
  answerer: Answerer;
  policy: AnsweringPolicy;
  /** Per-tenant labelled outcomes and calibration fits. */
  evaluations: EvaluationStore;
  /** Where PII redactions of outgoing chat requests are recorded (counts by type, never values). */
  audit?: AuditLog;
  /** Bumped after a calibration refit: thresholds changed, so answers cached under the old ones are not served. */
  generations?: CorpusGenerations;
}

/** The running activity's workflow id, if this runs inside one (eval:squad calls the activities directly). */
function currentWorkflowId(): string | undefined {
  try {
    return Context.current().info.workflowExecution?.workflowId;
  } catch {
    return undefined;
  }
}

export interface RetrievedChunk extends ContextChunk {
  sourceName: string;
  /** 1-based ranks in the store's dense and lexical (BM25) results; absent when that list did not have the chunk. */
  denseRank?: number;
  lexicalRank?: number;
}

/** What verification adds to the answer: the calibrated confidence, its signals, and which fit computed it. */
export interface CheckedAnswer extends VerifiedAnswer {
  signals: AnswerSignals;
  calibration: string;
}

/** The fixed threshold and the version name of the heuristic confidence (GROUNDWORK_CONFIDENCE=heuristic). */
export const HEURISTIC_THRESHOLD = 0.6;
export const HEURISTIC_VERSION = 'heuristic-v1';

/** A tenant needs this many labelled outcomes (golden questions, reviewer decisions) before it gets its own fit. */
export const MIN_LABELS_FOR_REFIT = 50;
/** Question vectors a worker remembers between retrieval and verification. */
const QUERY_VECTORS_KEPT = 256;
/** Candidates fetched per answer slot; MMR keeps topK of them. */
const CANDIDATES_PER_SLOT = 3;
const MAX_CANDIDATES = 60;

/** Chunks scoring below this are noise, not evidence: with none left the answer is "not in the documents". */
const MIN_RETRIEVAL_SCORE = 0.01;

export function createAnsweringActivities({
  vectors,
  embedder,
  answerer,
  policy,
  evaluations,
  audit,
  generations,
}: AnsweringOptions) {
  const models = modelsKey(embedder.id, answerer.id);
  const fallbackAnswerer = new ExtractiveAnswerer();
  // A question is embedded once per worker for retrieval and again for the answer's semantic support: remembered.
  const queryVectors = recentPromises<number[] | undefined>(QUERY_VECTORS_KEPT);
  const queryVector = (question: string): Promise<number[] | undefined> =>
    queryVectors(question, () => embedder.embed([question], { kind: 'query' }).then(([x]) => x));
  /** Cosine similarity of a question (as a query) and an answer (as a passage) in the embedder's space. */
  const similarity = async (question: string, answer: string): Promise<number> => {
    const [q, [a]] = await Promise.all([queryVector(question), embedder.embed([answer], { kind: 'passage' })]);
    return q && a ? cosine(q, a) : 0;
  };
  /** The tenant's own fit when it has one for the models in use, else the shipped one. */
  const calibrationOf = async (tenantId: string, answererId = answerer.id): Promise<Calibration> => {
    const key = modelsKey(embedder.id, answererId);
    const own = await evaluations.calibration(tenantId);
    return own && own.models === key ? own : defaultCalibration(key);
  };
  return {
    async tenantPolicy(input: { tenantId: string }): Promise<{
      threshold: number;
      reviewTimeout: Duration;
      topK: number;
      driftTolerance: number;
      calibration: string;
      modelFallback: ModelFallback;
    }> {
      assertTenantId(input.tenantId);
      const calibration = await calibrationOf(input.tenantId);
      const calibrated = policy.confidence === 'calibrated';
      const fixed =
        policy.tenantThresholds[input.tenantId] ??
        policy.defaultThreshold ??
        (calibrated ? undefined : HEURISTIC_THRESHOLD);
      const threshold =
        fixed ??
        (calibration.targetRisk === policy.targetRisk || calibration.curve.length === 0
          ? calibration.threshold
          : thresholdFor(calibration.curve, policy.targetRisk));
      return {
        threshold,
        reviewTimeout: policy.reviewTimeout,
        topK: policy.topK,
        driftTolerance: policy.driftTolerance,
        calibration: calibrated ? calibration.version : HEURISTIC_VERSION,
        modelFallback: policy.tenantModelFallback?.[input.tenantId] ?? policy.modelFallback ?? 'escalate',
      };
    },

    /**
     * Tenant-scoped hybrid retrieval (dense + the store's BM25 full-text search, fused by rank), diversified by MMR,
     * labelled C1..Cn for the answerer. When nothing is retrieved, `tenantChunks` says how many active chunks the
     * tenant has at all: 0 means an empty (or misconfigured) store, not an absent answer.
     */
    async retrieveChunks(input: {
      tenantId: string;
      question: string;
      topK: number;
    }): Promise<{ chunks: RetrievedChunk[]; tenantChunks?: number }> {
      assertTenantId(input.tenantId);
      await vectors.ensureReady(embedder.dimensions);
      const vector = await queryVector(input.question);
      const candidates = vector
        ? await vectors.search(input.tenantId, vector, {
            limit: Math.min(MAX_CANDIDATES, input.topK * CANDIDATES_PER_SLOT),
            minScore: MIN_RETRIEVAL_SCORE,
            text: input.question,
          })
        : [];
      if (candidates.length === 0)
        return { chunks: [], tenantChunks: await vectors.count(input.tenantId, { state: 'active' }) };
      const picked = mmrSelect(
        candidates.map((c) => ({ relevance: c.fused ?? c.score, text: c.payload.text })),
        input.topK,
      )
        .sort((a, b) => a - b)
        .map((i) => candidates[i] as ScoredChunk);
      return {
        chunks: picked.map((h, i) => ({
          ref: `C${i + 1}`,
          chunkId: h.id,
          documentId: h.payload.documentId,
          sourceName: h.payload.sourceName,
          locator: h.payload.locator,
          text: h.payload.text,
          score: h.score,
          ...(h.denseRank !== undefined ? { denseRank: h.denseRank } : {}),
          ...(h.lexicalRank !== undefined ? { lexicalRank: h.lexicalRank } : {}),
          ...(h.payload.heading ? { heading: h.payload.heading } : {}),
        })),
      };
    },

    /**
     * The tenant (when given) selects its PII policy for an external chat model; `promptVersion` (an evaluation
     * comparing versions) overrides the worker's pinned prompt for this draft.
     */
    async generateDraft(input: {
      tenantId?: string;
      question: string;
      chunks: ContextChunk[];
      promptVersion?: string;
    }): Promise<DraftAnswer> {
      const draft = await answerer.answer({
        question: input.question,
        context: input.chunks,
        tenantId: input.tenantId,
        ...(input.promptVersion === undefined ? {} : { promptVersion: input.promptVersion }),
      });
      // Proof of what left for the model provider: PII found in the request, by type, and whether it was sent as
      // placeholders (redact) or not sent at all (block). Counts only, never values.
      if (audit && input.tenantId && draft.redactions && Object.keys(draft.redactions).length > 0) {
        const workflowId = currentWorkflowId();
        await audit.append({
          tenantId: input.tenantId,
          actor: { kind: 'system', id: 'worker' },
          action: 'model.pii',
          ...(workflowId ? { target: { kind: 'workflow', id: workflowId } } : {}),
          outcome: draft.blocked ? 'refused' : 'ok',
          details: { policy: draft.blocked ? 'block' : 'redact', model: answerer.id, ...draft.redactions },
        });
      }
      return draft;
    },

    /** The offline extractive draft, for tenants that allow it when the chat model stays unavailable. */
    async generateFallbackDraft(input: {
      tenantId?: string;
      question: string;
      chunks: ContextChunk[];
    }): Promise<DraftAnswer> {
      return fallbackAnswerer.answer({ question: input.question, context: input.chunks });
    },

    /**
     * Re-reads the cited chunks from the store for the tenant rather than trusting what the workflow passed, so a
     * citation can only name a chunk of this tenant that retrieval returned in this run. The confidence is the
     * calibrated probability that the answer is right, from the answer's signals.
     */
    async verifyDraft(input: {
      tenantId: string;
      question: string;
      draft: DraftAnswer;
      retrieved: { ref: string; chunkId: string; score: number; denseRank?: number; lexicalRank?: number }[];
    }): Promise<CheckedAnswer> {
      const stored = await vectors.getChunks(
        input.tenantId,
        input.retrieved.map((r) => r.chunkId),
      );
      const context = contextOf(input.retrieved, stored);
      const verified = verifyAnswer({ question: input.question, draft: input.draft, context });
      const answered = verified.status === 'answered';
      // "Not found" is about the sentence that came closest to answering: its support decides how sure that is.
      const closest = answered ? undefined : bestSentence(input.question, context);
      const answerText = closest?.text ?? verified.evidence.answerText;
      const ranks = new Map(input.retrieved.map((r) => [r.ref, r]));
      const signals = computeSignals({
        question: input.question,
        context: context.map((c) => ({ ...c, ...ranks.get(c.ref), score: c.score })),
        answer: answerText,
        citedRef: closest?.ref ?? verified.evidence.citedRef,
        lexicalSupport: verified.evidence.lexicalSupport,
        kept: verified.evidence.kept,
        draftConfidence: input.draft.confidence,
        tokenProbability: input.draft.tokenProbability,
        semanticSupport: answerText ? await similarity(input.question, answerText) : 0,
      });
      // Calibrated for the answerer that wrote the draft (the extractive fallback has its own fit).
      const calibration = await calibrationOf(input.tenantId, input.draft.model);
      const kind: DraftKind = answered ? 'answered' : 'not_found';
      // A draft that claimed an answer none of whose claims survived is not a "not found": a reviewer looks at it.
      // Nor is a reply that was not the agreed answer at all (malformed JSON, a refusal).
      const rejectedClaims = !answered && !input.draft.notFound && input.draft.claims.length > 0;
      if (policy.confidence !== 'calibrated')
        return {
          ...verified,
          confidence: input.draft.malformed ? 0 : verified.confidence,
          signals,
          calibration: HEURISTIC_VERSION,
        };
      const confidence = rejectedClaims || input.draft.malformed ? 0 : calibratedConfidence(calibration, kind, signals);
      return { ...verified, confidence, signals, calibration: calibration.version };
    },

    /**
     * Keeps labelled outcomes for the tenant's calibration: golden questions of an evaluation and reviewers'
     * decisions on escalated answers. Signals only (numbers), never question or answer text.
     */
    async recordLabels(input: {
      tenantId: string;
      labels: { key: string; kind: DraftKind; signals: AnswerSignals; correct: boolean }[];
    }): Promise<void> {
      assertTenantId(input.tenantId);
      const recordedAt = new Date().toISOString();
      const labels: StoredLabel[] = input.labels.map((l) => ({ ...l, recordedAt }));
      await evaluations.addLabels(input.tenantId, labels);
    },

    /**
     * Refits the tenant's calibration from its labelled outcomes once it has MIN_LABELS_FOR_REFIT of them. Each fit
     * is a new version; answers record the version that computed their confidence.
     */
    async refitCalibration(input: {
      tenantId: string;
    }): Promise<{ refitted: boolean; version: string; labels: number; threshold: number }> {
      assertTenantId(input.tenantId);
      const labels = (await evaluations.labels(input.tenantId)).filter((l) => l.signals);
      if (labels.length < MIN_LABELS_FOR_REFIT) {
        const current = await calibrationOf(input.tenantId);
        return { refitted: false, version: current.version, labels: labels.length, threshold: current.threshold };
      }
      const n = (await evaluations.calibrationCount(input.tenantId)) + 1;
      const fit = fitCalibration(labels, {
        version: `${input.tenantId}-v${n}`,
        models,
        targetRisk: policy.targetRisk,
      });
      await evaluations.saveCalibration(input.tenantId, fit);
      await generations?.bump(input.tenantId);
      return { refitted: true, version: fit.version, labels: labels.length, threshold: fit.threshold };
    },

    /** Citations for a reviewer's edit, from chunk ids; ids that are not this tenant's chunks are dropped. */
    async resolveCitations(input: {
      tenantId: string;
      answer: string;
      citations: { chunkId: string; quote?: string }[];
    }): Promise<Citation[]> {
      const stored = await vectors.getChunks(
        input.tenantId,
        input.citations.map((c) => c.chunkId),
      );
      return citationsOf(input.answer, input.citations, stored);
    },
  };
}

/** The retrieved chunks as the store holds them for the tenant: one retired meanwhile, or never the tenant's, is gone. */
function contextOf(
  retrieved: { ref: string; chunkId: string; score: number }[],
  stored: ScoredChunk[],
): ContextChunk[] {
  const byId = new Map(stored.map((s) => [s.id, s]));
  return retrieved.flatMap((r) => {
    const s = byId.get(r.chunkId);
    if (!s) return [];
    const { documentId, sourceName, locator, text, heading } = s.payload;
    return [
      {
        ref: r.ref,
        chunkId: r.chunkId,
        documentId,
        sourceName,
        locator,
        text,
        score: r.score,
        ...(heading ? { heading } : {}),
      },
    ];
  });
}

/** A reviewer's quote is kept only if it is verbatim chunk text; otherwise the sentence best matching the answer. */
function citationsOf(answer: string, wanted: { chunkId: string; quote?: string }[], stored: ScoredChunk[]): Citation[] {
  const byId = new Map(stored.map((s) => [s.id, s]));
  return wanted.flatMap((c) => {
    const s = byId.get(c.chunkId);
    if (!s) return [];
    const quote = c.quote && s.payload.text.includes(c.quote) ? c.quote : bestQuote(answer, s.payload.text);
    const { documentId, sourceName, locator } = s.payload;
    return [{ documentId, sourceName, locator, chunkId: s.id, quote }];
  });
}
