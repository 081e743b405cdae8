// Qdrant adapter: one collection, a tenant_id keyword index with is_tenant, every filter built by
// tenantFilter() so no call can reach another tenant's points. Client errors become GroundworkErrors: 429, 5xx,
// timeouts and refused connections are retryable (honouring Qdrant's retry_after); other 4xx are not.
//
// Layout: new collections hold two named vectors per point, `dense` (the embedding, cosine) and `bm25` (a sparse
// BM25 vector of the chunk text, see sparse.ts; Qdrant applies IDF through the 'idf' modifier). A hybrid search is
// one query: a dense and a sparse prefetch, both tenant-filtered, fused by RRF (k = 60). Collections created before
// named vectors (one unnamed vector) keep working, dense only: `text` is ignored there.
import { QdrantClient, QdrantClientResourceExhaustedError, QdrantClientTimeoutError } from '@qdrant/js-client-rest';
import { GroundworkError } from '../../common/errors';
import { assertTenantId } from '../../common/ids';
import type { ChunkState, ScoredChunk, SearchOptions, VectorPoint, VectorStore } from './types';
import { embedderMismatch, tenantMismatch, versionNotStaged } from './types';
import { fromStored, toStored } from './payload';
import { RRF_K, cosine, hybridDepth, hybridText } from './fusion';
import { documentSparseVector, querySparseVector } from './sparse';

type Condition = { key: string; match: { value: string } | { any: string[] } };
interface Filter {
  must: Condition[];
  must_not?: Condition[];
}

const UPSERT_BATCH = 256;
export const DENSE_VECTOR = 'dense';
export const SPARSE_VECTOR = 'bm25';

/** How the collection stores vectors: `named` (dense + maybe bm25) or the older single unnamed vector. */
interface Layout {
  named: boolean;
  sparse: boolean;
  size?: number;
}

/** Reads the layout from a collection's vector config; anything unrecognised is treated as the old layout. */
export function layoutOf(params: { vectors?: unknown; sparse_vectors?: unknown }): Layout {
  const vectors = params.vectors as Record<string, unknown> | undefined;
  if (vectors && typeof vectors.size === 'number') return { named: false, sparse: false, size: vectors.size };
  const dense = vectors?.[DENSE_VECTOR] as { size?: unknown } | undefined;
  if (dense && typeof dense.size === 'number') {
    const sparse = Boolean((params.sparse_vectors as Record<string, unknown> | null | undefined)?.[SPARSE_VECTOR]);
    return { named: true, sparse, size: dense.size };
  }
  return { named: false, sparse: false };
}

/** Classifies what the Qdrant client throws; messages name the status only, never request content. */
export function mapQdrantError(err: unknown): unknown {
  if (err instanceof GroundworkError) return err;
  if (err instanceof QdrantClientResourceExhaustedError) {
    return new GroundworkError('VECTOR_STORE_BUSY', 'Qdrant is rate limiting; retrying later.', {
      retryable: true,
      retryAfterMs: err.retry_after * 1000,
    });
  }
  if (err instanceof QdrantClientTimeoutError) {
    return new GroundworkError('VECTOR_STORE_UNAVAILABLE', 'Qdrant did not answer in time.', { retryable: true });
  }
  const message = err instanceof Error ? err.message : '';
  const status = Number(
    (err as { status?: unknown } | null)?.status ?? /^Unexpected Response: (\d{3})/.exec(message)?.[1],
  );
  if (Number.isInteger(status) && status >= 400) {
    const retryable = status === 408 || status === 429 || status >= 500;
    return new GroundworkError(
      retryable ? 'VECTOR_STORE_UNAVAILABLE' : 'VECTOR_STORE_REJECTED',
      `Qdrant answered ${status}.`,
      { retryable },
    );
  }
  // fetch failures (connection refused, reset, DNS): the server may come back.
  // (by name: fetch's TypeError may come from another realm, as under jest)
  if ((err as Error | null)?.name === 'TypeError')
    return new GroundworkError('VECTOR_STORE_UNAVAILABLE', 'Qdrant could not be reached.', { retryable: true });
  return err;
}

/** The client with every promise-returning method mapped through mapQdrantError: one place, no call forgotten. */
function withMappedErrors(client: QdrantClient): QdrantClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(mapQdrantError(err))) : result;
      };
    },
  });
}

export class QdrantVectorStore implements VectorStore {
  readonly kind = 'qdrant';
  private readonly client: QdrantClient;
  private dimensions?: number;
  private layout?: Layout;

  constructor(
    url: string,
    apiKey: string | undefined,
    private readonly collection = 'groundwork_chunks',
  ) {
    this.client = withMappedErrors(new QdrantClient({ url, apiKey, checkCompatibility: false, timeout: 30_000 }));
  }

  private tenantFilter(
    tenantId: string,
    extra: Record<string, string | undefined> = {},
    mustNot?: Record<string, string>,
  ): Filter {
    assertTenantId(tenantId);
    const must: Condition[] = [{ key: 'tenant_id', match: { value: tenantId } }];
    for (const [key, value] of Object.entries(extra)) if (value !== undefined) must.push({ key, match: { value } });
    const filter: Filter = { must };
    if (mustNot) filter.must_not = Object.entries(mustNot).map(([key, value]) => ({ key, match: { value } }));
    return filter;
  }

  async ensureReady(dimensions: number): Promise<void> {
    if (this.dimensions === dimensions) return;
    const { exists } = await this.client.collectionExists(this.collection);
    if (!exists) {
      await this.client
        .createCollection(this.collection, {
          vectors: { [DENSE_VECTOR]: { size: dimensions, distance: 'Cosine' } },
          sparse_vectors: { [SPARSE_VECTOR]: { modifier: 'idf' } },
        })
        .catch(async (err: unknown) => {
          // Another worker may have created it meanwhile.
          if (!(await this.client.collectionExists(this.collection)).exists) throw err;
        });
      await this.client.createPayloadIndex(this.collection, {
        field_name: 'tenant_id',
        field_schema: { type: 'keyword', is_tenant: true },
        wait: true,
      });
      for (const field of ['document_id', 'state', 'version']) {
        await this.client.createPayloadIndex(this.collection, {
          field_name: field,
          field_schema: 'keyword',
          wait: true,
        });
      }
    }
    const layout = await this.readLayout();
    if (layout.size !== undefined && layout.size !== dimensions) throw embedderMismatch(layout.size, dimensions);
    this.layout = layout;
    this.dimensions = dimensions;
  }

  private async readLayout(): Promise<Layout> {
    return layoutOf((await this.client.getCollection(this.collection)).config.params);
  }

  /** The layout read by ensureReady, or read now for a store used without it. */
  private async currentLayout(): Promise<Layout> {
    this.layout ??= await this.readLayout();
    return this.layout;
  }

  async upsert(tenantId: string, points: VectorPoint[]): Promise<void> {
    assertTenantId(tenantId);
    if (points.some((p) => p.payload.tenantId !== tenantId)) throw tenantMismatch();
    if (points.length === 0) return;
    const layout = await this.currentLayout();
    const vectorOf = (
      p: VectorPoint,
    ): number[] | Record<string, number[] | { indices: number[]; values: number[] }> => {
      if (!layout.named) return p.vector;
      const sparse = layout.sparse ? documentSparseVector(p.payload.text) : undefined;
      // A text without content tokens has no sparse vector: the point is simply never a lexical hit.
      return sparse?.indices.length
        ? { [DENSE_VECTOR]: p.vector, [SPARSE_VECTOR]: sparse }
        : { [DENSE_VECTOR]: p.vector };
    };
    for (let i = 0; i < points.length; i += UPSERT_BATCH) {
      const batch = points.slice(i, i + UPSERT_BATCH);
      await this.client.upsert(this.collection, {
        wait: true,
        points: batch.map((p) => ({ id: p.id, vector: vectorOf(p), payload: { ...toStored(p.payload) } })),
      });
    }
  }

  async search(tenantId: string, vector: number[], options: SearchOptions): Promise<ScoredChunk[]> {
    const filter = this.tenantFilter(tenantId, { state: 'active' });
    if (options.documentIds?.length) filter.must.push({ key: 'document_id', match: { any: options.documentIds } });
    const layout = await this.currentLayout();
    const text = layout.sparse ? hybridText(options.text) : undefined;
    const sparse = text === undefined ? undefined : querySparseVector(text);
    if (!sparse?.indices.length) {
      const res = await this.client.query(this.collection, {
        query: vector,
        ...(layout.named ? { using: DENSE_VECTOR } : {}),
        filter,
        limit: options.limit,
        with_payload: true,
        score_threshold: options.minScore,
      });
      return res.points.map((p) => ({ id: String(p.id), score: p.score, payload: fromStored(p.payload) }));
    }
    const depth = hybridDepth(options.limit);
    // minScore bounds the dense side only: a lexical hit stays whatever its cosine.
    const dense = { query: vector, using: DENSE_VECTOR, filter, limit: depth, score_threshold: options.minScore };
    const lexical = { query: sparse, using: SPARSE_VECTOR, filter, limit: depth };
    // One request: the fused query (its RRF runs in Qdrant over the two prefetches), plus each side on its own,
    // identical to the prefetches, to report every chunk's rank in each list.
    const [fused, denseList, lexicalList] = await this.client.queryBatch(this.collection, {
      searches: [
        {
          prefetch: [dense, lexical],
          // Qdrant scores 1 / (k + position) with 0-based positions: k + 1 gives RRF over 1-based ranks with
          // k = 60, the same fused scores fuseRanks() (fusion.ts) computes for LanceDB (the contract test checks).
          query: { rrf: { k: RRF_K + 1 } },
          filter,
          limit: options.limit,
          with_payload: true,
          with_vector: [DENSE_VECTOR],
        },
        { ...dense, with_payload: false },
        { ...lexical, with_payload: false },
      ],
    });
    const rankIn = (list: { points: { id: string | number }[] } | undefined): Map<string, number> =>
      new Map((list?.points ?? []).map((p, i) => [String(p.id), i + 1]));
    const denseRanks = rankIn(denseList);
    const lexicalRanks = rankIn(lexicalList);
    const denseScores = new Map((denseList?.points ?? []).map((p) => [String(p.id), p.score]));
    return (fused?.points ?? []).map((p) => {
      const id = String(p.id);
      const stored = (p.vector as Record<string, unknown> | null | undefined)?.[DENSE_VECTOR];
      const hit: ScoredChunk = {
        id,
        // The cosine: Qdrant's own dense score when the dense side had the chunk, else from the stored vector.
        score: denseScores.get(id) ?? (Array.isArray(stored) ? cosine(vector, stored as number[]) : 0),
        payload: fromStored(p.payload),
        fused: p.score,
      };
      const denseRank = denseRanks.get(id);
      const lexicalRank = lexicalRanks.get(id);
      if (denseRank !== undefined) hit.denseRank = denseRank;
      if (lexicalRank !== undefined) hit.lexicalRank = lexicalRank;
      return hit;
    });
  }

  async activeVersion(tenantId: string, documentId: string): Promise<string | null> {
    const res = await this.client.scroll(this.collection, {
      filter: this.tenantFilter(tenantId, { document_id: documentId, state: 'active' }),
      limit: 1,
      with_payload: ['version'],
    });
    const v = res.points[0]?.payload?.version;
    return typeof v === 'string' ? v : null;
  }

  async activateVersion(
    tenantId: string,
    documentId: string,
    version: string,
  ): Promise<{ activated: number; retired: number }> {
    const staged = this.tenantFilter(tenantId, { document_id: documentId, version, state: 'staged' });
    const activated = (await this.client.count(this.collection, { filter: staged, exact: true })).count;
    if (activated === 0) {
      const live = this.tenantFilter(tenantId, { document_id: documentId, version, state: 'active' });
      if ((await this.client.count(this.collection, { filter: live, exact: true })).count === 0)
        throw versionNotStaged();
    }
    if (activated > 0)
      await this.client.setPayload(this.collection, { payload: { state: 'active' }, filter: staged, wait: true });
    const others = this.tenantFilter(tenantId, { document_id: documentId }, { version });
    const retired = (await this.client.count(this.collection, { filter: others, exact: true })).count;
    if (retired > 0) await this.client.delete(this.collection, { filter: others, wait: true });
    return { activated, retired };
  }

  async discardStaged(tenantId: string, documentId: string, keepVersion?: string): Promise<number> {
    const filter = this.tenantFilter(
      tenantId,
      { document_id: documentId, state: 'staged' },
      keepVersion ? { version: keepVersion } : undefined,
    );
    const n = (await this.client.count(this.collection, { filter, exact: true })).count;
    if (n > 0) await this.client.delete(this.collection, { filter, wait: true });
    return n;
  }

  async deleteDocument(tenantId: string, documentId: string): Promise<number> {
    return this.deleteMatching(this.tenantFilter(tenantId, { document_id: documentId }));
  }

  async deleteTenant(tenantId: string): Promise<number> {
    return this.deleteMatching(this.tenantFilter(tenantId));
  }

  private async deleteMatching(filter: Filter): Promise<number> {
    const n = (await this.client.count(this.collection, { filter, exact: true })).count;
    if (n > 0) await this.client.delete(this.collection, { filter, wait: true });
    return n;
  }

  async count(tenantId: string, filter: { documentId?: string; state?: ChunkState } = {}): Promise<number> {
    return (
      await this.client.count(this.collection, {
        filter: this.tenantFilter(tenantId, { document_id: filter.documentId, state: filter.state }),
        exact: true,
      })
    ).count;
  }

  async getChunks(tenantId: string, ids: string[]): Promise<ScoredChunk[]> {
    assertTenantId(tenantId);
    if (ids.length === 0) return [];
    const res = await this.client.retrieve(this.collection, {
      ids: ids.filter((id) => /^[0-9a-f-]{36}$/i.test(id)),
      with_payload: true,
    });
    // retrieve() cannot take a filter, so the tenant check happens here on every returned point.
    return res
      .filter((p) => fromStored(p.payload).tenantId === tenantId)
      .map((p) => ({ id: String(p.id), score: 0, payload: fromStored(p.payload) }));
  }

  async close(): Promise<void> {
    // The REST client holds no connections to release.
  }
}
