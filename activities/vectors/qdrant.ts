// Qdrant adapter: one collection, a tenant_id keyword index with is_tenant, every filter built by
// tenantFilter() so no call can reach another tenant's points (DESIGN invariant 1).
import { QdrantClient } from '@qdrant/js-client-rest';
import type { ChunkState, DocumentSummary, ScoredChunk, SearchOptions, VectorPoint, VectorStore } from './types';
import { TenantMismatchError } from './types';
import { assertTenant } from './tenant';
import { fromStored, toStored } from './payload';

type Condition = { key: string; match: { value: string } | { any: string[] } };
interface Filter {
  must: Condition[];
  must_not?: Condition[];
}

const UPSERT_BATCH = 256;

export async function isQdrantReachable(url: string, apiKey?: string, timeoutMs = 1500): Promise<boolean> {
  try {
    const res = await fetch(new URL('/readyz', url), { headers: apiKey ? { 'api-key': apiKey } : {}, signal: AbortSignal.timeout(timeoutMs) });
    return res.ok;
  } catch {
    return false;
  }
}

export class QdrantVectorStore implements VectorStore {
  readonly kind = 'qdrant';
  private readonly client: QdrantClient;
  private dimensions?: number;

  constructor(
    url: string,
    apiKey: string | undefined,
    private readonly collection = 'groundwork_chunks',
  ) {
    this.client = new QdrantClient({ url, apiKey, checkCompatibility: false, timeout: 30_000 });
  }

  private tenantFilter(tenantId: string, extra: Record<string, string | undefined> = {}, mustNot?: Record<string, string>): Filter {
    assertTenant(tenantId);
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
      await this.client.createCollection(this.collection, { vectors: { size: dimensions, distance: 'Cosine' } }).catch(async (err: unknown) => {
        // Another worker may have created it meanwhile.
        if (!(await this.client.collectionExists(this.collection)).exists) throw err;
      });
      await this.client.createPayloadIndex(this.collection, { field_name: 'tenant_id', field_schema: { type: 'keyword', is_tenant: true }, wait: true });
      for (const field of ['document_id', 'state', 'version']) {
        await this.client.createPayloadIndex(this.collection, { field_name: field, field_schema: 'keyword', wait: true });
      }
    } else {
      const info = await this.client.getCollection(this.collection);
      const vectors = info.config.params.vectors as { size?: number } | undefined;
      if (vectors?.size !== undefined && vectors.size !== dimensions) {
        throw new Error(`The Qdrant collection "${this.collection}" holds ${vectors.size}-dimensional vectors but the embedder produces ${dimensions}.`);
      }
    }
    this.dimensions = dimensions;
  }

  async upsert(tenantId: string, points: VectorPoint[]): Promise<void> {
    assertTenant(tenantId);
    if (points.some((p) => p.payload.tenantId !== tenantId)) throw new TenantMismatchError();
    for (let i = 0; i < points.length; i += UPSERT_BATCH) {
      const batch = points.slice(i, i + UPSERT_BATCH);
      await this.client.upsert(this.collection, { wait: true, points: batch.map((p) => ({ id: p.id, vector: p.vector, payload: { ...toStored(p.payload) } })) });
    }
  }

  async search(tenantId: string, vector: number[], options: SearchOptions): Promise<ScoredChunk[]> {
    const filter = this.tenantFilter(tenantId, { state: 'active' });
    if (options.documentIds?.length) filter.must.push({ key: 'document_id', match: { any: options.documentIds } });
    const res = await this.client.query(this.collection, { query: vector, filter, limit: options.limit, with_payload: true, score_threshold: options.minScore });
    return res.points.map((p) => ({ id: String(p.id), score: p.score, payload: fromStored(p.payload) }));
  }

  async activeVersion(tenantId: string, documentId: string): Promise<string | null> {
    const res = await this.client.scroll(this.collection, { filter: this.tenantFilter(tenantId, { document_id: documentId, state: 'active' }), limit: 1, with_payload: ['version'] });
    const v = res.points[0]?.payload?.version;
    return typeof v === 'string' ? v : null;
  }

  async activateVersion(tenantId: string, documentId: string, version: string): Promise<{ activated: number; retired: number }> {
    const staged = this.tenantFilter(tenantId, { document_id: documentId, version, state: 'staged' });
    const activated = (await this.client.count(this.collection, { filter: staged, exact: true })).count;
    if (activated > 0) await this.client.setPayload(this.collection, { payload: { state: 'active' }, filter: staged, wait: true });
    const others = this.tenantFilter(tenantId, { document_id: documentId }, { version });
    const retired = (await this.client.count(this.collection, { filter: others, exact: true })).count;
    if (retired > 0) await this.client.delete(this.collection, { filter: others, wait: true });
    return { activated, retired };
  }

  async discardStaged(tenantId: string, documentId: string, keepVersion?: string): Promise<number> {
    const filter = this.tenantFilter(tenantId, { document_id: documentId, state: 'staged' }, keepVersion ? { version: keepVersion } : undefined);
    const n = (await this.client.count(this.collection, { filter, exact: true })).count;
    if (n > 0) await this.client.delete(this.collection, { filter, wait: true });
    return n;
  }

  async deleteDocument(tenantId: string, documentId: string): Promise<number> {
    const filter = this.tenantFilter(tenantId, { document_id: documentId });
    const n = (await this.client.count(this.collection, { filter, exact: true })).count;
    if (n > 0) await this.client.delete(this.collection, { filter, wait: true });
    return n;
  }

  async count(tenantId: string, filter: { documentId?: string; state?: ChunkState } = {}): Promise<number> {
    return (await this.client.count(this.collection, { filter: this.tenantFilter(tenantId, { document_id: filter.documentId, state: filter.state }), exact: true })).count;
  }

  async listDocuments(tenantId: string): Promise<DocumentSummary[]> {
    const docs = new Map<string, DocumentSummary>();
    let offset: string | number | undefined;
    do {
      const res = await this.client.scroll(this.collection, {
        filter: this.tenantFilter(tenantId, { state: 'active' }),
        limit: 1000,
        offset,
        with_payload: ['document_id', 'version', 'source_name'],
      });
      for (const p of res.points) {
        const c = fromStored(p.payload);
        const d = docs.get(c.documentId) ?? { documentId: c.documentId, version: c.version, sourceName: c.sourceName, chunks: 0 };
        d.chunks += 1;
        docs.set(c.documentId, d);
      }
      offset = (res.next_page_offset as string | number | null | undefined) ?? undefined;
    } while (offset !== undefined);
    return [...docs.values()].sort((a, b) => a.documentId.localeCompare(b.documentId));
  }

  async getChunks(tenantId: string, ids: string[]): Promise<ScoredChunk[]> {
    assertTenant(tenantId);
    if (ids.length === 0) return [];
    const res = await this.client.retrieve(this.collection, { ids: ids.filter((id) => /^[0-9a-f-]{36}$/i.test(id)), with_payload: true });
    // retrieve() cannot take a filter, so the tenant check happens here on every returned point.
    return res.filter((p) => fromStored(p.payload).tenantId === tenantId).map((p) => ({ id: String(p.id), score: 0, payload: fromStored(p.payload) }));
  }

  async close(): Promise<void> {
    // The REST client holds no connections to release.
  }
}
