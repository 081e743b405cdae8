// Spans around vector-store calls (store.search, store.upsert, ...) when tracing is on: the store kind, the tenant and
// counts, never a chunk's text, a query's text or a vector.
import type { Attributes } from '@opentelemetry/api';
import { inSpan } from '../../common/tracing';
import type { ScoredChunk, SearchOptions, VectorPoint, VectorStore } from './types';

type Traced = Exclude<keyof VectorStore, 'kind' | 'close'>;

/** For each traced method: attributes from its arguments, and from its result. */
const describe: {
  [M in Traced]: {
    args(...args: Parameters<VectorStore[M]>): Attributes;
    result?(r: Awaited<ReturnType<VectorStore[M]>>): Attributes;
  };
} = {
  ensureReady: { args: (dimensions: number) => ({ 'store.dimensions': dimensions }) },
  upsert: {
    args: (tenantId: string, points: VectorPoint[]) => ({ ...tenant(tenantId), 'store.points': points.length }),
  },
  search: {
    args: (tenantId: string, _vector: number[], o: SearchOptions) => ({
      ...tenant(tenantId),
      'store.limit': o.limit,
      // Whether the search is hybrid, never the text itself.
      'store.hybrid': o.text !== undefined && o.text.trim() !== '',
      ...(o.documentIds ? { 'store.document_filter': o.documentIds.length } : {}),
      ...(o.minScore !== undefined ? { 'store.min_score': o.minScore } : {}),
    }),
    result: (r: ScoredChunk[]) => ({ 'store.results': r.length }),
  },
  activeVersion: {
    args: (tenantId: string) => tenant(tenantId),
    result: (v: string | null) => ({ 'store.found': v !== null }),
  },
  activateVersion: {
    args: (tenantId: string) => tenant(tenantId),
    result: (r: { activated: number; retired: number }) => ({
      'store.activated': r.activated,
      'store.retired': r.retired,
    }),
  },
  discardStaged: { args: (tenantId: string) => tenant(tenantId), result: (n: number) => ({ 'store.points': n }) },
  deleteDocument: { args: (tenantId: string) => tenant(tenantId), result: (n: number) => ({ 'store.points': n }) },
  deleteTenant: { args: (tenantId: string) => tenant(tenantId), result: (n: number) => ({ 'store.points': n }) },
  count: {
    args: (tenantId: string, filter?: { state?: string }) => ({
      ...tenant(tenantId),
      ...(filter?.state ? { 'store.state': filter.state } : {}),
    }),
    result: (n: number) => ({ 'store.points': n }),
  },
  getChunks: {
    args: (tenantId: string, ids: string[]) => ({ ...tenant(tenantId), 'store.ids': ids.length }),
    result: (r: ScoredChunk[]) => ({ 'store.results': r.length }),
  },
};

function tenant(tenantId: string): Attributes {
  return { 'tenant.id': tenantId };
}

/** The store with a store.<method> span around every call but close(); other members are the inner store's. */
export function tracedVectorStore(inner: VectorStore): VectorStore {
  const wrapped = new Map<PropertyKey, unknown>();
  for (const name of Object.keys(describe) as Traced[]) {
    const d = describe[name] as {
      args(...a: unknown[]): Attributes;
      result?(r: unknown): Attributes;
    };
    const method = (inner[name] as (...a: unknown[]) => Promise<unknown>).bind(inner);
    wrapped.set(name, (...args: unknown[]) =>
      inSpan(`store.${name}`, { 'store.kind': inner.kind, ...d.args(...args) }, async (span) => {
        const r = await method(...args);
        if (d.result) span.setAttributes(d.result(r));
        return r;
      }),
    );
  }
  return new Proxy(inner, {
    get(target, prop) {
      if (wrapped.has(prop)) return wrapped.get(prop);
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
