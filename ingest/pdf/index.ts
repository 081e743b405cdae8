// PDF text extraction through pdf-parse (pdf.js): text per page with page locators, normalised, with
// repeated headers/footers removed. Runs inside the isolated parser child (ingest/child.ts).
import path from 'node:path';
import { PDFParse } from 'pdf-parse';
import { IngestError } from '../errors';
import type { Block, DocumentMetadata, IngestWarning, ParsedDocument } from '../types';
import { buildLines, layoutPage, lineText, median, renderTableRow } from './layout';
import type { Line, PageElement, PositionedText } from './layout';
import { joinHyphenation, normalizeInline } from '../normalize';

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
const MAX_OCR_PAGES = 40;
/** Pages whose mean word confidence is below this are flagged OCR_LOW_CONFIDENCE. */
const OCR_LOW_CONFIDENCE = 60;

/**
 * Renders the pages without a text layer through pdf.js and reads them with tesseract.js, using the English
 * model shipped in the @tesseract.js-data/eng package: nothing is downloaded at run time.
 */
async function ocrPages(parser: PDFParse, pages: number[], warnings: IngestWarning[]): Promise<Map<number, OcrPage>> {
  const out = new Map<number, OcrPage>();
  const selected = pages.slice(0, MAX_OCR_PAGES);
  for (const num of pages.slice(MAX_OCR_PAGES)) {
    warnings.push({
      code: 'OCR_SKIPPED',
      message: `Page ${num} needs OCR but the document has more than ${MAX_OCR_PAGES} such pages.`,
      locator: { kind: 'page', page: num },
    });
  }
  // Loaded only when a scanned page exists: tesseract is large and most PDFs never need it.
  const { createWorker } = await import('tesseract.js');
  const eng = require('@tesseract.js-data/eng') as { langPath: string; gzip: boolean };
  const worker = await createWorker('eng', 1, {
    langPath: eng.langPath,
    gzip: eng.gzip,
    cacheMethod: 'none',
    logger: () => undefined,
    errorHandler: () => undefined,
  });
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
          warnings.push({
            code: 'OCR_LOW_CONFIDENCE',
            message: `OCR of page ${num} has low confidence (${Math.round(r.data.confidence)}).`,
            locator: { kind: 'page', page: num },
          });
        }
      } catch {
        warnings.push({
          code: 'OCR_FAILED',
          message: `Page ${num} could not be rendered or read by OCR.`,
          locator: { kind: 'page', page: num },
        });
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
      items.push({
        str: item.str,
        x: e - x0,
        y: y1 - f,
        width: item.width ?? 0,
        size: Math.abs(d) || item.height || 10,
      });
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

/**
 * Text of a PDF, page by page: the text layer laid out (columns, tables, headings), OCR for pages without one,
 * repeated headers and footers removed. Throws PDF_ENCRYPTED, PDF_BAD_PASSWORD, PDF_CORRUPT or TOO_MANY_PAGES.
 */
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
    const { doc, info } = await openDocument(parser, options.password);
    const total = doc.numPages;
    if (total > options.maxPages)
      throw new IngestError('TOO_MANY_PAGES', `The PDF has ${total} pages; the limit is ${options.maxPages}.`);
    const pages = await readPages(doc, options.password);
    const warnings: IngestWarning[] = [];
    const { ocr, ocrUsed } = await recognisePages(parser, pages, options.ocr, warnings);
    const { blocks, chars } = documentBlocks(pages, ocr, ocrUsed, warnings);
    const stats = { pages: total, ocrPages: ocrUsed.size, ...ocrConfidence(ocr, ocrUsed), chars };
    return { kind: 'pdf', mediaType: 'application/pdf', metadata: pdfMetadata(info, total), blocks, warnings, stats };
  } finally {
    await parser.destroy().catch(() => undefined);
  }
}

/** The pdf.js document and its info dictionary only (pdf-parse's getInfo also walks the outline, permissions and page labels). */
async function openDocument(
  parser: PDFParse,
  password: string | undefined,
): Promise<{ doc: PdfJsDocument; info: { info?: unknown } }> {
  try {
    const doc = await loadDocument(parser);
    return { doc, info: await doc.getMetadata() };
  } catch (err) {
    throw classify(err, password);
  }
}

/** Every page's positioned lines, in page order. */
async function readPages(doc: PdfJsDocument, password: string | undefined): Promise<PageLines[]> {
  const pages: PageLines[] = [];
  try {
    for (let num = 1; num <= doc.numPages; num++) pages.push(await readPage(doc, num));
  } catch (err) {
    if (err instanceof IngestError) throw err;
    throw classify(err, password);
  }
  return pages;
}

/** A page's text without geometry: its lines, then the rotated text. */
const plainOf = (p: PageLines): string[] => [...p.lines.map(lineText), ...p.rotated];

/**
 * OCR for the pages whose text layer holds fewer than MIN_PAGE_CHARS meaningful characters (unless `ocr` is false).
 * An OCR result replaces the text layer only where it read more than the layer holds: those pages are `ocrUsed`.
 */
async function recognisePages(
  parser: PDFParse,
  pages: PageLines[],
  ocrOption: boolean | undefined,
  warnings: IngestWarning[],
): Promise<{ ocr: Map<number, OcrPage>; ocrUsed: Set<number> }> {
  const layerChars = pages.map((p) => meaningful(plainOf(p).join('')));
  const needOcr = pages.filter((p, i) => (layerChars[i] ?? 0) < MIN_PAGE_CHARS).map((p) => p.num);
  const ocr =
    ocrOption === false || needOcr.length === 0
      ? new Map<number, OcrPage>()
      : await ocrPages(parser, needOcr, warnings);
  const ocrUsed = new Set<number>();
  pages.forEach((p, i) => {
    const o = ocr.get(p.num);
    if (o && meaningful(o.text) > (layerChars[i] ?? 0)) ocrUsed.add(p.num);
  });
  return { ocr, ocrUsed };
}

/** The section heading in force and the characters of block text so far; carried from page to page. */
interface TextFlow {
  heading: string | undefined;
  chars: number;
}

/**
 * Blocks of every page in order, headers and footers removed. A page that yields no meaningful text contributes no
 * blocks and, unless OCR already tried it, a PAGE_NO_TEXT warning.
 */
function documentBlocks(
  pages: PageLines[],
  ocr: Map<number, OcrPage>,
  ocrUsed: Set<number>,
  warnings: IngestWarning[],
): { blocks: Block[]; chars: number } {
  // Per page: either positioned lines (text layer) or plain lines (OCR), normalised.
  const plainLines = pages.map((p) =>
    (ocrUsed.has(p.num) ? (ocr.get(p.num)?.text ?? '').split('\n') : plainOf(p))
      .map(normalizeInline)
      .filter((l) => l.length > 0),
  );
  const chrome = chromeKeys(plainLines);
  // Body text size: the most common line size wins the median, as body lines outnumber headings.
  const bodySize = median(pages.flatMap((p) => (ocrUsed.has(p.num) ? [] : p.lines.map((l) => l.size))));
  const blocks: Block[] = [];
  const flow: TextFlow = { heading: undefined, chars: 0 };
  pages.forEach((p, i) => {
    const elements = pageElements(p, plainLines[i] ?? [], ocrUsed.has(p.num), chrome);
    const pageBlocks = blocksOfPage(elements, p.num, bodySize, flow);
    if (pageBlocks.some((b) => meaningful(b.text) > 0)) blocks.push(...pageBlocks);
    else if (!ocrUsed.has(p.num)) {
      warnings.push({
        code: 'PAGE_NO_TEXT',
        message: `Page ${p.num} has no usable text layer and OCR found no text.`,
        locator: { kind: 'page', page: p.num },
      });
    }
  });
  return { blocks, chars: flow.chars };
}

/**
 * A page as text lines and tables in reading order, without its header and footer lines (`chrome`, which only count
 * among the first two and last two lines). An OCR page is its plain lines; rotated text comes after the layout.
 */
function pageElements(p: PageLines, plainLines: string[], fromOcr: boolean, chrome: Set<string>): PageElement[] {
  const isChrome = (text: string, j: number, count: number): boolean =>
    (j < 2 || j >= count - 2) && chrome.has(lineKey(text));
  if (fromOcr) {
    return plainLines
      .filter((l, j) => !isChrome(l, j, plainLines.length))
      .map((text) => ({ kind: 'text' as const, text, y: 0, size: 0, gapBefore: 0 }));
  }
  const count = p.lines.length + p.rotated.length;
  const kept = p.lines.filter((l, j) => !isChrome(normalizeInline(lineText(l)), j, count));
  const elements = layoutPage(kept, p.width);
  for (const text of p.rotated) elements.push({ kind: 'text', text, y: 0, size: 0, gapBefore: 0 });
  return elements;
}

/**
 * Heading, paragraph and row blocks of one page. Lines join into paragraphs until a blank line's worth of space or a
 * sentence end followed by a capitalised line; a short line in a larger font is a heading and becomes `flow.heading`.
 */
function blocksOfPage(elements: PageElement[], num: number, bodySize: number, flow: TextFlow): Block[] {
  const locator = { kind: 'page' as const, page: num };
  const blocks: Block[] = [];
  let para: string[] = [];
  let paraSize = 0;
  let tables = 0;
  const flush = (): void => {
    const text = joinHyphenation(para).join(' ');
    para = [];
    if (text.length === 0) return;
    flow.chars += text.length;
    blocks.push({ kind: 'paragraph', text, locator, ...(flow.heading !== undefined ? { heading: flow.heading } : {}) });
  };
  for (const el of elements) {
    if (el.kind === 'table') {
      flush();
      tables++;
      blocks.push(...tableRowBlocks(el, `p${num}-t${tables}`, locator, flow));
      continue;
    }
    const text = normalizeInline(el.text);
    if (!text) continue;
    if (isHeadingLine(text, el.size, bodySize)) {
      flush();
      flow.heading = addHeading(blocks, text, el, paraSize, locator);
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
  return blocks;
}

/** Appends a heading block, or extends the previous one when the heading wraps onto a second line of the same size. */
function addHeading(
  blocks: Block[],
  text: string,
  el: { size: number; gapBefore: number },
  previousSize: number,
  locator: Block['locator'],
): string {
  const last = blocks[blocks.length - 1];
  if (last?.kind === 'heading' && Math.abs(el.size - previousSize) < 0.5 && el.gapBefore < el.size * 1.6) {
    last.text = `${last.text} ${text}`;
    return last.text;
  }
  blocks.push({ kind: 'heading', text, locator });
  return text;
}

/** One row block per non-empty table row, header-qualified ("Region: EMEA; Q1: 1,200") when the table has a header. */
function tableRowBlocks(
  table: Extract<PageElement, { kind: 'table' }>,
  tableId: string,
  locator: Block['locator'],
  flow: TextFlow,
): Block[] {
  const norm = (cells: readonly string[]): string[] => cells.map(normalizeInline);
  const header = table.header ? norm(table.header) : undefined;
  const tableHeader = header?.join(' | ');
  const rows: Block[] = [];
  for (const row of table.rows) {
    const text = renderTableRow(header, norm(row));
    if (!text) continue;
    flow.chars += text.length;
    rows.push({
      kind: 'row',
      text,
      locator,
      tableId,
      ...(tableHeader ? { tableHeader } : {}),
      ...(flow.heading !== undefined ? { heading: flow.heading } : {}),
    });
  }
  return rows;
}

function pdfMetadata(info: { info?: unknown }, pageCount: number): DocumentMetadata {
  const raw = (info.info ?? {}) as Record<string, unknown>;
  return {
    title: typeof raw.Title === 'string' && raw.Title.trim() ? raw.Title.trim() : undefined,
    author: typeof raw.Author === 'string' && raw.Author.trim() ? raw.Author.trim() : undefined,
    createdAt: pdfDate(raw.CreationDate),
    modifiedAt: pdfDate(raw.ModDate),
    pageCount,
  };
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
    const root = path.dirname(
      require.resolve('pdfjs-dist/package.json', { paths: [path.dirname(require.resolve('pdf-parse'))] }),
    );
    dataPaths = {
      standardFontDataUrl: `${root}${path.sep}standard_fonts${path.sep}`,
      cMapUrl: `${root}${path.sep}cmaps${path.sep}`,
      cMapPacked: true,
    };
    return dataPaths;
  } catch {
    return {};
  }
}
