// Qdrant adapter: one collection, a tenant_id keyword index with is_tenant, every filter built by
// tenantFilter() so no call can reach another tenant's points. Client errors become GroundworkErrors: 429, 5xx,
// timeouts and refused connections are retryable (honouring Qdrant's retry_after); other 4xx are not.
//
// Layout: new collections hold two named vectors per point, `dense` (the embedding, cosine) and `bm25` (a sparse
// BM25 vector of the chunk text, see sparse.ts; Qdrant applies IDF through the 'idf' modifier). A hybrid search is
// one query: a dense and a sparse prefetch, both tenant-filtered, fused by RRF (k = 60). Collections created before
// named vectors (one unnamed vector) keep working, dense only: `text` is ignored there.
//
// ensureReady verifies the collection on every call: the vector size (EMBEDDER_MISMATCH) and the distance (Cosine,
// else VECTOR_STORE_MISCONFIGURED), and creates any missing payload index (tenant_id with is_tenant, document_id,
// state, version), also on a collection an older version or another tool created. New collections follow Qdrant's
// multitenancy guidance: hnsw_config { payload_m: 16, m: 0 }, one graph per tenant and no global graph (every
// search here is tenant-filtered). Existing collections keep their HNSW settings.
//
// Version switch, and what Qdrant guarantees: activateVersion sends one /points/batch request (set the new version's
// points active, then delete every other version). Qdrant applies the operations of a batch in order, but documents
// no atomicity for readers: each operation is applied point by point and segment by segment, and a search running
// meanwhile may read some segments before and some after. So readers get the guarantee themselves: activation stamps
// the points it makes live with an activation number (`activation` in the payload, greater than the one of the
// version it replaces), and a search that meets two versions of one document drops the one with the lower number
// and runs again without it (see search()). No result set holds two versions of a document; the old version stays
// findable until the new one is.
import { QdrantClient, QdrantClientResourceExhaustedError, QdrantClientTimeoutError } from '@qdrant/js-client-rest';
import { GroundworkError } from '../../common/errors';
import { assertTenantId } from '../../common/ids';
import type { ChunkState, ScoredChunk, SearchOptions, VectorPoint, VectorStore } from './types';
import { embedderMismatch, tenantMismatch, versionNotStaged } from './types';
import { fromStored, toStored } from './payload';
import { RRF_K, cosine, hybridDepth, hybridText } from './fusion';
import { documentSparseVector, querySparseVector } from './sparse';

type Condition =
  | { key: string; match: { value: string } | { any: string[] } }
  | { key: string; range: { gte: number } }
  | { has_id: string[] }
  | { must: Condition[]; must_not?: Condition[] };
interface Filter {
  must: Condition[];
  must_not?: Condition[];
}

/** Payload field holding the activation number of a live point (see the header). */
export const ACTIVATION = 'activation';
/** Searches run again at most this often when they meet two versions of a document. */
const SWITCH_RETRIES = 3;

/** How a payload field is indexed. */
interface PayloadIndex {
  type: 'keyword';
  is_tenant?: boolean;
  /** false: no extra HNSW links per value of this field (see PAYLOAD_INDEXES). */
  enable_hnsw?: boolean;
}

/**
 * The payload indexes every collection needs, verified and created by ensureReady. With payload_m set, Qdrant builds
 * extra HNSW links for every value of every indexed keyword field unless its index says enable_hnsw: false. Only the
 * tenant's graph serves searches (every search filters on the tenant); links per state value (nearly every point is
 * `active`), per version and per large document only cost index build time: measured with `npm run bench:scale --
 * --chunks 20000 --store qdrant` (see the README's "Scale"), they made the collection take minutes to turn green.
 */
export const PAYLOAD_INDEXES: Record<string, PayloadIndex> = {
  tenant_id: { type: 'keyword', is_tenant: true },
  document_id: { type: 'keyword', enable_hnsw: false },
  state: { type: 'keyword', enable_hnsw: false },
  version: { type: 'keyword', enable_hnsw: false },
};

/**
 * Headers of every request. Responses come uncompressed: Node's fetch asks for gzip by default, Qdrant then streams
 * any response over about 1 KB compressed in several writes, and the later writes wait for the client's delayed ACK
 * (Nagle against delayed ACK, about 40 ms on Linux). A search returning payloads took 45-50 ms instead of 5-8 ms
 * (measured against ../shared/bin/qdrant, 20,000 points, limit 10). The bytes saved are a few kilobytes per search.
 */
export const QDRANT_HEADERS = { 'accept-encoding': 'identity' } as const;

/** HNSW settings of new collections: per-tenant graphs (payload_m), no global graph (m = 0). */
export const TENANT_HNSW = { payload_m: 16, m: 0 } as const;

/** The collection measures vectors with another distance than cosine: scores would silently mean something else. */
export const storeMisconfigured = (distance: string): GroundworkError =>
  new GroundworkError(
    'VECTOR_STORE_MISCONFIGURED',
    `The vector store's collection uses ${distance} distance; Groundwork needs Cosine.`,
  );

/** Whether the collection's schema for a field already is the index we need. */
function hasIndex(schema: { data_type?: unknown; params?: unknown } | undefined, wanted: PayloadIndex): boolean {
  if (schema?.data_type !== wanted.type) return false;
  const params = (schema.params ?? {}) as { is_tenant?: unknown; enable_hnsw?: unknown };
  if (wanted.is_tenant && params.is_tenant !== true) return false;
  if (wanted.enable_hnsw === false && params.enable_hnsw !== false) return false;
  return true;
}

/** One hit with what the version check needs: its document, version and activation number. */
interface Seen {
  documentId: string;
  version: string;
  activation: number;
}

const seenOf = (payload: Record<string, unknown> | null | undefined): Seen => ({
  documentId: typeof payload?.document_id === 'string' ? payload.document_id : '',
  version: typeof payload?.version === 'string' ? payload.version : '',
  activation: typeof payload?.[ACTIVATION] === 'number' ? payload[ACTIVATION] : 0,
});

/** Points of one document version activated before `below` (or never): superseded by a later activation. */
export interface Superseded {
  documentId: string;
  version: string;
  below: number;
}

/**
 * The versions superseded within `seen`: for every document met in two versions, each version whose activation
 * number is below the document's highest. Versions of equal number (points written active directly, never
 * activated) cannot be told apart and are all kept. A version name can come back (a document reverted to earlier
 * content), so what is superseded is a version *below an activation number*, not the name.
 */
export function supersededVersions(seen: Seen[]): Superseded[] {
  const newest = new Map<string, Map<string, number>>();
  for (const s of seen) {
    const versions = newest.get(s.documentId) ?? new Map<string, number>();
    versions.set(s.version, Math.max(versions.get(s.version) ?? 0, s.activation));
    newest.set(s.documentId, versions);
  }
  const stale: Superseded[] = [];
  for (const [documentId, versions] of newest) {
    if (versions.size < 2) continue;
    const below = Math.max(...versions.values());
    for (const [version, activation] of versions) if (activation < below) stale.push({ documentId, version, below });
  }
  return stale;
}

const UPSERT_BATCH = 256;
export const DENSE_VECTOR = 'dense';
export const SPARSE_VECTOR = 'bm25';

/** How the collection stores vectors: `named` (dense + maybe bm25) or the older single unnamed vector. */
interface Layout {
  named: boolean;
  sparse: boolean;
  size?: number;
  distance?: string;
}

/** Reads the layout from a collection's vector config; anything unrecognised is treated as the old layout. */
export function layoutOf(params: { vectors?: unknown; sparse_vectors?: unknown }): Layout {
  const vectors = params.vectors as Record<string, unknown> | undefined;
  const distanceOf = (v: { distance?: unknown }): { distance?: string } =>
    typeof v.distance === 'string' ? { distance: v.distance } : {};
  if (vectors && typeof vectors.size === 'number')
    return { named: false, sparse: false, size: vectors.size, ...distanceOf(vectors) };
  const dense = vectors?.[DENSE_VECTOR] as { size?: unknown; distance?: unknown } | undefined;
  if (dense && typeof dense.size === 'number') {
    const sparse = Boolean((params.sparse_vectors as Record<string, unknown> | null | undefined)?.[SPARSE_VECTOR]);
    return { named: true, sparse, size: dense.size, ...distanceOf(dense) };
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
  private layout?: Layout;

  constructor(
    url: string,
    apiKey: string | undefined,
    private readonly collection = 'groundwork_chunks',
  ) {
    this.client = withMappedErrors(
      new QdrantClient({ url, apiKey, checkCompatibility: false, timeout: 30_000, headers: QDRANT_HEADERS }),
    );
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
    const { exists } = await this.client.collectionExists(this.collection);
    if (!exists) {
      await this.client
        .createCollection(this.collection, {
          vectors: { [DENSE_VECTOR]: { size: dimensions, distance: 'Cosine' } },
          sparse_vectors: { [SPARSE_VECTOR]: { modifier: 'idf' } },
          hnsw_config: { ...TENANT_HNSW },
        })
        .catch(async (err: unknown) => {
          // Another worker may have created it meanwhile.
          if (!(await this.client.collectionExists(this.collection)).exists) throw err;
        });
    }
    const info = await this.client.getCollection(this.collection);
    const layout = layoutOf(info.config.params);
    // Refused before anything is written to it: the collection is not ours to reshape.
    if (layout.size !== undefined && layout.size !== dimensions) throw embedderMismatch(layout.size, dimensions);
    if (layout.distance !== undefined && layout.distance !== 'Cosine') throw storeMisconfigured(layout.distance);
    const schema = (info.payload_schema ?? {}) as Record<string, { data_type?: unknown; params?: unknown }>;
    for (const [field, wanted] of Object.entries(PAYLOAD_INDEXES)) {
      if (hasIndex(schema[field], wanted)) continue;
      // Idempotent: creating an index that exists (another worker was quicker) is accepted by Qdrant.
      await this.client.createPayloadIndex(this.collection, {
        field_name: field,
        field_schema: wanted,
        wait: true,
      });
    }
    this.layout = layout;
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
    for (let attempt = 0; ; attempt++) {
      const { hits, seen } = await this.searchOnce(vector, options, filter);
      const stale = supersededVersions(seen);
      if (stale.length === 0) return hits;
      if (attempt === SWITCH_RETRIES) {
        // Switches kept coming: drop the superseded chunks rather than run again.
        const dropped = new Set(stale.map((s) => `${s.documentId}\u0000${s.version}`));
        return hits.filter((h) => !dropped.has(`${h.payload.documentId}\u0000${h.payload.version}`));
      }
      // A version switch was under way: run again without the points it replaces, so the limit is filled from the
      // live version (and the ranks are those of a list without them).
      filter.must_not = [
        ...(filter.must_not ?? []),
        ...stale.map(({ documentId, version, below }) => ({
          must: [
            { key: 'document_id', match: { value: documentId } },
            { key: 'version', match: { value: version } },
          ],
          must_not: [{ key: ACTIVATION, range: { gte: below } }],
        })),
      ];
    }
  }

  /** One search under `filter`; `seen` covers every point any of its lists returned, for the version check. */
  private async searchOnce(
    vector: number[],
    options: SearchOptions,
    filter: Filter,
  ): Promise<{ hits: ScoredChunk[]; seen: Seen[] }> {
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
      return {
        hits: res.points.map((p) => ({ id: String(p.id), score: p.score, payload: fromStored(p.payload) })),
        seen: res.points.map((p) => seenOf(p.payload)),
      };
    }
    const depth = hybridDepth(options.limit);
    // minScore bounds the dense side only: a lexical hit stays whatever its cosine.
    const dense = { query: vector, using: DENSE_VECTOR, filter, limit: depth, score_threshold: options.minScore };
    const lexical = { query: sparse, using: SPARSE_VECTOR, filter, limit: depth };
    const versionFields = ['document_id', 'version', ACTIVATION];
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
        { ...dense, with_payload: versionFields },
        { ...lexical, with_payload: versionFields },
      ],
    });
    const rankIn = (list: { points: { id: string | number }[] } | undefined): Map<string, number> =>
      new Map((list?.points ?? []).map((p, i) => [String(p.id), i + 1]));
    const denseRanks = rankIn(denseList);
    const lexicalRanks = rankIn(lexicalList);
    const denseScores = new Map((denseList?.points ?? []).map((p) => [String(p.id), p.score]));
    const hits = (fused?.points ?? []).map((p) => {
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
    const seen = [fused, denseList, lexicalList].flatMap((list) => (list?.points ?? []).map((p) => seenOf(p.payload)));
    return { hits, seen };
  }

  /** The live version: of the versions the facet finds active (two only while a switch runs), the latest activated. */
  async activeVersion(tenantId: string, documentId: string): Promise<string | null> {
    const filter = this.tenantFilter(tenantId, { document_id: documentId, state: 'active' });
    const { hits } = await this.client.facet(this.collection, { key: 'version', filter, limit: 10, exact: true });
    const versions = hits.map((h) => String(h.value));
    if (versions.length <= 1) return versions[0] ?? null;
    let best: { version: string; activation: number } | null = null;
    for (const version of versions) {
      const res = await this.client.scroll(this.collection, {
        filter: this.tenantFilter(tenantId, { document_id: documentId, state: 'active', version }),
        limit: 1,
        with_payload: [ACTIVATION],
      });
      const { activation } = seenOf(res.points[0]?.payload);
      if (!best || activation > best.activation) best = { version, activation };
    }
    return best?.version ?? null;
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
    const others = this.tenantFilter(tenantId, { document_id: documentId }, { version });
    const retired = (await this.client.count(this.collection, { filter: others, exact: true })).count;
    type Operation = Parameters<QdrantClient['batchUpdate']>[1]['operations'][number];
    const operations: Operation[] = [];
    if (activated > 0) {
      const activation = await this.nextActivation(tenantId, documentId, version);
      operations.push({ set_payload: { payload: { state: 'active', [ACTIVATION]: activation }, filter: staged } });
    }
    // In the same request, after the activation: the old version goes only once the new one is live (see the header).
    if (retired > 0) operations.push({ delete: { filter: others } });
    if (operations.length > 0) await this.client.batchUpdate(this.collection, { operations, wait: true });
    return { activated, retired };
  }

  /** An activation number above the live version's: the time, or one more than the live one if that is ahead. */
  private async nextActivation(tenantId: string, documentId: string, version: string): Promise<number> {
    const res = await this.client.scroll(this.collection, {
      filter: this.tenantFilter(tenantId, { document_id: documentId, state: 'active' }, { version }),
      limit: 1,
      with_payload: [ACTIVATION],
    });
    return Math.max(Date.now(), seenOf(res.points[0]?.payload).activation + 1);
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
    // Point ids are UUIDs; anything else cannot name a point and is ignored.
    const wanted = [...new Set(ids.filter((id) => /^[0-9a-f-]{36}$/i.test(id)))];
    if (wanted.length === 0) return [];
    // The tenant filter runs inside Qdrant, together with the ids: another tenant's point is never even returned.
    const filter = this.tenantFilter(tenantId);
    filter.must.push({ has_id: wanted });
    const res = await this.client.scroll(this.collection, { filter, limit: wanted.length, with_payload: true });
    const order = new Map(wanted.map((id, i) => [id.toLowerCase(), i]));
    return res.points
      .map((p) => ({ id: String(p.id), score: 0, payload: fromStored(p.payload) }))
      .sort((a, b) => (order.get(a.id.toLowerCase()) ?? 0) - (order.get(b.id.toLowerCase()) ?? 0));
  }

  async close(): Promise<void> {
    // The REST client holds no connections to release.
  }
}
