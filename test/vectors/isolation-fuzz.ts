// The isolation fuzz every vector store runs: 20 tenants whose ids are prefixes and near-copies of each other, whose
// documents share ids, texts and vectors, then 10,000 seeded random queries (searches with and without text and
// document filters, fetches by id, counts, version lookups) with adversarial ids and query text. Every result is
// checked against an independent record of which tenant wrote which point: one cross-tenant result fails the test.
import type { ScoredChunk, VectorStore } from '../../activities/vectors/types';
import { GroundworkError } from '../../common/errors';
import { prng } from '../support/prng';
import { DIM, point, unit } from './contract';

/** Tenant ids chosen to collide in careless code: prefixes, case, separators, lookalikes. */
export const FUZZ_TENANTS = [
  't1',
  't10',
  't100',
  'T1',
  'acme',
  'acme-eu',
  'acme_eu',
  'acme.eu',
  'acme-eu-2',
  'a',
  'A',
  'aa',
  'tenant',
  'tenant_id',
  'null',
  'undefined',
  'true',
  '0',
  '00',
  'x'.repeat(128),
] as const;

/** Document ids and query texts aimed at filters built from strings (SQL, JSON, full-text syntax). */
const ADVERSARIAL_STRINGS = [
  "doc' OR '1'='1",
  "x') OR tenant_id != ('",
  'tenant_id = "t10"',
  '*',
  '%',
  '_',
  '\\',
  '"',
  "'",
  '--',
  '/* */',
  'null',
  '(',
  ')',
  'AND OR NOT',
  '+t10 -t1',
  'tenant_id:t10',
  '\u0000',
  '🙂',
  'é',
];

const DOCS_PER_TENANT = 6;
const CHUNKS_PER_DOC = 4;
export const FUZZ_QUERIES = 10_000;

export interface FuzzOutcome {
  queries: number;
  results: number;
  refused: number;
  crossTenant: number;
  byKind: Record<string, number>;
}

/**
 * Fills the store and runs the queries; returns the tally. Every tenant has the same document ids with the same
 * texts and vectors (identical content is the hardest case: nothing but the tenant filter tells them apart), plus
 * documents of its own whose text names other tenants.
 */
export async function runIsolationFuzz(store: VectorStore, seed = 20261205): Promise<FuzzOutcome> {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const owner = new Map<string, string>(); // point id → tenant
  const docsOf = new Map<string, string[]>();
  const randomVector = (): number[] => unit(Array.from({ length: DIM }, () => rand() * 2 - 1));

  for (const tenant of FUZZ_TENANTS) {
    const docs: string[] = [];
    const points = [];
    for (let d = 0; d < DOCS_PER_TENANT; d++) {
      // Half the documents have the same id, text and vectors in every tenant.
      const shared = d < DOCS_PER_TENANT / 2;
      const documentId = shared ? `shared-${d}.pdf` : `${tenant.slice(0, 20)}-own-${d}.pdf`;
      docs.push(documentId);
      for (let c = 0; c < CHUNKS_PER_DOC; c++) {
        const vector = shared
          ? unit(Array.from({ length: DIM }, (_, i) => Math.cos(d * 7 + c * 3 + i)))
          : randomVector();
        const text = shared
          ? `Shared policy ${d} section ${c}: vacation days, revenue and passwords.`
          : `Private notes of ${tenant} for ${pick(FUZZ_TENANTS)}: tenant_id ${pick(FUZZ_TENANTS)} ${pick(ADVERSARIAL_STRINGS)}`;
        const p = point(tenant, documentId, 'v1', c, vector, 'active', text);
        points.push(p);
        owner.set(p.id, tenant);
      }
    }
    await store.upsert(tenant, points);
    docsOf.set(tenant, docs);
  }
  const allIds = [...owner.keys()];
  const allDocs = [...new Set([...docsOf.values()].flat())];

  const out: FuzzOutcome = { queries: 0, results: 0, refused: 0, crossTenant: 0, byKind: {} };
  const check = (tenant: string, hits: ScoredChunk[], kind: string, step: number): void => {
    for (const h of hits) {
      out.results += 1;
      if (owner.get(h.id) !== tenant || h.payload.tenantId !== tenant) {
        out.crossTenant += 1;
        throw new Error(
          `cross-tenant result at step ${step} (${kind}, seed ${seed}): tenant ${tenant} got ${h.id} of ${owner.get(h.id)}`,
        );
      }
    }
  };

  const one = async (step: number): Promise<void> => {
    const tenant = pick(FUZZ_TENANTS);
    const r = rand();
    const kind =
      r < 0.35
        ? 'hybrid'
        : r < 0.55
          ? 'dense'
          : r < 0.7
            ? 'filtered'
            : r < 0.85
              ? 'getChunks'
              : r < 0.95
                ? 'count'
                : 'version';
    out.byKind[kind] = (out.byKind[kind] ?? 0) + 1;
    out.queries += 1;
    try {
      switch (kind) {
        case 'hybrid': {
          const text = [
            pick(ADVERSARIAL_STRINGS),
            pick(FUZZ_TENANTS),
            'vacation',
            pick(['revenue', 'passwords', 'notes']),
          ]
            .sort(() => rand() - 0.5)
            .join(' ');
          check(
            tenant,
            await store.search(tenant, randomVector(), { limit: 1 + Math.floor(rand() * 20), text }),
            kind,
            step,
          );
          break;
        }
        case 'dense':
          check(tenant, await store.search(tenant, randomVector(), { limit: 1 + Math.floor(rand() * 30) }), kind, step);
          break;
        case 'filtered': {
          // Own documents, other tenants' documents and adversarial ids as the document filter.
          const documentIds = Array.from({ length: 1 + Math.floor(rand() * 3) }, () =>
            rand() < 0.4 ? pick(allDocs) : rand() < 0.7 ? pick(docsOf.get(tenant)!) : pick(ADVERSARIAL_STRINGS),
          );
          const hits = await store.search(tenant, randomVector(), {
            limit: 10,
            documentIds,
            ...(rand() < 0.5 ? { text: `${pick(ADVERSARIAL_STRINGS)} policy` } : {}),
          });
          check(tenant, hits, kind, step);
          for (const h of hits)
            if (!documentIds.includes(h.payload.documentId)) throw new Error(`document filter ignored at step ${step}`);
          break;
        }
        case 'getChunks': {
          // Mostly other tenants' ids: a fetch by id must not be a way around the tenant filter.
          const ids = Array.from({ length: 1 + Math.floor(rand() * 12) }, () => pick(allIds));
          check(tenant, await store.getChunks(tenant, ids), kind, step);
          break;
        }
        case 'count': {
          const documentId = pick(allDocs);
          const n = await store.count(tenant, { documentId });
          const expected = docsOf.get(tenant)!.includes(documentId) ? CHUNKS_PER_DOC : 0;
          if (n !== expected)
            throw new Error(`count of ${documentId} for ${tenant} at step ${step}: ${n}, expected ${expected}`);
          break;
        }
        case 'version': {
          const documentId = pick(allDocs);
          const v = await store.activeVersion(tenant, documentId);
          const expected = docsOf.get(tenant)!.includes(documentId) ? 'v1' : null;
          if (v !== expected) throw new Error(`active version of ${documentId} for ${tenant} at step ${step}: ${v}`);
          break;
        }
      }
    } catch (err) {
      // A typed refusal of an adversarial id is fine; anything else is a finding.
      if (err instanceof GroundworkError) out.refused += 1;
      else throw err;
    }
  };

  const BATCH = 16;
  for (let step = 0; step < FUZZ_QUERIES; step += BATCH) {
    // Draw the queries in order (the PRNG is sequential), run each batch concurrently.
    const batch: Promise<void>[] = [];
    for (let i = step; i < Math.min(FUZZ_QUERIES, step + BATCH); i++) batch.push(one(i));
    await Promise.all(batch);
  }
  return out;
}
