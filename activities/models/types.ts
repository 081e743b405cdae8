// Model providers behind small interfaces: openai when configured, deterministic offline defaults otherwise.
import { GroundworkError } from '../../common/errors';

/**
 * What the texts are: a question searched with (`query`) or a chunk searched for (`passage`). Asymmetric models (E5)
 * embed the two differently; symmetric ones ignore it. Unset: `passage`.
 */
export type EmbedKind = 'query' | 'passage';

export interface EmbedOptions {
  kind?: EmbedKind;
}

export interface Embedder {
  /** Stable identity including the model, stored with the collection so that vectors of different models never mix. */
  readonly id: string;
  readonly dimensions: number;
  embed(texts: string[], options?: EmbedOptions): Promise<number[][]>;
}

/** A chunk as the answerer sees it. `ref` is the short label the answerer cites (C1, C2, ...). */
export interface ContextChunk {
  ref: string;
  chunkId: string;
  documentId: string;
  sourceName?: string;
  locator: string;
  text: string;
  score: number;
  /** The chunk's section heading (for a table, the title above it), when it has one. */
  heading?: string;
}

export interface DraftClaim {
  text: string;
  /** Refs (C1...) of the chunks that support this claim. */
  refs: string[];
  /**
   * A claim answered from one spreadsheet cell of the chunk `refs[0]` names: the cell's locator (e.g. Revenue!C3),
   * cited instead of the chunk's range, and a verbatim quote of the chunk. Verification ignores it unless the cell lies
   * in that chunk's range and the quote is the chunk's text.
   */
  cell?: { locator: string; quote: string };
}

export interface DraftAnswer {
  /** True when the answerer finds the documents do not answer the question. */
  notFound: boolean;
  claims: DraftClaim[];
  /** The answerer's own confidence in [0, 1]. */
  confidence: number;
  model: string;
  /**
   * The prompt version (prompts/answer/vN.md) the model was asked with. Absent when no chat model was asked: the
   * offline extractive answerer (it has no prompt), nothing retrieved, or a request the PII policy blocked.
   */
  promptVersion?: string;
  /** Geometric-mean probability of the reply's tokens, when the provider returns log-probabilities. */
  tokenProbability?: number;
  /** The model's reply was not the agreed answer (bad JSON, a refusal, unknown refs): a reviewer must look. */
  malformed?: boolean;
  /** The model was not called because the tenant's PII policy is `block` and the request held PII: review. */
  blocked?: 'PII';
  /** PII kept out of the model request, counted by type (email, card, ...); never the values. For the audit. */
  redactions?: Record<string, number>;
}

export interface AnswerInput {
  question: string;
  context: ContextChunk[];
  /** Whose question: selects the tenant's PII policy. Unset: the default policy. */
  tenantId?: string;
  /** The prompt version for this request (e.g. an evaluation comparing versions); unset: the answerer's pinned one. */
  promptVersion?: string;
}

export interface Answerer {
  readonly id: string;
  answer(input: AnswerInput): Promise<DraftAnswer>;
}

/** A transient provider failure (429, 5xx, timeout): retried, honouring the provider's retry-after when given. */
export class ModelUnavailableError extends GroundworkError {
  override readonly name = 'ModelUnavailableError';
  constructor(message: string, retryAfterMs?: number) {
    super('MODEL_UNAVAILABLE', message, { retryable: true, retryAfterMs });
  }
}

/** A permanent provider failure (bad key, bad request): not retried. */
export class ModelRequestError extends GroundworkError {
  override readonly name = 'ModelRequestError';
  constructor(message: string) {
    super('MODEL_REQUEST_REJECTED', message);
  }
}
