// PDF text extraction through pdf-parse (pdf.js): text per page with page locators, normalised, with
// repeated headers/footers removed. Runs inside the isolated parser child (ingest/child.ts).
import { PDFParse } from 'pdf-parse';
import { IngestError } from '../errors';
import type { Block, DocumentMetadata, IngestWarning, ParsedDocument } from '../types';
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

export async function parsePdf(bytes: Uint8Array, options: PdfOptions): Promise<ParsedDocument> {
  const parser = new PDFParse({ data: new Uint8Array(bytes), password: options.password, isEvalSupported: false, verbosity: 0 });
  try {
    let info;
    try {
      info = await parser.getInfo();
    } catch (err) {
      throw classify(err, options.password);
    }
    const total = info.total;
    if (total > options.maxPages) throw new IngestError('TOO_MANY_PAGES', `The PDF has ${total} pages; the limit is ${options.maxPages}.`);
    let text;
    try {
      text = await parser.getText({ lineEnforce: true });
    } catch (err) {
      throw classify(err, options.password);
    }
    const warnings: IngestWarning[] = [];
    const needOcr = text.pages.filter((p) => p.text.replace(/\s/g, '').length < MIN_PAGE_CHARS).map((p) => p.num);
    const ocr = options.ocr === false || needOcr.length === 0 ? new Map<number, OcrPage>() : await ocrPages(parser, needOcr, warnings);
    for (const page of text.pages) {
      const o = ocr.get(page.num);
      if (o) page.text = o.text;
    }
    const pageLines = text.pages.map((p) =>
      joinHyphenation(
        p.text
          .split('\n')
          .map(normalizeInline)
          .filter((l) => l.length > 0),
      ),
    );
    const repeated = repeatedEdgeLines(pageLines);
    const blocks: Block[] = [];
    let chars = 0;
    text.pages.forEach((p, i) => {
      const lines = (pageLines[i] ?? []).filter((l, j, all) => !((j < 2 || j >= all.length - 2) && repeated.has(lineKey(l))));
      const body = lines.join('\n');
      if (body.replace(/\s/g, '').length < MIN_PAGE_CHARS) {
        if (!ocr.has(p.num)) {
          warnings.push({ code: 'PAGE_NO_TEXT', message: `Page ${p.num} has no usable text layer and OCR found no text.`, locator: { kind: 'page', page: p.num } });
        }
        return;
      }
      // Paragraphs: consecutive lines; a line ending a sentence followed by a capitalised line starts a new one.
      let para: string[] = [];
      const flush = (): void => {
        if (para.length === 0) return;
        const t = para.join(' ');
        chars += t.length;
        blocks.push({ kind: 'paragraph', text: t, locator: { kind: 'page', page: p.num } });
        para = [];
      };
      for (const line of lines) {
        const prev = para[para.length - 1];
        if (prev && /[.!?:]$/.test(prev) && /^[\p{Lu}\p{N}•\-–]/u.test(line)) flush();
        para.push(line);
      }
      flush();
    });
    const raw = (info.info ?? {}) as Record<string, unknown>;
    const metadata: DocumentMetadata = {
      title: typeof raw.Title === 'string' && raw.Title.trim() ? raw.Title.trim() : undefined,
      author: typeof raw.Author === 'string' && raw.Author.trim() ? raw.Author.trim() : undefined,
      createdAt: pdfDate(raw.CreationDate),
      modifiedAt: pdfDate(raw.ModDate),
      pageCount: total,
    };
    return { kind: 'pdf', mediaType: 'application/pdf', metadata, blocks, warnings, stats: { pages: total, ocrPages: ocr.size, chars } };
  } finally {
    await parser.destroy().catch(() => undefined);
  }
}
