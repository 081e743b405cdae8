// One mapping between ChunkPayload (camelCase, in code) and the snake_case payload both stores persist.
import type { ChunkPayload, ChunkState } from './types';

export interface StoredPayload {
  tenant_id: string;
  document_id: string;
  version: string;
  chunk_id: string;
  chunk_index: number;
  text: string;
  locator: string;
  locator_json: string;
  heading: string | null;
  source_name: string;
  state: string;
}

export function toStored(c: ChunkPayload): StoredPayload {
  return {
    tenant_id: c.tenantId,
    document_id: c.documentId,
    version: c.version,
    chunk_id: c.chunkId,
    chunk_index: c.chunkIndex,
    text: c.text,
    locator: c.locator,
    locator_json: c.locatorJson,
    heading: c.heading ?? null,
    source_name: c.sourceName,
    state: c.state,
  };
}

/** Tolerates missing or mistyped fields (a store's payload is data, not a type guarantee). */
export function fromStored(p: Partial<Record<keyof StoredPayload, unknown>> | null | undefined): ChunkPayload {
  const v = p ?? {};
  const s = (k: keyof StoredPayload): string => (typeof v[k] === 'string' ? (v[k] as string) : '');
  return {
    tenantId: s('tenant_id'),
    documentId: s('document_id'),
    version: s('version'),
    chunkId: s('chunk_id'),
    chunkIndex: typeof v.chunk_index === 'number' ? v.chunk_index : 0,
    text: s('text'),
    locator: s('locator'),
    locatorJson: s('locator_json'),
    heading: s('heading') || undefined,
    sourceName: s('source_name'),
    state: s('state') as ChunkState,
  };
}
