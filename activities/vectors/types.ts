// The one vector-store contract. Every call takes a tenant id and the adapter enforces the tenant filter itself:
// no unscoped search exists, so no query can see another tenant's chunks.
import { GroundworkError } from '../../common/errors';

export type ChunkState = 'staged' | 'active';

/** What a point carries besides its vector. */
export interface ChunkPayload {
  tenantId: string;
  documentId: string;
  /** Document version: the content hash of the source bytes (plus options), shortened. */
  version: string;
  chunkId: string;
  chunkIndex: number;
  text: string;
  /** Human-readable locator, e.g. "p. 3" or "Revenue!A1:F12". */
  locator: string;
  /** The structured locator as JSON, for programs. */
  locatorJson: string;
  heading?: string;
  sourceName: string;
  state: ChunkState;
}

export interface VectorPoint {
  /** Deterministic UUID from tenant, document, version and chunk index. */
  id: string;
  vector: number[];
  payload: ChunkPayload;
}

export interface ScoredChunk {
  id: string;
  /**
   * Cosine similarity of the chunk's vector to the query vector, also for chunks only the lexical side found
   * (0 from getChunks, which has no query).
   */
  score: number;
  payload: ChunkPayload;
  /** Hybrid search only: 1-based rank in the dense list; absent when the chunk was not in it. */
  denseRank?: number;
  /** Hybrid search only: 1-based rank in the lexical (BM25) list; absent when the chunk was not in it. */
  lexicalRank?: number;
  /** Hybrid search only: the Reciprocal Rank Fusion score (k = 60) the results are ordered by. */
  fused?: number;
}

export interface SearchOptions {
  limit: number;
  documentIds?: string[];
  /** Applies to the dense side only: a chunk the lexical side found is kept whatever its cosine. */
  minScore?: number;
  /**
   * The query's text. When it has at least one content token, the search is hybrid: dense and BM25 full-text
   * search, both under the same tenant/state/document filter, fused by Reciprocal Rank Fusion (k = 60). Absent
   * (or without content tokens): dense only, ordered by score.
   */
  text?: string;
}

export interface VectorStore {
  /** Short name for logs: 'lancedb' | 'qdrant'. */
  readonly kind: string;
  /** Create the collection/table and indexes if missing. Idempotent. */
  ensureReady(dimensions: number): Promise<void>;
  /** Insert or replace points. Every point's payload.tenantId must equal tenantId, else TENANT_MISMATCH. */
  upsert(tenantId: string, points: VectorPoint[]): Promise<void>;
  /** Nearest active chunks of this tenant only; hybrid (dense + BM25, fused) when options.text is given. */
  search(tenantId: string, vector: number[], options: SearchOptions): Promise<ScoredChunk[]>;
  /** The active version of a document, or null when the tenant has none. */
  activeVersion(tenantId: string, documentId: string): Promise<string | null>;
  /**
   * Make `version` the live one: its staged points become active, then every point of the document
   * with another version is deleted. Idempotent; returns counts. A version with no points at all is refused
   * (VERSION_NOT_STAGED) rather than leaving the document without its live version.
   */
  activateVersion(
    tenantId: string,
    documentId: string,
    version: string,
  ): Promise<{ activated: number; retired: number }>;
  /** Delete staged points of a document that are not `keepVersion` (leftovers of a failed run). */
  discardStaged(tenantId: string, documentId: string, keepVersion?: string): Promise<number>;
  /** Delete every point of a document, staged and active, of every version; returns how many there were. */
  deleteDocument(tenantId: string, documentId: string): Promise<number>;
  /** Delete every point of the tenant (a tenant purge); returns how many there were. */
  deleteTenant(tenantId: string): Promise<number>;
  /** Count points of a tenant, optionally for one document and/or state. */
  count(tenantId: string, filter?: { documentId?: string; state?: ChunkState }): Promise<number>;
  /** Fetch chunks by id, tenant-scoped (ids of other tenants are silently absent). */
  getChunks(tenantId: string, ids: string[]): Promise<ScoredChunk[]>;
  close(): Promise<void>;
}

export const tenantMismatch = (): GroundworkError =>
  new GroundworkError(
    'TENANT_MISMATCH',
    'A point was written with a tenant id other than the one the call is scoped to.',
  );

/** Activation of a version with nothing staged would retire the live version and leave the document empty. */
export const versionNotStaged = (): GroundworkError =>
  new GroundworkError(
    'VERSION_NOT_STAGED',
    'No chunks of this document version are staged or live; nothing was activated.',
  );

/** The store's collection holds vectors of another size: another embedder wrote it. Retrying cannot help. */
export const embedderMismatch = (stored: number, produced: number): GroundworkError =>
  new GroundworkError(
    'EMBEDDER_MISMATCH',
    `The vector store holds ${stored}-dimensional vectors but the embedder produces ${produced}.`,
  );
