// What a reviewer sees of a retrieved chunk: the cited PDF page rendered by pdf.js with the passage highlighted, the
// cited spreadsheet rows under their header, or the cited lines of a text. Prepared on the worker when a review task
// opens and cached under <data>/review-sources/<tenant>/, where the review console (client/http/console) reads them:
// no tenant text passes through workflow history, only chunk ids.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { heartbeat, log } from '@temporalio/activity';
import type * as Xlsx from 'xlsx';
import { LocalBlobStore } from '../common/blob-store';
import type { BlobStore } from '../common/blob-store';
import { GroundworkError } from '../common/errors';
import { assertTenantId } from '../common/ids';
import { LocalObjectStore, scopedStore } from '../common/object-store';
import type { ObjectStore } from '../common/object-store';
import type { DocumentRegistry } from './documents';
import type { Locator } from '../ingest/types';
import type { RetrievedRef } from '../workflows/definitions';
import type { Embedder } from './models/types';
import { documentVersion } from './parsing';
import type { ChunkPayload, ScoredChunk, VectorStore } from './vectors/types';

/** A highlighted area of a rendered page, in fractions of the page's width and height. */
export interface HighlightBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

interface ViewBase {
  chunkId: string;
  documentId: string;
  sourceName: string;
  locator: string;
  /** The chunk's text (what retrieval returned). */
  text: string;
}

export type SourceView =
  | (ViewBase & { kind: 'pdf'; page: number; width: number; height: number; highlights: HighlightBox[] })
  | (ViewBase & { kind: 'sheet'; sheet: string; range: string; header: string[]; rows: string[][]; firstRow: number })
  | (ViewBase & { kind: 'text'; lines: { n: number; text: string; cited: boolean }[] });

const CHUNK_ID = /^[A-Za-z0-9-]{1,100}$/;
const MAX_SHEET_ROWS = 60;
const MAX_SHEET_COLUMNS = 30;
const RENDER_SCALE = 1.5;
const RENDER_TIMEOUT_MS = 60_000;

/** The cache both sides know: the worker writes views, the console reads them (the deployment's object store). */
export class ReviewSourceCache {
  private readonly objects: ObjectStore;

  constructor(location: ObjectStore | string) {
    this.objects = typeof location === 'string' ? new LocalObjectStore(location) : location;
  }

  static inDataDir(dataDir: string): ReviewSourceCache {
    return new ReviewSourceCache(path.join(dataDir, 'review-sources'));
  }

  static inStore(objects: ObjectStore): ReviewSourceCache {
    return new ReviewSourceCache(scopedStore(objects, 'review-sources'));
  }

  private key(tenantId: string, chunkId: string, ext: 'json' | 'png'): string {
    assertTenantId(tenantId);
    if (!CHUNK_ID.test(chunkId)) throw new GroundworkError('INVALID_INPUT', 'The chunk id is not valid.');
    return `${tenantId}/${chunkId}.${ext}`;
  }

  async readView(tenantId: string, chunkId: string): Promise<SourceView | undefined> {
    const raw = await this.objects.get(this.key(tenantId, chunkId, 'json'));
    return raw === undefined ? undefined : (JSON.parse(raw.toString('utf8')) as SourceView);
  }

  async readImage(tenantId: string, chunkId: string): Promise<Buffer | undefined> {
    return this.objects.get(this.key(tenantId, chunkId, 'png'));
  }

  /** The image first: a reader that finds the view finds its image too. */
  async write(tenantId: string, view: SourceView, png?: Uint8Array): Promise<void> {
    if (png) await this.objects.put(this.key(tenantId, view.chunkId, 'png'), png);
    await this.objects.put(this.key(tenantId, view.chunkId, 'json'), JSON.stringify(view));
  }
}

export interface ReviewSourceOptions {
  vectors: VectorStore;
  embedder: Embedder;
  blobs: BlobStore;
  /** Where rendered views are kept for the console. */
  cache: ReviewSourceCache;
  /** The blobs each document's ingestions read: the first place a source is looked for. */
  registry?: DocumentRegistry;
  ingestRoots: readonly string[];
  maxBytes: number;
}

/** The versions a file's bytes would have under each ingestion option (see documentVersion). */
function versionsOf(bytes: Uint8Array, embedderId: string): string[] {
  return [false, true].flatMap((includeHiddenSheets) =>
    [false, true].map((chunkAcrossPages) =>
      documentVersion(bytes, embedderId, { includeHiddenSheets, chunkAcrossPages }),
    ),
  );
}

async function listFiles(dir: string, depth: number, out: string[], max: number): Promise<void> {
  if (depth < 0 || out.length >= max) return;
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (out.length >= max) return;
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await listFiles(p, depth - 1, out, max);
    else if (e.isFile()) out.push(p);
  }
}

/** The source bytes of a document version: the tenant's uploads and files below its ingest roots, matched by hash. */
async function findSourceBytes(
  options: ReviewSourceOptions,
  known: Map<string, string>,
  payload: ChunkPayload,
): Promise<Uint8Array | undefined> {
  const read = (file: string) => fs.readFile(file).catch(() => undefined);
  const cached = known.get(`${payload.tenantId}/${payload.version}`);
  if (cached) return read(cached);
  // The document's own uploads, from whichever store holds them (a local folder or a shared bucket).
  for (const ref of (await options.registry?.blobsOf(payload.tenantId, payload.documentId).catch(() => [])) ?? []) {
    const bytes = await options.blobs
      .read(ref, { maxBytes: options.maxBytes, tenantId: payload.tenantId })
      .catch(() => undefined);
    if (bytes && versionsOf(bytes, options.embedder.id).includes(payload.version)) return bytes;
  }
  const files: string[] = [];
  if (options.blobs instanceof LocalBlobStore)
    await listFiles(path.join(options.blobs.root, payload.tenantId), 0, files, 500);
  for (const root of options.ingestRoots) await listFiles(path.join(root, payload.tenantId), 6, files, 1000);
  // Files named like the source first: usually the first one read is the one.
  files.sort(
    (a, b) => Number(path.basename(b) === payload.sourceName) - Number(path.basename(a) === payload.sourceName),
  );
  for (const file of files) {
    const stat = await fs.stat(file).catch(() => undefined);
    if (!stat || stat.size > options.maxBytes) continue;
    const bytes = await read(file);
    if (!bytes) continue;
    for (const v of versionsOf(bytes, options.embedder.id)) known.set(`${payload.tenantId}/${v}`, file);
    if (versionsOf(bytes, options.embedder.id).includes(payload.version)) return bytes;
  }
  return undefined;
}

/** Runs in a child process: pdf.js's ES-module worker does not load inside every host (jest's module sandbox). */
const RENDER_CHILD = `
const [pdfParsePath, input, pageArg, scaleArg, output] = process.argv.slice(1);
const { readFileSync, writeFileSync } = require('node:fs');
const { PDFParse } = require(pdfParsePath);
(async () => {
  const page = Number(pageArg);
  const parser = new PDFParse({ data: new Uint8Array(readFileSync(input)), isEvalSupported: false, verbosity: 0 });
  try {
    const doc = await parser.load();
    const p = await doc.getPage(page);
    const viewport = p.getViewport({ scale: 1 });
    const content = await p.getTextContent();
    const items = [];
    for (const item of content.items) {
      if (!('str' in item) || !item.str.trim()) continue;
      const [x, y] = viewport.convertToViewportPoint(item.transform[4], item.transform[5]);
      const h = Math.abs(item.height || item.transform[3] || 10);
      items.push({ str: item.str, x: x / viewport.width, y: (y - h) / viewport.height, w: item.width / viewport.width, h: (h * 1.2) / viewport.height });
    }
    const shot = await parser.getScreenshot({ partial: [page], scale: Number(scaleArg), imageBuffer: true, imageDataUrl: false });
    const png = shot.pages[0] && shot.pages[0].data;
    if (!png || png.length === 0) throw new Error('nothing rendered');
    writeFileSync(output, png);
    process.stdout.write(JSON.stringify({ width: viewport.width, height: viewport.height, items }));
  } finally {
    await parser.destroy();
  }
})().catch((err) => { process.stderr.write(String(err && err.message)); process.exit(1); });
`;

interface RenderedPage {
  width: number;
  height: number;
  items: { str: string; x: number; y: number; w: number; h: number }[];
}

async function renderPdfPage(bytes: Uint8Array, page: number): Promise<{ page: RenderedPage; png: Buffer }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-render-'));
  try {
    const input = path.join(dir, 'in.pdf');
    const output = path.join(dir, 'out.png');
    await fs.writeFile(input, bytes, { mode: 0o600 });
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['-e', RENDER_CHILD, require.resolve('pdf-parse'), input, String(page), String(RENDER_SCALE), output],
        { timeout: RENDER_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, env: {} },
        (err, out) =>
          err ? reject(new GroundworkError('RENDER_FAILED', 'The page could not be rendered.')) : resolve(out),
      );
    });
    return { page: JSON.parse(stdout) as RenderedPage, png: await fs.readFile(output) };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const words = (s: string): string[] =>
  s
    .toLowerCase()
    .normalize('NFKC')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0);

/** The text items of the page that belong to the chunk's passage: most of their words occur in it. */
export function highlightBoxes(items: RenderedPage['items'], passage: string): HighlightBox[] {
  const vocabulary = new Set(words(passage));
  const boxes: HighlightBox[] = [];
  for (const item of items) {
    const w = words(item.str);
    if (w.length === 0) continue;
    const hits = w.filter((x) => vocabulary.has(x)).length;
    if (hits / w.length >= 0.6) boxes.push({ x: item.x, y: item.y, w: item.w, h: item.h });
  }
  return boxes.slice(0, 400);
}

/** xlsx is large and only needed for spreadsheet views: loaded on first use, not by every process importing this. */
let xlsx: typeof Xlsx | undefined;
function loadXlsx(): typeof Xlsx {
  xlsx ??= require('xlsx') as typeof Xlsx;
  return xlsx;
}

function sheetView(base: ViewBase, bytes: Uint8Array, sheet: string, range: string): SourceView | undefined {
  const XLSX = loadXlsx();
  const wb = XLSX.read(bytes, { type: 'buffer', cellDates: true });
  const ws = wb.Sheets[sheet];
  if (!ws) return undefined;
  const cited = XLSX.utils.decode_range(range);
  const used = ws['!ref'] ? XLSX.utils.decode_range(ws['!ref']) : cited;
  const lastCol = Math.min(cited.e.c, cited.s.c + MAX_SHEET_COLUMNS - 1);
  const cell = (r: number, c: number): string => {
    const v = ws[XLSX.utils.encode_cell({ r, c })] as Xlsx.CellObject | undefined;
    return v ? XLSX.utils.format_cell(v) : '';
  };
  const row = (r: number): string[] => {
    const out: string[] = [];
    for (let c = cited.s.c; c <= lastCol; c++) out.push(cell(r, c));
    return out;
  };
  // The header: the sheet's first used row, shown above the cited rows (unless the citation starts there).
  const header = used.s.r < cited.s.r ? row(used.s.r) : [];
  const rows: string[][] = [];
  for (let r = cited.s.r; r <= cited.e.r && rows.length < MAX_SHEET_ROWS; r++) rows.push(row(r));
  return { ...base, kind: 'sheet', sheet, range, header, rows, firstRow: cited.s.r + 1 };
}

function textView(base: ViewBase, text: string, from: number, to: number, firstLine = 1): SourceView {
  const all = text.split(/\r?\n/);
  const start = Math.max(firstLine, from - 2);
  const end = Math.min(firstLine + all.length - 1, to + 2);
  const lines: { n: number; text: string; cited: boolean }[] = [];
  for (let n = start; n <= end && lines.length < 200; n++)
    lines.push({ n, text: all[n - firstLine] ?? '', cited: n >= from && n <= to });
  return { ...base, kind: 'text', lines };
}

function parseLocator(json: string): Locator | undefined {
  try {
    return JSON.parse(json) as Locator;
  } catch {
    return undefined;
  }
}

export function createReviewSourceActivities(options: ReviewSourceOptions) {
  const { cache } = options;
  const known = new Map<string, string>();

  async function prepare(chunk: ScoredChunk): Promise<void> {
    const p = chunk.payload;
    const base: ViewBase = {
      chunkId: p.chunkId,
      documentId: p.documentId,
      sourceName: p.sourceName,
      locator: p.locator,
      text: p.text,
    };
    const locator = parseLocator(p.locatorJson);
    const fallback = textView(base, p.text, 1, p.text.split(/\r?\n/).length);
    try {
      const bytes = locator && locator.kind !== 'lines' ? await findSourceBytes(options, known, p) : undefined;
      if (locator && (locator.kind === 'page' || locator.kind === 'pages') && bytes) {
        const page = locator.kind === 'page' ? locator.page : locator.from;
        const rendered = await renderPdfPage(bytes, page);
        const highlights = highlightBoxes(rendered.page.items, p.text);
        const view: SourceView = {
          ...base,
          kind: 'pdf',
          page,
          width: rendered.page.width,
          height: rendered.page.height,
          highlights,
        };
        return await cache.write(p.tenantId, view, rendered.png);
      }
      if (locator?.kind === 'sheet' && bytes) {
        const view = sheetView(base, bytes, locator.sheet, locator.range);
        if (view) return await cache.write(p.tenantId, view);
      }
      if (locator?.kind === 'lines') {
        const file = await findSourceBytes(options, known, p);
        const view = file
          ? textView(base, Buffer.from(file).toString('utf8'), locator.from, locator.to)
          : textView(base, p.text, locator.from, locator.to, locator.from);
        return await cache.write(p.tenantId, view);
      }
    } catch (err) {
      log.warn('review source view fell back to text', {
        chunkId: p.chunkId,
        code: err instanceof GroundworkError ? err.code : 'UNKNOWN',
      });
    }
    await cache.write(p.tenantId, fallback);
  }

  return {
    /** Prepares (or refreshes) the views of a review task's chunks; chunks of other tenants are simply absent. */
    async prepareReviewSources(input: { tenantId: string; taskId: string; chunkIds: string[] }): Promise<{
      prepared: number;
    }> {
      assertTenantId(input.tenantId);
      const ids = input.chunkIds.filter((id) => CHUNK_ID.test(id)).slice(0, 100);
      const chunks = await options.vectors.getChunks(input.tenantId, ids);
      let prepared = 0;
      for (const chunk of chunks) {
        heartbeat({ prepared });
        await prepare(chunk);
        prepared += 1;
      }
      return { prepared };
    },

    /** A reviewer's search of the tenant's documents (tenant-scoped); the hits' views are prepared too. */
    async searchReviewSources(input: { tenantId: string; text: string; limit: number }): Promise<RetrievedRef[]> {
      assertTenantId(input.tenantId);
      await options.vectors.ensureReady(options.embedder.dimensions);
      const [vector] = await options.embedder.embed([input.text], { kind: 'query' });
      if (!vector) return [];
      const hits = await options.vectors.search(input.tenantId, vector, {
        limit: Math.min(20, Math.max(1, input.limit)),
        text: input.text,
      });
      for (const hit of hits) {
        heartbeat();
        await prepare(hit);
      }
      return hits.map((h) => ({
        chunkId: h.payload.chunkId,
        documentId: h.payload.documentId,
        sourceName: h.payload.sourceName,
        locator: h.payload.locator,
        score: h.score,
        preview: h.payload.text.slice(0, 280),
      }));
    },
  };
}
