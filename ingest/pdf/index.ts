// PDF text extraction through pdf-parse (pdf.js): text per page with page locators, normalised, with
// repeated headers/footers removed. Runs inside the isolated parser child (ingest/child.ts).
import path from 'node:path';
import { PDFParse } from 'pdf-parse';
import { IngestError } from '../errors';
import type { Block, DocumentMetadata, IngestWarning, ParsedDocument } from '../types';
import { buildLines, layoutPage, lineText, median, renderTableRow } from './layout';
import type { Line, PageElement, PositionedText } from './layout';
import { joinHyphenation, normalizeInline } from './normalize';

export interface PdfOptions {
  password?: string;
  ocr?: boolean;
  maxPages: number;
}

/** Fewer meaningful characters than this and a page counts as having no text layer (scanned). */
const MIN_PAGE_CHARS = 10;

function pdfDate(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const m = /D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?/.exec(raw);
  if (!m) return undefined;
  const [, y, mo = '01', d = '01', h = '00', mi = '00', s = '00'] = m;
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}Z`;
  return Number.isNaN(Date.parse(iso)) ? undefined : iso;
}

const PAGE_NUMBER_LINE = /^(?:page|seite|p\.)?\s*[-–—(]?\s*\d+\s*(?:(?:of|\/|von)\s*\d+)?\s*[-–—)]?$/i;

/**
 * A line's identity for header/footer detection: page-number lines ("Page 3 of 9", "- 4 -") all share one key;
 * any other line must repeat exactly, so body lines that differ only in a number are never taken for a header.
 */
const lineKey = (line: string): string => (PAGE_NUMBER_LINE.test(line.trim()) ? '#page-number#' : line.toLowerCase());

function repeatedEdgeLines(pages: string[][]): Set<string> {
  const repeated = new Set<string>();
  if (pages.length < 3) return repeated;
  const counts = new Map<string, number>();
  for (const lines of pages) {
    const edges = new Set([...lines.slice(0, 2), ...lines.slice(-2)].map(lineKey));
    for (const k of edges) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  for (const [k, n] of counts) if (n >= Math.max(3, Math.ceil(pages.length * 0.6))) repeated.add(k);
  return repeated;
}

function classify(err: unknown, password: string | undefined): IngestError {
  const name = err instanceof Error ? err.name : '';
  const message = err instanceof Error ? err.message : '';
  if (name === 'PasswordException' || /password/i.test(message)) {
    return password
      ? new IngestError('PDF_BAD_PASSWORD', 'The password supplied for this encrypted PDF is not correct.')
      : new IngestError('PDF_ENCRYPTED', 'The PDF is encrypted; supply its password to ingest it.');
  }
  return new IngestError('PDF_CORRUPT', 'The PDF is damaged and no text could be recovered from it.');
}

interface OcrPage {
  text: string;
  confidence: number;
}

/** OCR is slow (about 2 s a page here): beyond this many scanned pages, the rest are reported, not read. */
export const MAX_OCR_PAGES = 40;
/** Pages whose mean word confidence is below this are flagged OCR_LOW_CONFIDENCE. */
export const OCR_LOW_CONFIDENCE = 60;

/**
 * Renders the pages without a text layer through pdf.js and reads them with tesseract.js, using the English
 * model shipped in the @tesseract.js-data/eng package: nothing is downloaded at run time.
 */
async function ocrPages(parser: PDFParse, pages: number[], warnings: IngestWarning[]): Promise<Map<number, OcrPage>> {
  const out = new Map<number, OcrPage>();
  const selected = pages.slice(0, MAX_OCR_PAGES);
  for (const num of pages.slice(MAX_OCR_PAGES)) {
    warnings.push({ code: 'OCR_SKIPPED', message: `Page ${num} needs OCR but the document has more than ${MAX_OCR_PAGES} such pages.`, locator: { kind: 'page', page: num } });
  }
  // Loaded only when a scanned page exists: tesseract is large and most PDFs never need it.
  const { createWorker } = await import('tesseract.js');
  const eng = require('@tesseract.js-data/eng') as { langPath: string; gzip: boolean };
  const worker = await createWorker('eng', 1, { langPath: eng.langPath, gzip: eng.gzip, cacheMethod: 'none', logger: () => undefined, errorHandler: () => undefined });
  try {
    for (const num of selected) {
      try {
        const shot = await parser.getScreenshot({ partial: [num], scale: 2, imageBuffer: true, imageDataUrl: false });
        const image = shot.pages[0]?.data;
        if (!image || image.length === 0) continue;
        const r = await worker.recognize(Buffer.from(image));
        const text = r.data.text.trim();
        if (!text) continue;
        out.set(num, { text, confidence: r.data.confidence });
        if (r.data.confidence < OCR_LOW_CONFIDENCE) {
          warnings.push({ code: 'OCR_LOW_CONFIDENCE', message: `OCR of page ${num} has low confidence (${Math.round(r.data.confidence)}).`, locator: { kind: 'page', page: num } });
        }
      } catch {
        warnings.push({ code: 'OCR_FAILED', message: `Page ${num} could not be rendered or read by OCR.`, locator: { kind: 'page', page: num } });
      }
    }
  } finally {
    await worker.terminate();
  }
  return out;
}

/** The part of pdf.js's document API that layout reads (pdf-parse loads the document; see loadDocument). */
interface PdfJsTextItem {
  str?: string;
  transform?: number[];
  width?: number;
  height?: number;
}
interface PdfJsPage {
  view: number[];
  getTextContent(): Promise<{ items: PdfJsTextItem[] }>;
  cleanup(): void;
}
interface PdfJsDocument {
  numPages: number;
  getPage(num: number): Promise<PdfJsPage>;
  getMetadata(): Promise<{ info?: unknown }>;
}

/**
 * pdf-parse's own text output joins items in stream order, which scrambles columns and tables; layout needs the
 * positioned items, so this reaches the pdf.js document that pdf-parse has loaded (pinned pdf-parse 2.4.5).
 */
async function loadDocument(parser: PDFParse): Promise<PdfJsDocument> {
  const load = (parser as unknown as { load?: () => Promise<PdfJsDocument> }).load;
  if (typeof load !== 'function') throw new Error('pdf-parse no longer exposes its pdf.js document');
  return load.call(parser);
}

interface PageLines {
  num: number;
  width: number;
  lines: Line[];
  /** Text of items drawn at an angle (stamps, margin notes), kept after the page's own text. */
  rotated: string[];
}

/** Text items of one page in unrotated user space, y flipped so that it grows downwards. */
async function readPage(doc: PdfJsDocument, num: number): Promise<PageLines> {
  const page = await doc.getPage(num);
  try {
    const [x0 = 0, , x1 = 612, y1 = 792] = page.view;
    const content = await page.getTextContent();
    const items: PositionedText[] = [];
    const rotated: string[] = [];
    for (const item of content.items) {
      if (typeof item.str !== 'string' || !item.transform) continue;
      const [a = 1, b = 0, c = 0, d = 1, e = 0, f = 0] = item.transform;
      if (Math.abs(b) > Math.abs(a) * 0.1 || Math.abs(c) > Math.abs(d) * 0.1) {
        if (item.str.trim()) rotated.push(item.str);
        continue;
      }
      items.push({ str: item.str, x: e - x0, y: y1 - f, width: item.width ?? 0, size: Math.abs(d) || item.height || 10 });
    }
    return { num, width: x1 - x0, lines: buildLines(items), rotated };
  } finally {
    page.cleanup();
  }
}

const meaningful = (text: string): number => text.replace(/\s/g, '').length;

/**
 * Header and footer lines: the first two and last two lines of a page whose text (page numbers normalised) recurs at
 * the edge of most pages. A line is kept after all where removing it would empty most of the pages it is on: a
 * document of five pages that each say only "Hello world" has content, not a header.
 */
function chromeKeys(pages: string[][]): Set<string> {
  const repeated = repeatedEdgeLines(pages);
  for (const key of [...repeated]) {
    let on = 0;
    let emptied = 0;
    for (const lines of pages) {
      const edge = (j: number): boolean => j < 2 || j >= lines.length - 2;
      if (!lines.some((l, j) => edge(j) && lineKey(l) === key)) continue;
      on++;
      const rest = lines.filter((l, j) => !(edge(j) && repeated.has(lineKey(l))));
      if (rest.every((l) => meaningful(l) === 0)) emptied++;
    }
    if (emptied * 2 >= on) repeated.delete(key);
  }
  return repeated;
}

/** Font size above the body text's by this factor makes a short line a heading. */
const HEADING_SIZE_RATIO = 1.2;

function isHeadingLine(text: string, size: number, bodySize: number): boolean {
  if (bodySize <= 0 || size < bodySize * HEADING_SIZE_RATIO) return false;
  if (text.length > 120 || text.split(/\s+/).length > 15) return false;
  return /\p{L}/u.test(text) && !/[.,;]$/.test(text);
}

export async function parsePdf(bytes: Uint8Array, options: PdfOptions): Promise<ParsedDocument> {
  const parser = new PDFParse({
    data: new Uint8Array(bytes),
    password: options.password,
    isEvalSupported: false,
    verbosity: 0,
    // Fonts that are not embedded (and CID fonts) need pdf.js's data files to be rendered and mapped to text.
    ...pdfjsDataPaths(),
  });
  try {
    // The document's info dictionary only (pdf-parse's getInfo also walks the outline, permissions and page labels).
    let doc: PdfJsDocument;
    let info: { info?: unknown };
    try {
      doc = await loadDocument(parser);
      info = await doc.getMetadata();
    } catch (err) {
      throw classify(err, options.password);
    }
    const total = doc.numPages;
    if (total > options.maxPages) throw new IngestError('TOO_MANY_PAGES', `The PDF has ${total} pages; the limit is ${options.maxPages}.`);
    const pages: PageLines[] = [];
    try {
      for (let num = 1; num <= total; num++) pages.push(await readPage(doc, num));
    } catch (err) {
      if (err instanceof IngestError) throw err;
      throw classify(err, options.password);
    }
    const warnings: IngestWarning[] = [];
    const plainOf = (p: PageLines): string[] => [...p.lines.map(lineText), ...p.rotated];
    const layerChars = pages.map((p) => meaningful(plainOf(p).join('')));
    const needOcr = pages.filter((p, i) => (layerChars[i] ?? 0) < MIN_PAGE_CHARS).map((p) => p.num);
    const ocr = options.ocr === false || needOcr.length === 0 ? new Map<number, OcrPage>() : await ocrPages(parser, needOcr, warnings);
    // An OCR result replaces the text layer only where it read more than the layer holds.
    const ocrUsed = new Set<number>();
    pages.forEach((p, i) => {
      const o = ocr.get(p.num);
      if (o && meaningful(o.text) > (layerChars[i] ?? 0)) ocrUsed.add(p.num);
    });

    // Per page: either positioned lines (text layer) or plain lines (OCR), normalised.
    const plainLines = pages.map((p) =>
      (ocrUsed.has(p.num) ? (ocr.get(p.num)?.text ?? '').split('\n') : plainOf(p)).map(normalizeInline).filter((l) => l.length > 0),
    );
    const chrome = chromeKeys(plainLines);
    // Body text size: the most common line size wins the median, as body lines outnumber headings.
    const bodySize = median(pages.flatMap((p) => (ocrUsed.has(p.num) ? [] : p.lines.map((l) => l.size))));

    const blocks: Block[] = [];
    let chars = 0;
    let heading: string | undefined;
    pages.forEach((p, i) => {
      const locator = { kind: 'page' as const, page: p.num };
      const pageBlocks: Block[] = [];
      const isChrome = (text: string, j: number, count: number): boolean => (j < 2 || j >= count - 2) && chrome.has(lineKey(text));
      let elements: PageElement[];
      if (ocrUsed.has(p.num)) {
        const lines = plainLines[i] ?? [];
        elements = lines.filter((l, j) => !isChrome(l, j, lines.length)).map((text) => ({ kind: 'text' as const, text, y: 0, size: 0, gapBefore: 0 }));
      } else {
        const count = p.lines.length + p.rotated.length;
        const kept = p.lines.filter((l, j) => !isChrome(normalizeInline(lineText(l)), j, count));
        elements = layoutPage(kept, p.width);
        for (const text of p.rotated) elements.push({ kind: 'text', text, y: 0, size: 0, gapBefore: 0 });
      }

      let para: string[] = [];
      let paraSize = 0;
      const flush = (): void => {
        if (para.length === 0) return;
        const t = joinHyphenation(para).join(' ');
        para = [];
        if (t.length === 0) return;
        chars += t.length;
        pageBlocks.push({ kind: 'paragraph', text: t, locator, ...(heading !== undefined ? { heading } : {}) });
      };
      let tables = 0;
      for (const el of elements) {
        if (el.kind === 'table') {
          flush();
          tables++;
          const tableId = `p${p.num}-t${tables}`;
          const norm = (cells: readonly string[]): string[] => cells.map(normalizeInline);
          const header = el.header ? norm(el.header) : undefined;
          const tableHeader = header?.join(' | ');
          for (const row of el.rows) {
            const text = renderTableRow(header, norm(row));
            if (!text) continue;
            chars += text.length;
            pageBlocks.push({ kind: 'row', text, locator, tableId, ...(tableHeader ? { tableHeader } : {}), ...(heading !== undefined ? { heading } : {}) });
          }
          continue;
        }
        const text = normalizeInline(el.text);
        if (!text) continue;
        if (isHeadingLine(text, el.size, bodySize)) {
          flush();
          const last = pageBlocks[pageBlocks.length - 1];
          // A heading that wraps onto a second line of the same size is one heading.
          if (last?.kind === 'heading' && Math.abs(el.size - paraSize) < 0.5 && el.gapBefore < el.size * 1.6) {
            last.text = `${last.text} ${text}`;
          } else pageBlocks.push({ kind: 'heading', text, locator });
          heading = (pageBlocks[pageBlocks.length - 1] as Block).text;
          paraSize = el.size;
          continue;
        }
        const prev = para[para.length - 1];
        // A new paragraph after a blank line's worth of space, or where a sentence ends and a capitalised line starts.
        const spaced = el.size > 0 && el.gapBefore > el.size * 1.9;
        if (prev && (spaced || (/[.!?:]$/.test(prev) && /^[\p{Lu}\p{N}•\-–]/u.test(text)))) flush();
        para.push(text);
        paraSize = el.size;
      }
      flush();
      if (!pageBlocks.some((b) => meaningful(b.text) > 0)) {
        if (!ocrUsed.has(p.num)) {
          warnings.push({ code: 'PAGE_NO_TEXT', message: `Page ${p.num} has no usable text layer and OCR found no text.`, locator });
        }
        return;
      }
      blocks.push(...pageBlocks);
    });
    const raw = (info.info ?? {}) as Record<string, unknown>;
    const metadata: DocumentMetadata = {
      title: typeof raw.Title === 'string' && raw.Title.trim() ? raw.Title.trim() : undefined,
      author: typeof raw.Author === 'string' && raw.Author.trim() ? raw.Author.trim() : undefined,
      createdAt: pdfDate(raw.CreationDate),
      modifiedAt: pdfDate(raw.ModDate),
      pageCount: total,
    };
    return { kind: 'pdf', mediaType: 'application/pdf', metadata, blocks, warnings, stats: { pages: total, ocrPages: ocrUsed.size, ...ocrConfidence(ocr, ocrUsed), chars } };
  } finally {
    await parser.destroy().catch(() => undefined);
  }
}

function ocrConfidence(ocr: Map<number, OcrPage>, used: Set<number>): { ocrConfidence?: number } {
  const values = [...used].map((n) => ocr.get(n)?.confidence ?? 0);
  if (values.length === 0) return {};
  return { ocrConfidence: Math.round(values.reduce((a, b) => a + b, 0) / values.length) };
}

let dataPaths: { standardFontDataUrl: string; cMapUrl: string; cMapPacked: boolean } | undefined;

/** pdf.js's standard fonts and CMaps, from the pdfjs-dist package that pdf-parse depends on. */
function pdfjsDataPaths(): { standardFontDataUrl?: string; cMapUrl?: string; cMapPacked?: boolean } {
  if (dataPaths) return dataPaths;
  try {
    const root = path.dirname(require.resolve('pdfjs-dist/package.json', { paths: [path.dirname(require.resolve('pdf-parse'))] }));
    dataPaths = { standardFontDataUrl: `${root}${path.sep}standard_fonts${path.sep}`, cMapUrl: `${root}${path.sep}cmaps${path.sep}`, cMapPacked: true };
    return dataPaths;
  } catch {
    return {};
  }
}
