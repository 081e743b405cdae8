// The embedded default store: LanceDB on local disk, one table, cosine distance. Every predicate is built
// by tenantWhere(), which always starts with the tenant filter, so no call can reach another tenant's rows.
//
// Hybrid search: a native full-text (BM25) index on `text`, created in ensureReady (also on older tables that lack
// it). The tenant predicate is a pre-filter on both the vector and the full-text query. Rows written after the index
// was last built are "unindexed": LanceDB still finds them by a flat scan (we never use fastSearch), but that scan ranks
// badly. It has no BM25 statistics (every term gets the same IDF), and with a limit it returns matching rows roughly in
// table order rather than the best ones. Measured on SQuAD (121 rows, all unindexed, as when the index is created on the
// empty table and every row is written afterwards): the gold chunk was in the FTS top 5 for 11.5% of questions, 96.0%
// once the index covered the rows. So the write queue keeps the index current: an activation that made rows searchable
// runs table.optimize() (index update + compaction) before it returns while an optimize is quick (under
// INLINE_OPTIMIZE_MS: small tables, where the ranking matters most because most rows are new). Once the table has a
// vector index an optimize costs from about a second (6k rows) to several (200k rows: 3.6 s with nothing to do, 7.9 s
// after one 20-chunk document), which capped ingestion at well under one small document per second per worker:
// there activations return once their rows are live (found by the flat scan) and share one optimize queued shortly
// after them. ensureReady optimizes when it finds unindexed rows (tables written before this rule), and every
// OPTIMIZE_EVERY rows of upserts do it too. All of it is best effort: a failed optimize leaves the rows found by the
// flat scan and is retried by the next activation.
//
// Version switch: every LanceDB query reads one committed table version, so activateVersion makes the switch one
// commit (a mergeInsert that marks the new version's rows active and deletes the other versions' rows). A dense search
// then sees either the old or the new version. A hybrid search runs two queries (dense and full-text), which may read
// two table versions if a switch commits between them: when the fused list holds two versions of one document, the
// search runs again (see search()).
//
// Scale: scalar indexes (BITMAP on tenant_id and state, BTREE on document_id and id) serve every predicate, the
// tenant pre-filter first. Below `vectorIndexRows` rows a dense search is a flat (exact) scan. Once the table holds
// that many rows, the optimize that follows builds an ANN index on `vector` (see VECTOR_INDEX), and every
// later optimize adds new rows to it; when the table has grown to twice the rows the index was trained on, it is
// trained again (createIndex with replace). The build runs in the write queue, never in the search path: searches go on
// meanwhile with the previous index or the flat scan, and rows the index does not cover yet are still found (LanceDB
// scans them flat and merges the results). Deletes (deleteDocument, deleteTenant, discardStaged, retired versions)
// leave deletion files behind: they schedule one compaction a little later, shared by a burst of deletes, which
// rewrites the fragments without the deleted rows. Every optimize removes table versions older than `keepVersionsMs`.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { Field, FixedSizeList, Float32, Int32, Schema, Utf8 } from 'apache-arrow';
import { GroundworkError } from '../../common/errors';
import { assertTenantId } from '../../common/ids';
import type { ChunkPayload, ChunkState, ScoredChunk, SearchOptions, VectorPoint, VectorStore } from './types';
import { embedderMismatch, tenantMismatch, versionNotStaged } from './types';
import { fromStored, toStored } from './payload';
import type { StoredPayload } from './payload';
import { cosine, fuseRanks, hybridDepth, hybridText } from './fusion';

interface Row extends StoredPayload {
  id: string;
  /** An Arrow vector when read back: iterable, not an array. */
  vector: Iterable<number>;
  _distance?: number;
  _score?: number;
}

/** The full-text index on `text`: LanceDB's BM25 with its English stemmer and stopword list. */
const FTS_CONFIG = {
  baseTokenizer: 'simple',
  language: 'English',
  lowercase: true,
  stem: true,
  removeStopWords: true,
  asciiFolding: true,
  withPosition: false,
} as const;

/** Rows written (upserts and state changes) between two automatic optimize() runs. */
export const OPTIMIZE_EVERY = 10_000;

/** Table rows from which the ANN index on `vector` is built: below this, the exact flat scan is fast enough. */
export const VECTOR_INDEX_ROWS = 100_000;

/** The ANN index kinds a store can build (the bench compares them); VECTOR_INDEX is the default. */
export type VectorIndexKind = 'ivf_pq' | 'ivf_hnsw_sq';

// IVF_HNSW_SQ (an HNSW graph per IVF partition over 8-bit scalar-quantised vectors) was chosen over IVF_PQ by
// scripts/bench-scale.ts (512 dimensions, clustered unit vectors, a big tenant and a small one, 2 cores). At 20,000
// rows (other tests running alongside): HNSW_SQ built in 6 s, p50/p95 19/41 ms, recall@10 1.0 for both tenants;
// IVF_PQ (32 sub-vectors, refine x10) built in 92 s, p50/p95 28/62 ms, recall@10 0.998 for the big tenant but 0.685
// for the small one (a narrow tenant filter leaves few rows in the probed partitions, and PQ ranks them poorly).
// At 1,000,000 rows (+10,000 in a second tenant, `npm run bench:scale -- --chunks 1000000 --store lancedb --keep DIR
// --nprobes .. --max-nprobes .. --ef .. --refine ..` sweeps these parameters on one built table): LanceDB searches up
// to the maximum number of partitions, not the minimum, whenever a filter is set, so the bound is what costs. With no
// bound (the first setting) p50/p95 were 64/79 ms at recall@10 1.0; bounded to 20 partitions 13/20 ms. Recall then
// depends on the candidates re-ranked with the full vectors: 0.93 with none (8-bit quantised distances only), 0.96
// with 50, 0.9945 with 100 (refine 5, ef 100: p50/p95 15/19 ms). A narrow tenant (1% of the rows) lost recall under
// the bound (0.968), because few of each probed partition's rows are its own: below NARROW_TENANT_SHARE of the rows a
// tenant's search has no bound (1.0, p95 17 ms; the pre-filter leaves few rows, so the search stays cheap).
/** The ANN index built by default. */
export const VECTOR_INDEX: VectorIndexKind = 'ivf_hnsw_sq';
/** IVF partitions searched at least per query. */
export const NPROBES = 10;
/** IVF partitions searched at most by a tenant holding NARROW_TENANT_SHARE of the rows or more (0: no bound). */
export const MAX_NPROBES = 20;
/** Tenants holding less than this share of the table's rows search with no bound on the partitions. */
export const NARROW_TENANT_SHARE = 0.1;
/** How long a tenant's share of the rows is reused before it is counted again. */
const SHARE_TTL_MS = 60_000;
/** Candidates re-ranked by exact distance, as a multiple of the limit (IVF_PQ and IVF_HNSW_SQ). */
export const REFINE_FACTOR = 5;
/** IVF_HNSW_SQ: the graph search's candidate list length (at least limit x REFINE_FACTOR). */
export const HNSW_EF = 100;

/** Deletes within this many milliseconds share one compaction. */
export const COMPACT_AFTER_DELETE_MS = 2_000;
/**
 * An activation optimizes before it returns while the last optimize took less than this; past it, activations share
 * one optimize queued max(COMPACT_AFTER_DELETE_MS, twice the last optimize's time) after the first of them, so
 * optimizing takes at most about a third of the write queue.
 */
export const INLINE_OPTIMIZE_MS = 500;
/**
 * Before any optimize of this process was timed (a worker just started), activations optimize inline only on tables
 * under this many rows: the first optimize after a restart may have a large backlog (37 s at 200k rows).
 */
export const INLINE_OPTIMIZE_ROWS = 20_000;
/**
 * Every optimize removes table versions older than this. A query in flight reads the version it started on, so the
 * latest ones stay; older ones only hold disk: each compaction rewrites the fragments below 1M rows, and kept for
 * LanceDB's default 7 days those copies filled the disk of a 1M-row ingestion.
 */
export const KEEP_VERSIONS_MS = 60_000;

/** The scalar indexes every table gets: each filtered column. */
const SCALAR_INDEXES: Array<{ column: string; kind: 'bitmap' | 'btree' }> = [
  { column: 'tenant_id', kind: 'bitmap' },
  { column: 'state', kind: 'bitmap' },
  { column: 'document_id', kind: 'btree' },
  { column: 'id', kind: 'btree' },
];

/** The vector index's name carries the row count it was trained on, so any process can tell when to retrain. */
const VECTOR_INDEX_PREFIX = 'vector_ann_';
const trainedRows = (name: string): number => Number(name.slice(VECTOR_INDEX_PREFIX.length).split('_')[1] ?? 0);

export interface LanceDbOptions {
  /** Table rows from which the ANN index is built (tests lower it). */
  vectorIndexRows?: number;
  /** Which ANN index to build. */
  vectorIndex?: VectorIndexKind;
  /** Deletes within this many milliseconds share one compaction. */
  compactAfterDeleteMs?: number;
  /** Every optimize removes table versions older than this. */
  keepVersionsMs?: number;
  /** Activations optimize inline while the last optimize took less than this (0: never, as tests use). */
  inlineOptimizeMs?: number;
  /** ANN search parameters (the bench sweeps them; defaults NPROBES, MAX_NPROBES, REFINE_FACTOR and HNSW_EF). */
  search?: Partial<AnnSearchParams>;
}

/** How an indexed dense search explores the index. */
export interface AnnSearchParams {
  /** IVF partitions searched at least. */
  nprobes: number;
  /** IVF partitions searched at most by a wide tenant (0: no bound; see maxNprobesFor). */
  maxNprobes: number;
  /** Candidates re-ranked by exact distance, as a multiple of the limit. */
  refineFactor: number;
  /** IVF_HNSW_SQ: the graph search's candidate list length (raised to limit x refineFactor when shorter). */
  ef: number;
}

const sql = (value: string): string => `'${value.replace(/'/g, "''")}'`;

const toRow = (p: VectorPoint): Row => ({ id: p.id, vector: p.vector, ...toStored(p.payload) });
const fromRow = (r: Row): ChunkPayload => fromStored(r);

/** Hybrid searches run again at most this often when their two queries read different table versions. */
const SWITCH_RETRIES = 3;

/** Documents of which `hits` hold chunks of more than one version. */
function documentsInTwoVersions(hits: ScoredChunk[]): Set<string> {
  const versions = new Map<string, string>();
  const mixed = new Set<string>();
  for (const { payload } of hits) {
    const seen = versions.get(payload.documentId);
    if (seen === undefined) versions.set(payload.documentId, payload.version);
    else if (seen !== payload.version) mixed.add(payload.documentId);
  }
  return mixed;
}

export class LanceDbVectorStore implements VectorStore {
  readonly kind = 'lancedb';
  private db?: lancedb.Connection;
  private table?: lancedb.Table;
  private dimensions?: number;
  /** LanceDB commits conflict under concurrent writers of one table: writes in this process go one by one. */
  private writes: Promise<unknown> = Promise.resolve();
  /** Rows written since the last optimize in this process. */
  private written = 0;
  /** A queued optimize (after deletes, or after activations on a large table), shared by everything until it runs. */
  private maintenanceTimer?: NodeJS.Timeout;
  /** How long the last optimize took (with the vector index upkeep), in ms; undefined before the first. */
  private lastOptimizeMs?: number;
  private readonly inlineOptimizeMs: number;
  private readonly vectorIndexRows: number;
  private readonly vectorIndex: VectorIndexKind;
  private readonly compactAfterDeleteMs: number;
  private readonly keepVersionsMs: number;
  private readonly ann: AnnSearchParams;
  /** Per tenant: the partition bound its searches use (maxNprobesFor), and when it was counted. */
  private readonly shares = new Map<string, { maxNprobes: number; at: number }>();

  constructor(
    private readonly dir: string,
    private readonly tableName = 'chunks',
    /** Rows written between two automatic optimize() runs (tests lower it). */
    private readonly optimizeEvery = OPTIMIZE_EVERY,
    options: LanceDbOptions = {},
  ) {
    this.vectorIndexRows = options.vectorIndexRows ?? VECTOR_INDEX_ROWS;
    this.vectorIndex = options.vectorIndex ?? VECTOR_INDEX;
    this.compactAfterDeleteMs = options.compactAfterDeleteMs ?? COMPACT_AFTER_DELETE_MS;
    this.keepVersionsMs = options.keepVersionsMs ?? KEEP_VERSIONS_MS;
    this.inlineOptimizeMs = options.inlineOptimizeMs ?? INLINE_OPTIMIZE_MS;
    this.ann = {
      nprobes: NPROBES,
      maxNprobes: MAX_NPROBES,
      refineFactor: REFINE_FACTOR,
      ef: HNSW_EF,
      ...options.search,
    };
  }

  private tenantWhere(tenantId: string, extra: Record<string, string | undefined> = {}, extraSql?: string): string {
    assertTenantId(tenantId);
    const parts = [`tenant_id = ${sql(tenantId)}`];
    for (const [column, value] of Object.entries(extra))
      if (value !== undefined) parts.push(`${column} = ${sql(value)}`);
    if (extraSql) parts.push(extraSql);
    return parts.join(' AND ');
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.writes.then(fn, fn);
    this.writes = next.catch(() => undefined);
    return next;
  }

  async ensureReady(dimensions: number): Promise<void> {
    if (this.table) {
      if (this.dimensions !== undefined && this.dimensions !== dimensions)
        throw embedderMismatch(this.dimensions, dimensions);
      return;
    }
    await fs.mkdir(this.dir, { recursive: true });
    const metaFile = path.join(this.dir, `${this.tableName}.meta.json`);
    const meta = await fs.readFile(metaFile, 'utf8').then(
      (s) => JSON.parse(s) as { dimensions: number },
      () => undefined,
    );
    if (meta && meta.dimensions !== dimensions) {
      throw embedderMismatch(meta.dimensions, dimensions);
    }
    this.db ??= await lancedb.connect(this.dir);
    const names = await this.db.tableNames();
    if (names.includes(this.tableName)) {
      this.table = await this.db.openTable(this.tableName);
    } else {
      const schema = new Schema([
        new Field('id', new Utf8(), false),
        new Field('vector', new FixedSizeList(dimensions, new Field('item', new Float32(), true)), false),
        new Field('tenant_id', new Utf8(), false),
        new Field('document_id', new Utf8(), false),
        new Field('version', new Utf8(), false),
        new Field('chunk_id', new Utf8(), false),
        new Field('chunk_index', new Int32(), false),
        new Field('text', new Utf8(), false),
        new Field('locator', new Utf8(), false),
        new Field('locator_json', new Utf8(), false),
        new Field('heading', new Utf8(), true),
        new Field('source_name', new Utf8(), false),
        new Field('state', new Utf8(), false),
      ]);
      this.table = await this.db.createEmptyTable(this.tableName, schema, { existOk: true });
      await fs.writeFile(metaFile, JSON.stringify({ dimensions }));
    }
    await this.ensureFtsIndex(this.table);
    await this.ensureScalarIndexes(this.table);
    this.dimensions = dimensions;
    await this.indexUnindexedRows(this.table);
  }

  /** Rows of `text` the full-text index does not cover; 0 when unknown. */
  private async unindexedRows(table: lancedb.Table): Promise<number> {
    const index = (await table.listIndices()).find((i) => i.indexType === 'FTS' && i.columns.includes('text'));
    return (index && (await table.indexStats(index.name))?.numUnindexedRows) ?? 0;
  }

  /** Brings the full-text index over rows it does not cover yet (a table written before activations optimized). */
  private async indexUnindexedRows(table: lancedb.Table): Promise<void> {
    await this.serial(async () => {
      if ((await this.unindexedRows(table)) > 0) await this.optimizeNow(table);
    }).catch(() => undefined);
  }

  /**
   * Runs table.optimize() now (compaction, and every index brought over the new rows), then builds or retrains the
   * vector index when the table has grown enough. The caller holds the write queue.
   */
  private async optimizeNow(table: lancedb.Table): Promise<void> {
    this.written = 0;
    const started = performance.now();
    await table.optimize({ cleanupOlderThan: new Date(Date.now() - this.keepVersionsMs) });
    await this.maintainVectorIndex(table);
    this.lastOptimizeMs = performance.now() - started;
  }

  /** Whether an activation optimizes before it returns: while optimizing is quick (see INLINE_OPTIMIZE_MS). */
  private async optimizesInline(table: lancedb.Table): Promise<boolean> {
    if (this.inlineOptimizeMs <= 0) return false;
    if (this.lastOptimizeMs !== undefined) return this.lastOptimizeMs < this.inlineOptimizeMs;
    return (await table.countRows()) < INLINE_OPTIMIZE_ROWS;
  }

  /** Queues one optimize `delayMs` from now, unless one is queued already (which then serves this caller too). */
  private scheduleOptimize(delayMs: number): void {
    if (this.maintenanceTimer || !this.table) return;
    const table = this.table;
    this.maintenanceTimer = setTimeout(() => {
      this.maintenanceTimer = undefined;
      void this.serial(() => this.optimizeNow(table)).catch(() => undefined);
    }, delayMs);
    this.maintenanceTimer.unref();
  }

  /** The ANN index on `vector`, if the table has one. */
  private async vectorIndexOf(table: lancedb.Table): Promise<lancedb.IndexConfig | undefined> {
    return (await table.listIndices()).find((i) => i.columns.includes('vector'));
  }

  /**
   * Builds the ANN index once the table holds vectorIndexRows rows, and trains it again once the table has twice the
   * rows it was trained on (its partitions were sized for fewer). Searches do not wait: they use the old index, or
   * the flat scan, until the new one commits.
   */
  private async maintainVectorIndex(table: lancedb.Table): Promise<void> {
    const rows = await table.countRows();
    const index = await this.vectorIndexOf(table);
    if (index ? rows < 2 * trainedRows(index.name) : rows < this.vectorIndexRows) return;
    await this.buildVectorIndex(table, rows, index?.name);
  }

  private async buildVectorIndex(table: lancedb.Table, rows: number, previous?: string): Promise<void> {
    const partitions = Math.max(1, Math.round(Math.sqrt(rows)));
    const config =
      this.vectorIndex === 'ivf_hnsw_sq'
        ? lancedb.Index.hnswSq({ distanceType: 'cosine', numPartitions: Math.max(1, Math.round(partitions / 8)) })
        : lancedb.Index.ivfPq({
            distanceType: 'cosine',
            numPartitions: partitions,
            numSubVectors: this.dimensions && this.dimensions % 16 === 0 ? this.dimensions / 16 : undefined,
          });
    const name = `${VECTOR_INDEX_PREFIX}${this.vectorIndex}_${rows}`;
    await table.createIndex('vector', { config, name, replace: true });
    // A retrained index has a new name: the old one goes once the new one serves searches.
    if (previous && previous !== name) await table.dropIndex(previous).catch(() => undefined);
  }

  /** Creates the scalar indexes the filters use, where missing (new tables, and tables from before them). */
  private async ensureScalarIndexes(table: lancedb.Table): Promise<void> {
    const missing = async (): Promise<typeof SCALAR_INDEXES> => {
      const indexed = new Set((await table.listIndices()).flatMap((i) => i.columns));
      return SCALAR_INDEXES.filter((s) => !indexed.has(s.column));
    };
    if ((await missing()).length === 0) return;
    await this.serial(async () => {
      for (const { column, kind } of await missing()) {
        try {
          await table.createIndex(column, {
            config: kind === 'bitmap' ? lancedb.Index.bitmap() : lancedb.Index.btree(),
          });
        } catch (err) {
          // Another process may have created it meanwhile.
          await table.checkoutLatest();
          if ((await missing()).some((s) => s.column === column)) throw err;
        }
      }
    });
  }

  /** Rows were deleted: one compaction (with removal of old versions) follows shortly, shared by a burst of deletes. */
  private deleted(rows: number): void {
    if (rows > 0) this.scheduleOptimize(this.compactAfterDeleteMs);
  }

  /** Creates the full-text index on `text` when the table has none (new tables, and tables from before it). */
  private async ensureFtsIndex(table: lancedb.Table): Promise<void> {
    const has = async (): Promise<boolean> =>
      (await table.listIndices()).some((i) => i.indexType === 'FTS' && i.columns.includes('text'));
    if (await has()) return;
    await this.serial(async () => {
      if (await has()) return;
      try {
        await table.createIndex('text', { config: lancedb.Index.fts(FTS_CONFIG) });
      } catch (err) {
        // Another process may have created it meanwhile.
        await table.checkoutLatest();
        if (!(await has())) throw err;
      }
    });
  }

  /** Brings the full-text index up to date with every row and compacts the table. Serialised with writes. */
  async optimize(): Promise<void> {
    const table = this.ready();
    await this.serial(() => this.optimizeNow(table));
  }

  /** Counts written rows; past OPTIMIZE_EVERY, queues a best-effort optimize behind the current writes. */
  private wrote(rows: number): void {
    this.written += rows;
    if (this.written < this.optimizeEvery || !this.table) return;
    const table = this.table;
    void this.serial(() => this.optimizeNow(table)).catch(() => undefined);
  }

  private ready(): lancedb.Table {
    if (!this.table)
      throw new GroundworkError(
        'VECTOR_STORE_NOT_READY',
        'The vector store is not ready: call ensureReady(dimensions) first.',
      );
    return this.table;
  }

  async upsert(tenantId: string, points: VectorPoint[]): Promise<void> {
    assertTenantId(tenantId);
    if (points.some((p) => p.payload.tenantId !== tenantId)) throw tenantMismatch();
    const wrong = points.find((p) => p.vector.length !== this.dimensions);
    if (wrong) throw embedderMismatch(this.dimensions ?? 0, wrong.vector.length);
    if (points.length === 0) return;
    const table = this.ready();
    await this.serial(async () => {
      // Ids are deterministic, so an upsert mostly writes ids the table does not hold yet: those are appended, and only
      // ids already there (a retried or repeated upsert) go through a merge. A merge joins the batch with the whole
      // table; at 1M rows that join failed ("Spill has sent an error") and slowed every batch.
      const rows = points.map(toRow) as unknown as Record<string, unknown>[];
      const existing = await this.existingIds(
        table,
        points.map((p) => p.id),
      );
      const fresh = rows.filter((r) => !existing.has(r.id as string));
      const known = rows.filter((r) => existing.has(r.id as string));
      if (fresh.length > 0) await table.add(fresh);
      if (known.length > 0)
        await table.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(known);
    });
    this.wrote(points.length);
  }

  /** Which of these ids the table holds (looked up through the BTREE index on id, 1,000 at a time). */
  private async existingIds(table: lancedb.Table, ids: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += 1_000) {
      const part = ids.slice(i, i + 1_000);
      const rows = (await table
        .query()
        .where(`id IN (${part.map(sql).join(', ')})`)
        .select(['id'])
        .limit(part.length)
        .toArray()) as Array<{ id: string }>;
      for (const r of rows) found.add(r.id);
    }
    return found;
  }

  async search(tenantId: string, vector: number[], options: SearchOptions): Promise<ScoredChunk[]> {
    for (let attempt = 0; ; attempt++) {
      const hits = await this.searchOnce(tenantId, vector, options);
      const mixed = documentsInTwoVersions(hits);
      if (mixed.size === 0) return hits;
      if (attempt < SWITCH_RETRIES) continue;
      // Switches kept committing between the two queries: keep each document's live version only.
      const live = new Map<string, string | null>();
      for (const documentId of mixed) live.set(documentId, await this.activeVersion(tenantId, documentId));
      return hits.filter(
        (h) => !mixed.has(h.payload.documentId) || live.get(h.payload.documentId) === h.payload.version,
      );
    }
  }

  /**
   * The bound on the partitions a search of this tenant probes: this.ann.maxNprobes for a tenant holding at least
   * NARROW_TENANT_SHARE of the rows, none (0) for a narrower one. Counted with the scalar index (about 1 ms at 1M rows)
   * and reused for SHARE_TTL_MS.
   */
  private async maxNprobesFor(table: lancedb.Table, tenantId: string): Promise<number> {
    if (this.ann.maxNprobes === 0) return 0;
    const now = Date.now();
    const known = this.shares.get(tenantId);
    if (known && now - known.at < SHARE_TTL_MS) return known.maxNprobes;
    const [rows, own] = await Promise.all([table.countRows(), table.countRows(this.tenantWhere(tenantId))]);
    const maxNprobes = own < rows * NARROW_TENANT_SHARE ? 0 : this.ann.maxNprobes;
    if (this.shares.size >= 10_000) this.shares.clear(); // bounded: tenants come and go
    this.shares.set(tenantId, { maxNprobes, at: now });
    return maxNprobes;
  }

  private async searchOnce(tenantId: string, vector: number[], options: SearchOptions): Promise<ScoredChunk[]> {
    const docs = options.documentIds?.length
      ? `document_id IN (${options.documentIds.map(sql).join(', ')})`
      : undefined;
    const where = this.tenantWhere(tenantId, { state: 'active' }, docs);
    const table = this.ready();
    const text = hybridText(options.text);
    // A search restricted to some documents is narrow whatever the tenant's share.
    const maxNprobes = options.documentIds?.length ? 0 : await this.maxNprobesFor(table, tenantId);
    const dense = (limit: number): Promise<Row[]> =>
      table
        .vectorSearch(vector)
        .distanceType('cosine')
        .where(where)
        // Index parameters (ignored while the table has no ANN index), chosen with scripts/bench-scale.ts at 1M rows
        // (see VECTOR_INDEX): at least NPROBES partitions, at most MAX_NPROBES for a wide tenant, no bound for a
        // narrow one or a few documents (the search goes on while the filter leaves too few rows).
        .minimumNprobes(maxNprobes === 0 ? this.ann.nprobes : Math.min(this.ann.nprobes, maxNprobes))
        .maximumNprobes(maxNprobes)
        .refineFactor(this.ann.refineFactor)
        // The graph search must return the limit times the refine factor (LanceDB fails the query otherwise: with
        // ef 150 and refine 10, every hybrid search, depth 20 and more, failed once the index existed).
        .ef(Math.max(this.ann.ef, limit * this.ann.refineFactor))
        .limit(limit)
        .toArray() as Promise<Row[]>;
    const passes = (score: number): boolean => options.minScore === undefined || score >= options.minScore;
    if (text === undefined) {
      const rows = await dense(options.limit);
      return rows
        .map((r) => ({ id: r.id, score: 1 - (r._distance ?? 1), payload: fromRow(r) }))
        .filter((r) => passes(r.score))
        .sort((a, b) => b.score - a.score);
    }
    const depth = hybridDepth(options.limit);
    const [denseRows, lexicalRows] = await Promise.all([
      dense(depth),
      // where() on a full-text query is a pre-filter: the tenant's matches are found however many other rows match.
      table.query().fullTextSearch(new lancedb.MatchQuery(text, 'text')).where(where).limit(depth).toArray() as Promise<
        Row[]
      >,
    ]);
    const rows = new Map<string, { row: Row; score: number }>();
    for (const row of denseRows) rows.set(row.id, { row, score: 1 - (row._distance ?? 1) });
    for (const row of lexicalRows)
      if (!rows.has(row.id)) rows.set(row.id, { row, score: cosine(vector, Float32Array.from(row.vector)) });
    const denseIds = denseRows.filter((r) => passes(rows.get(r.id)!.score)).map((r) => r.id);
    return fuseRanks(
      denseIds,
      lexicalRows.map((r) => r.id),
    )
      .slice(0, options.limit)
      .map(({ id, ...ranks }) => {
        const { row, score } = rows.get(id)!;
        return { id, score, payload: fromRow(row), ...ranks };
      });
  }

  async activeVersion(tenantId: string, documentId: string): Promise<string | null> {
    const rows = (await this.ready()
      .query()
      .where(this.tenantWhere(tenantId, { document_id: documentId, state: 'active' }))
      .select(['version'])
      .limit(1)
      .toArray()) as Row[];
    return rows[0]?.version ?? null;
  }

  async activateVersion(
    tenantId: string,
    documentId: string,
    version: string,
  ): Promise<{ activated: number; retired: number }> {
    const table = this.ready();
    return this.serial(async () => {
      const staged = this.tenantWhere(tenantId, { document_id: documentId, version, state: 'staged' });
      const activated = await table.countRows(staged);
      if (
        activated === 0 &&
        (await table.countRows(this.tenantWhere(tenantId, { document_id: documentId, version, state: 'active' }))) === 0
      ) {
        throw versionNotStaged();
      }
      const others = this.tenantWhere(tenantId, { document_id: documentId }, `version <> ${sql(version)}`);
      const retired = await table.countRows(others);
      if (activated > 0 && retired > 0) {
        // One commit, so no reader sees both versions live (see the header): the staged rows come back active, and
        // the rows of other versions, absent from the source, are deleted by the same merge.
        const rows = (await table.query().where(staged).limit(activated).toArray()) as Row[];
        const active = rows.map(({ _distance, _score, vector, ...rest }) => ({
          ...rest,
          vector: Array.from(vector),
          state: 'active',
        }));
        await table
          .mergeInsert('id')
          .whenMatchedUpdateAll()
          .whenNotMatchedBySourceDelete({ where: others })
          .execute(active as unknown as Record<string, unknown>[]);
      } else if (activated > 0) {
        await table.update({ where: staged, values: { state: 'active' } });
      } else if (retired > 0) {
        await table.delete(others);
      }
      // The update rewrote the activated rows, so the full-text index no longer covers them: index them before they
      // are searched while that is quick, else shortly after (see the header). Best effort: activation has happened.
      if (activated > 0) {
        if (await this.optimizesInline(table)) await this.optimizeNow(table).catch(() => undefined);
        else this.scheduleOptimize(Math.max(this.compactAfterDeleteMs, 2 * (this.lastOptimizeMs ?? 0)));
      }
      this.deleted(retired);
      return { activated, retired };
    });
  }

  async discardStaged(tenantId: string, documentId: string, keepVersion?: string): Promise<number> {
    const table = this.ready();
    return this.serial(async () => {
      const where = this.tenantWhere(
        tenantId,
        { document_id: documentId, state: 'staged' },
        keepVersion ? `version <> ${sql(keepVersion)}` : undefined,
      );
      const n = await table.countRows(where);
      if (n > 0) await table.delete(where);
      this.deleted(n);
      return n;
    });
  }

  async deleteDocument(tenantId: string, documentId: string): Promise<number> {
    return this.deleteWhere(this.tenantWhere(tenantId, { document_id: documentId }));
  }

  async deleteTenant(tenantId: string): Promise<number> {
    return this.deleteWhere(this.tenantWhere(tenantId));
  }

  private deleteWhere(where: string): Promise<number> {
    const table = this.ready();
    return this.serial(async () => {
      const n = await table.countRows(where);
      if (n > 0) await table.delete(where);
      this.deleted(n);
      return n;
    });
  }

  async count(tenantId: string, filter: { documentId?: string; state?: ChunkState } = {}): Promise<number> {
    return this.ready().countRows(this.tenantWhere(tenantId, { document_id: filter.documentId, state: filter.state }));
  }

  async getChunks(tenantId: string, ids: string[]): Promise<ScoredChunk[]> {
    if (ids.length === 0) return [];
    const rows = (await this.ready()
      .query()
      .where(this.tenantWhere(tenantId, {}, `id IN (${ids.map(sql).join(', ')})`))
      .limit(ids.length)
      .toArray()) as Row[];
    return rows.map((r) => ({ id: r.id, score: 0, payload: fromRow(r) }));
  }

  async close(): Promise<void> {
    if (this.maintenanceTimer) {
      // Deletes or activations are waiting for their optimize: run it now rather than leave deleted rows on disk and
      // new rows outside the indexes.
      clearTimeout(this.maintenanceTimer);
      this.maintenanceTimer = undefined;
      const table = this.table;
      if (table) await this.serial(() => this.optimizeNow(table)).catch(() => undefined);
    }
    await this.writes.catch(() => undefined);
    this.table?.close();
    this.db?.close();
    this.table = undefined;
    this.db = undefined;
  }
}
