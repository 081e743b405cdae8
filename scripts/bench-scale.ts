// `npm run bench:scale -- --chunks N [--store lancedb|qdrant|both] [--queries Q] [--json]`: the vector stores at
// scale, with synthetic chunks. N chunks in one tenant (plus a small second tenant, N/100 chunks, so the tenant
// filter has something to exclude), written through the VectorStore interface as ingestion writes them: documents of
// --doc-chunks chunks, each upserted staged in batches of --batch and then activated. Vectors are seeded and
// clustered (unit vectors around --clusters random centres, as embeddings cluster by topic), of the default offline
// embedder's dimension unless --dim says otherwise; they are generated batch by batch, never all held at once.
// Per store it prints: ingest rate (chunks/s), the ANN index build time, retrieval p50/p95 of store.search (limit
// 10) with the index, the same for the exact flat scan, and recall@10 of the indexed search against the flat scan,
// for the big tenant and the small one; then the latency of --small-docs (default 20) documents of 20 chunks uploaded
// one after another into the full store (upsert, activation), as a steady stream of uploads meets a large table.
//
// LanceDB: ingestion runs with the ANN threshold out of reach, then a store with the threshold at 1 row runs
// optimize(), which builds the index over all N rows: that build is the figure (in production the index is built once
// the table passes VECTOR_INDEX_ROWS and trained again whenever the table doubles). --index ivf_pq,ivf_hnsw_sq builds
// and measures each kind in turn on the same table. Flat: the same query with bypassVectorIndex().
// Qdrant: the server binary beside the repository (../shared/bin/qdrant, or GROUNDWORK_QDRANT_BIN) on free ports with
// its storage in a temp dir; skipped with a message when absent. Index build: the wait after the last write until
// the collection is green with every vector indexed. Flat: the same query with `exact: true`.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { QdrantClient } from '@qdrant/js-client-rest';
import { LexicalEmbedder } from '../activities/models/lexical-embedder';
import {
  HNSW_EF,
  LanceDbVectorStore,
  MAX_NPROBES,
  NPROBES,
  REFINE_FACTOR,
  VECTOR_INDEX,
} from '../activities/vectors/lancedb';
import type { AnnSearchParams, VectorIndexKind } from '../activities/vectors/lancedb';
import { QDRANT_HEADERS, QdrantVectorStore } from '../activities/vectors/qdrant';
import { pointId } from '../activities/vectors/ids';
import type { VectorPoint, VectorStore } from '../activities/vectors/types';
import { prng } from '../test/support/prng';
import { qdrantAvailable, QDRANT_BIN, startQdrant } from '../test/support/qdrant-server';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const num = (name: string, fallback: number): number => {
  const raw = option(name);
  const v = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive whole number`);
  return v;
};
const chunks = num('chunks', 100_000);
const queries = num('queries', 200);
const dim = num('dim', new LexicalEmbedder().dimensions);
const batch = num('batch', 5_000);
const docChunks = num('doc-chunks', 10_000);
const clusters = num('clusters', 1_000);
const seed = num('seed', 42);
const json = args.includes('--json');
const storeArg = option('store') ?? 'both';
if (!['lancedb', 'qdrant', 'both'].includes(storeArg)) throw new Error('--store must be lancedb, qdrant or both');
const indexKinds = (option('index') ?? VECTOR_INDEX).split(',') as VectorIndexKind[];
for (const k of indexKinds)
  if (k !== 'ivf_pq' && k !== 'ivf_hnsw_sq') throw new Error('--index must list ivf_pq and/or ivf_hnsw_sq');

const BIG = 'bench-big';
const SMALL = 'bench-small';
/** The tenant of the small documents written after the measurements (removed again). */
const UPLOADS = 'bench-uploads';
const smallDocs = num('small-docs', 20);
const SMALL_DOC_CHUNKS = 20;
const smallChunks = Math.max(1_000, Math.round(chunks / 100));
const K = 10;
const WARMUP = 10;
const WORDS = ['policy', 'leave', 'invoice', 'travel', 'security', 'payroll', 'contract', 'device', 'audit', 'budget'];

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Standard normal numbers from a seeded uniform source (Box-Muller). */
function gaussian(random: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = Math.max(random(), 1e-12);
    const r = Math.sqrt(-2 * Math.log(u));
    const t = 2 * Math.PI * random();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
}

/** Unit vectors around fixed random centres: a centre plus noise of about the centre's length, normalised. */
class Vectors {
  private readonly centres: Float32Array[];
  private readonly normal: () => number;
  private readonly pick: () => number;
  constructor(streamSeed: number) {
    const fixed = gaussian(prng(seed));
    this.centres = Array.from({ length: clusters }, () => normalise(Float32Array.from({ length: dim }, fixed)));
    const random = prng(streamSeed);
    this.normal = gaussian(random);
    this.pick = random;
  }
  next(): number[] {
    const c = this.centres[Math.floor(this.pick() * clusters)]!;
    const sd = 1 / Math.sqrt(dim);
    const v = new Array<number>(dim);
    let norm = 0;
    for (let i = 0; i < dim; i++) {
      v[i] = c[i]! + this.normal() * sd;
      norm += v[i]! * v[i]!;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < dim; i++) v[i] = v[i]! / norm;
    return v;
  }
}

function normalise(v: Float32Array): Float32Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** The points of one document, `batch` at a time, staged as ingestion writes them. */
function* documentBatches(tenantId: string, documentId: string, n: number, vectors: Vectors): Generator<VectorPoint[]> {
  const words = prng(n + documentId.length);
  for (let from = 0; from < n; from += batch) {
    const points: VectorPoint[] = [];
    for (let i = from; i < Math.min(n, from + batch); i++) {
      const id = pointId(tenantId, documentId, 'v1', i);
      const text = Array.from({ length: 8 }, () => WORDS[Math.floor(words() * WORDS.length)]).join(' ');
      points.push({
        id,
        vector: vectors.next(),
        payload: {
          tenantId,
          documentId,
          version: 'v1',
          chunkId: id,
          chunkIndex: i,
          text,
          locator: `p. ${Math.floor(i / 5) + 1}`,
          locatorJson: JSON.stringify({ kind: 'page', page: Math.floor(i / 5) + 1 }),
          sourceName: `${documentId}.pdf`,
          state: 'staged',
        },
      });
    }
    yield points;
  }
}

/** Writes both tenants through the interface; returns chunks per second over the whole ingestion. */
async function ingest(store: VectorStore): Promise<number> {
  await store.ensureReady(dim);
  const started = performance.now();
  let written = 0;
  let lastLog = started;
  for (const [tenantId, total, streamSeed] of [
    [BIG, chunks, seed + 1],
    [SMALL, smallChunks, seed + 2],
  ] as const) {
    const vectors = new Vectors(streamSeed);
    for (let d = 0; d * docChunks < total; d++) {
      const documentId = `doc-${d}`;
      const n = Math.min(docChunks, total - d * docChunks);
      for (const points of documentBatches(tenantId, documentId, n, vectors)) {
        await store.upsert(tenantId, points);
        written += points.length;
      }
      await store.activateVersion(tenantId, documentId, 'v1');
      if (performance.now() - lastLog > 30_000) {
        lastLog = performance.now();
        const rate = Math.round(written / ((lastLog - started) / 1000));
        log(`  ${store.kind}: ${written} chunks written (${rate}/s)`);
      }
    }
  }
  return written / ((performance.now() - started) / 1000);
}

/**
 * A stream of uploads into the full store: --small-docs documents of 20 chunks, one after another, each upserted
 * staged and then activated as ingestion does. Their latencies, then the documents are removed again (a --keep table
 * stays as it was): what an upload waits for once a tenant's table is large.
 */
async function smallDocuments(store: VectorStore): Promise<Record<string, number>> {
  if (smallDocs < 1) return {};
  const vectors = new Vectors(seed + 3);
  const activations: number[] = [];
  const documents: number[] = [];
  for (let d = 0; d < smallDocs; d++) {
    const documentId = `upload-${d}`;
    const started = performance.now();
    for (const points of documentBatches(UPLOADS, documentId, SMALL_DOC_CHUNKS, vectors))
      await store.upsert(UPLOADS, points);
    const staged = performance.now();
    await store.activateVersion(UPLOADS, documentId, 'v1');
    activations.push(performance.now() - staged);
    documents.push(performance.now() - started);
  }
  await store.deleteTenant(UPLOADS);
  activations.sort((a, b) => a - b);
  documents.sort((a, b) => a - b);
  return {
    smallDocs,
    smallDocActivateP50Ms: round(percentile(activations, 50)),
    smallDocActivateP95Ms: round(percentile(activations, 95)),
    smallDocActivateMaxMs: round(activations[activations.length - 1]!),
    smallDocIngestP50Ms: round(percentile(documents, 50)),
  };
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
const round = (x: number, digits = 1): number => Number(x.toFixed(digits));

interface Measured {
  p50Ms: number;
  p95Ms: number;
  flatP50Ms: number;
  flatP95Ms: number;
  recallAt10: number;
  smallTenantRecallAt10: number;
  smallTenantP95Ms: number;
}

type Search = (tenantId: string, q: number[]) => Promise<string[]>;

/** `n` measured query vectors of `tenantId`, after WARMUP unmeasured ones, seeded. */
function querySet(tenantId: string, n: number, streamSeed: number): { tenantId: string; qs: number[][] } {
  const vectors = new Vectors(streamSeed);
  return { tenantId, qs: Array.from({ length: n + WARMUP }, () => vectors.next()) };
}

let sets: Array<{ tenantId: string; qs: number[][] }> | undefined;
/** The query sets, made once: the big tenant's and the small one's (the exact answers and every sweep share them). */
const querySets = (): Array<{ tenantId: string; qs: number[][] }> =>
  (sets ??= [querySet(BIG, queries, seed + 100), querySet(SMALL, Math.max(20, Math.round(queries / 4)), seed + 200)]);

/** The exact top 10 of every measured query (flat scan), with the scan times; computed once per table. */
interface Exact {
  ids: string[][][];
  times: number[][];
}

async function exactTop(flat: Search): Promise<Exact> {
  const ids: string[][][] = [];
  const times: number[][] = [];
  for (const { tenantId, qs } of querySets()) {
    const setIds: string[][] = [];
    const setTimes: number[] = [];
    for (const q of qs.slice(WARMUP)) {
      const t = performance.now();
      setIds.push(await flat(tenantId, q));
      setTimes.push(performance.now() - t);
    }
    ids.push(setIds);
    times.push(setTimes.sort((a, b) => a - b));
  }
  return { ids, times };
}

/** Times `search` (the store's indexed search) on the query sets, and the share of the exact top 10 it returns. */
async function measure(search: Search, exact: Exact): Promise<Measured> {
  const sets: Array<{ times: number[]; recall: number }> = [];
  for (const [i, { tenantId, qs }] of querySets().entries()) {
    for (const q of qs.slice(0, WARMUP)) await search(tenantId, q);
    const times: number[] = [];
    let found = 0;
    let wanted = 0;
    for (const [j, q] of qs.slice(WARMUP).entries()) {
      const t = performance.now();
      const got = new Set(await search(tenantId, q));
      times.push(performance.now() - t);
      const want = exact.ids[i]![j]!;
      found += want.filter((id) => got.has(id)).length;
      wanted += want.length;
    }
    sets.push({ times: times.sort((x, y) => x - y), recall: wanted === 0 ? 0 : found / wanted });
  }
  const [big, small] = sets as [(typeof sets)[0], (typeof sets)[0]];
  return {
    p50Ms: round(percentile(big.times, 50)),
    p95Ms: round(percentile(big.times, 95)),
    flatP50Ms: round(percentile(exact.times[0]!, 50)),
    flatP95Ms: round(percentile(exact.times[0]!, 95)),
    recallAt10: round(big.recall, 4),
    smallTenantRecallAt10: round(small.recall, 4),
    smallTenantP95Ms: round(percentile(small.times, 95)),
  };
}

/** The search parameter combinations to measure: every --nprobes x --max-nprobes x --ef x --refine given (a bound
 * below the minimum skipped), else the store defaults. */
function annSweep(): AnnSearchParams[] {
  const list = (name: string, fallback: number, least = 1): number[] =>
    (option(name) ?? String(fallback)).split(',').map((raw) => {
      const v = Number(raw);
      if (!Number.isInteger(v) || v < least) throw new Error(`--${name} must list whole numbers of at least ${least}`);
      return v;
    });
  return list('nprobes', NPROBES).flatMap((nprobes) =>
    list('max-nprobes', MAX_NPROBES, 0)
      .filter((maxNprobes) => maxNprobes === 0 || maxNprobes >= nprobes)
      .flatMap((maxNprobes) =>
        list('ef', HNSW_EF).flatMap((ef) =>
          list('refine', REFINE_FACTOR).map((refineFactor) => ({ nprobes, maxNprobes, ef, refineFactor })),
        ),
      ),
  );
}

async function benchLanceDb(): Promise<Record<string, unknown>> {
  const keep = option('keep');
  const dir = keep ? path.resolve(keep) : await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-scale-lancedb-'));
  try {
    await fs.mkdir(dir, { recursive: true });
    const expected = chunks + smallChunks;
    let db = await lancedb.connect(dir);
    let reuse = false;
    if (keep !== undefined && (await db.tableNames()).includes('chunks')) {
      const kept = await db.openTable('chunks');
      reuse = (await kept.countRows()) === expected;
      kept.close();
    }
    db.close();
    let ingestRate: number | undefined;
    if (reuse) log(`lancedb: reusing the ${expected} rows in ${dir}`);
    else {
      if (keep !== undefined) await fs.rm(path.join(dir, 'chunks.lance'), { recursive: true, force: true });
      log(`lancedb: ingesting ${chunks} + ${smallChunks} chunks of ${dim} dimensions`);
      const writer = new LanceDbVectorStore(dir, 'chunks', undefined, { vectorIndexRows: Number.MAX_SAFE_INTEGER });
      ingestRate = await ingest(writer);
      await writer.close();
    }
    db = await lancedb.connect(dir);
    const table = await db.openTable('chunks');
    const where = (tenantId: string): string => `tenant_id = '${tenantId}' AND state = 'active'`;
    const flat = async (tenantId: string, q: number[]): Promise<string[]> =>
      (
        (await table
          .vectorSearch(q)
          .distanceType('cosine')
          .where(where(tenantId))
          .bypassVectorIndex()
          .select(['id'])
          .limit(K)
          .toArray()) as Array<{ id: string }>
      ).map((r) => r.id);
    // The exact answers do not depend on the index: with --keep they are kept beside the table for the next run.
    const exactFile = path.join(dir, `exact-${seed}-${queries}-${dim}.json`);
    let exact: Exact | undefined;
    if (reuse) exact = JSON.parse(await fs.readFile(exactFile, 'utf8').catch(() => 'null')) ?? undefined;
    if (!exact) {
      log(`lancedb: exact top ${K} by flat scan`);
      exact = await exactTop(flat);
      if (keep !== undefined) await fs.writeFile(exactFile, JSON.stringify(exact));
    }
    const result: Record<string, unknown> = {
      store: 'lancedb',
      chunks,
      smallTenantChunks: smallChunks,
      dimensions: dim,
      ingestChunksPerSec: ingestRate === undefined ? 'reused' : Math.round(ingestRate),
      diskMB: Math.round((await table.stats()).totalBytes / 1e6),
    };
    const sweep = annSweep();
    for (const kind of indexKinds) {
      await table.checkoutLatest();
      const vectorIndexes = (await table.listIndices()).filter((i) => i.columns.includes('vector'));
      let buildSec: number | string = 'reused';
      if (!(reuse && vectorIndexes.length === 1 && vectorIndexes[0]!.name.includes(kind))) {
        for (const index of vectorIndexes) await table.dropIndex(index.name);
        const builder = new LanceDbVectorStore(dir, 'chunks', undefined, { vectorIndex: kind, vectorIndexRows: 1 });
        await builder.ensureReady(dim);
        log(`lancedb: building the ${kind} index`);
        const t = performance.now();
        await builder.optimize();
        buildSec = round((performance.now() - t) / 1000);
        await builder.close();
        log(`lancedb: ${kind} built in ${buildSec} s`);
      }
      await table.checkoutLatest();
      const built = (await table.listIndices()).find((i) => i.columns.includes('vector'));
      if (!built) throw new Error('optimize() built no vector index');
      const prefix = indexKinds.length > 1 ? `${kind}.` : '';
      const measured: Array<AnnSearchParams & Measured> = [];
      for (const params of sweep) {
        log(`lancedb: ${kind}, ${JSON.stringify(params)}: measuring ${queries} queries`);
        const store = new LanceDbVectorStore(dir, 'chunks', undefined, { vectorIndex: kind, search: params });
        await store.ensureReady(dim);
        const m = await measure(
          async (tenantId, q) => (await store.search(tenantId, q, { limit: K })).map((h) => h.id),
          exact,
        );
        await store.close();
        measured.push({ ...params, ...m });
      }
      // The top-level figures are the store defaults' when the sweep holds them, else the first combination's.
      const main =
        measured.find(
          (m) =>
            m.nprobes === NPROBES &&
            m.maxNprobes === MAX_NPROBES &&
            m.ef === HNSW_EF &&
            m.refineFactor === REFINE_FACTOR,
        ) ?? measured[0]!;
      Object.assign(result, {
        [`${prefix}index`]: built.indexType,
        [`${prefix}indexBuildSec`]: buildSec,
        ...Object.fromEntries(Object.entries(main).map(([k, v]) => [`${prefix}${k}`, v])),
        ...(measured.length > 1 ? { [`${prefix}sweep`]: measured } : {}),
      });
    }
    log(`lancedb: ${smallDocs} small documents into the full table`);
    const uploads = new LanceDbVectorStore(dir, 'chunks', undefined, {
      vectorIndex: indexKinds[indexKinds.length - 1],
    });
    await uploads.ensureReady(dim);
    Object.assign(result, await smallDocuments(uploads));
    await uploads.close();
    table.close();
    db.close();
    return result;
  } finally {
    if (keep === undefined) await fs.rm(dir, { recursive: true, force: true });
  }
}

async function benchQdrant(): Promise<Record<string, unknown>> {
  if (!qdrantAvailable()) {
    log(`qdrant: skipped, no server binary at ${QDRANT_BIN} and no QDRANT_URL`);
    return { store: 'qdrant', skipped: 'no Qdrant binary' };
  }
  const server = await startQdrant();
  const collection = `bench_scale_${Date.now()}`;
  try {
    log(`qdrant: ingesting ${chunks} + ${smallChunks} chunks of ${dim} dimensions`);
    const store = new QdrantVectorStore(server.url, undefined, collection);
    const ingestRate = await ingest(store);
    const client = new QdrantClient({
      url: server.url,
      checkCompatibility: false,
      timeout: 600_000,
      headers: QDRANT_HEADERS,
    });
    const t = performance.now();
    for (;;) {
      const info = await client.getCollection(collection);
      if (info.status === 'green' && (info.indexed_vectors_count ?? 0) >= (info.points_count ?? 0)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const buildSec = (performance.now() - t) / 1000;
    log(`qdrant: indexed ${buildSec.toFixed(1)} s after the last write; measuring ${queries} queries`);
    const filter = (tenantId: string) => ({
      must: [
        { key: 'tenant_id', match: { value: tenantId } },
        { key: 'state', match: { value: 'active' } },
      ],
    });
    const exact = await exactTop(async (tenantId, q) =>
      (
        await client.query(collection, {
          query: q,
          using: 'dense',
          filter: filter(tenantId),
          limit: K,
          params: { exact: true },
        })
      ).points.map((p) => String(p.id)),
    );
    const m = await measure(
      async (tenantId, q) => (await store.search(tenantId, q, { limit: K })).map((h) => h.id),
      exact,
    );
    log(`qdrant: ${smallDocs} small documents into the full collection`);
    const uploads = await smallDocuments(store);
    await store.close();
    return {
      store: 'qdrant',
      chunks,
      smallTenantChunks: smallChunks,
      dimensions: dim,
      ingestChunksPerSec: Math.round(ingestRate),
      indexBuildSec: round(buildSec),
      ...m,
      ...uploads,
    };
  } finally {
    await server.stop();
  }
}

function table(results: Array<Record<string, unknown>>): string {
  const sweeps = results.flatMap((r) =>
    Object.entries(r)
      .filter(([k]) => k.endsWith('sweep'))
      .flatMap(([k, rows]) =>
        (rows as Array<Record<string, unknown>>).map((row) => `${r.store} ${k} ${JSON.stringify(row)}`),
      ),
  );
  const keys = [...new Set(results.flatMap((r) => Object.keys(r)))].filter((k) => !k.endsWith('sweep'));
  const width = Math.max(...keys.map((k) => k.length)) + 2;
  const rows = keys.map((k) => k.padEnd(width) + results.map((r) => String(r[k] ?? '').padStart(14)).join(''));
  return [...rows, ...sweeps].join('\n');
}

async function main(): Promise<void> {
  const results: Array<Record<string, unknown>> = [];
  if (storeArg !== 'qdrant') results.push(await benchLanceDb());
  if (storeArg !== 'lancedb') results.push(await benchQdrant());
  if (json) process.stdout.write(`${JSON.stringify({ chunks, queries, k: K, results })}\n`);
  else process.stdout.write(`${table(results)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
