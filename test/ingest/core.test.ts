// The public entry point and what runs before any parser: size limits, type sniffing by content, plain text.
import * as XLSX from 'xlsx';
import { contentHash, extractChunks, extractInProcess, IngestError } from '../../ingest';
import { DEFAULT_LIMITS, resolveLimits } from '../../ingest/limits';
import { detectDelimiter, readZipDirectory, sniff, verifyZipEntries } from '../../ingest/sniff';
import { decodeText, parseText } from '../../ingest/text';
import { makeTextPdf } from '../support/documents';
import {
  docxLikeZip,
  encryptedOoxml,
  garbage,
  latin1Text,
  makeZip,
  oleContainer,
  utf16Text,
  zipBombDeclared,
  zipBombLocalHeaders,
} from '../fixtures/hostile-fixtures';
import type { ZipInput } from '../fixtures/hostile-fixtures';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof IngestError) return err.code;
    throw err;
  }
  throw new Error('expected an IngestError');
}

function sniffCode(bytes: Uint8Array, name?: string): string {
  try {
    sniff(bytes, name);
  } catch (err) {
    if (err instanceof IngestError) return err.code;
    throw err;
  }
  throw new Error('expected an IngestError');
}

function workbook(bookType: XLSX.BookType): Uint8Array {
  const wb = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(
    wb,
    XLSX.utils.aoa_to_sheet([
      ['Name', 'Qty'],
      ['Bolt', 3],
    ]),
    'Stock',
  );
  return new Uint8Array(XLSX.write(wb, { type: 'buffer', bookType }) as Buffer);
}

describe('limits', () => {
  it('uses the documented defaults', () => {
    expect(DEFAULT_LIMITS).toEqual({
      maxBytes: 50 * 1024 * 1024,
      maxPages: 2000,
      maxCells: 2_000_000,
      maxDecompressedBytes: 500 * 1024 * 1024,
      timeoutMs: 120_000,
      maxMemoryMb: 1024,
    });
  });

  it('overrides only the limits given and rejects non-positive ones', () => {
    expect(resolveLimits({ timeoutMs: 5 })).toEqual({ ...DEFAULT_LIMITS, timeoutMs: 5 });
    expect(() => resolveLimits({ maxBytes: Number.NaN })).toThrow(RangeError);
    expect(() => resolveLimits({ maxPages: 0 })).toThrow(RangeError);
  });
});

describe('extractChunks before parsing', () => {
  it('rejects an empty file with EMPTY_FILE', async () => {
    expect(await codeOf(extractChunks({ bytes: new Uint8Array(0), fileName: 'empty.pdf' }))).toBe('EMPTY_FILE');
  });

  it('rejects an oversized file with FILE_TOO_LARGE before looking at its content', async () => {
    // Garbage would be UNSUPPORTED_TYPE; the size check must come first.
    expect(await codeOf(extractChunks({ bytes: garbage(2048), limits: { maxBytes: 1024 } }))).toBe('FILE_TOO_LARGE');
  });

  it('rejects garbage named .pdf with UNSUPPORTED_TYPE: without a %PDF- header it is not a PDF', async () => {
    expect(await codeOf(extractChunks({ bytes: garbage(4096), fileName: 'report.pdf' }))).toBe('UNSUPPORTED_TYPE');
  });

  it('rejects a zip whose directory declares more than the decompressed limit with DECOMPRESSED_TOO_LARGE', async () => {
    const bomb = zipBombDeclared(600 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(2048);
    expect(await codeOf(extractChunks({ bytes: bomb, fileName: 'bomb.xlsx' }))).toBe('DECOMPRESSED_TOO_LARGE');
  });

  it('rejects an encrypted OOXML workbook with SHEET_ENCRYPTED', async () => {
    expect(await codeOf(extractChunks({ bytes: encryptedOoxml(), fileName: 'secret.xlsx' }))).toBe('SHEET_ENCRYPTED');
  });
});

describe('sniff', () => {
  it('recognises a PDF by its header whatever the name', () => {
    const pdf = new Uint8Array(Buffer.from('%PDF-1.7\n%\u00e2\u00e3\n1 0 obj\n<<>>\nendobj\n', 'latin1'));
    expect(sniff(pdf, 'notes.txt')).toMatchObject({ kind: 'pdf', mediaType: 'application/pdf' });
  });

  it('finds a PDF header preceded by junk within the first kilobyte, not beyond', () => {
    const junk = (n: number): Buffer => Buffer.alloc(n, 0x01);
    const near = new Uint8Array(Buffer.concat([junk(500), Buffer.from('%PDF-1.4\n')]));
    const far = new Uint8Array(Buffer.concat([junk(2000), Buffer.from('%PDF-1.4\n')]));
    expect(sniff(near).format).toBe('pdf');
    expect(sniffCode(far, 'far.pdf')).toBe('UNSUPPORTED_TYPE');
  });

  it('tells xlsx, xlsb, ods and xls apart by their containers', () => {
    expect(sniff(workbook('xlsx'), 'data.bin')).toMatchObject({ kind: 'spreadsheet', format: 'xlsx' });
    expect(sniff(workbook('xlsb'))).toMatchObject({ format: 'xlsb' });
    expect(sniff(workbook('ods'))).toMatchObject({
      format: 'ods',
      mediaType: 'application/vnd.oasis.opendocument.spreadsheet',
    });
    expect(sniff(workbook('biff8'), 'data.csv')).toMatchObject({
      format: 'xls',
      mediaType: 'application/vnd.ms-excel',
    });
  });

  it('reports the declared uncompressed size of a zip container', () => {
    const result = sniff(zipBombDeclared(123_456_789));
    expect(result.format).toBe('xlsx');
    expect('zip' in result && result.zip.declaredUncompressedBytes).toBeGreaterThanOrEqual(123_456_789);
  });

  it('rejects zip and OLE containers that are not spreadsheets with UNSUPPORTED_TYPE', () => {
    expect(sniffCode(docxLikeZip(), 'letter.xlsx')).toBe('UNSUPPORTED_TYPE');
    expect(sniffCode(oleContainer(['WordDocument']), 'letter.xls')).toBe('UNSUPPORTED_TYPE');
  });

  it('treats a truncated zip named like a workbook as SHEET_CORRUPT and otherwise as UNSUPPORTED_TYPE', () => {
    const truncated = workbook('xlsx').slice(0, 300);
    expect(sniffCode(truncated, 'book.xlsx')).toBe('SHEET_CORRUPT');
    expect(sniffCode(truncated, 'archive.bin')).toBe('UNSUPPORTED_TYPE');
  });

  it('reads UTF-8 with and without BOM and UTF-16 with BOM as text', () => {
    expect(sniff(new Uint8Array(Buffer.from('Hello, world.\n')))).toMatchObject({ kind: 'text', encoding: 'utf-8' });
    expect(sniff(new Uint8Array(Buffer.from('\uFEFFHello')))).toMatchObject({ kind: 'text', encoding: 'utf-8' });
    expect(sniff(utf16Text('Grüße aus Köln', 'le'))).toMatchObject({ kind: 'text', encoding: 'utf-16le' });
    expect(sniff(utf16Text('Grüße aus Köln', 'be'))).toMatchObject({ kind: 'text', encoding: 'utf-16be' });
  });

  it('rejects text in a legacy 8-bit encoding with TEXT_ENCODING and binary with UNSUPPORTED_TYPE', () => {
    expect(sniffCode(latin1Text(), 'menu.txt')).toBe('TEXT_ENCODING');
    expect(sniffCode(garbage(300), 'menu.txt')).toBe('UNSUPPORTED_TYPE');
    expect(sniffCode(new Uint8Array(Buffer.from('abc\u0000def')))).toBe('UNSUPPORTED_TYPE');
  });

  it('uses the markdown media type only as a hint from the name', () => {
    expect(sniff(new Uint8Array(Buffer.from('# Title\n\nText.\n')), 'README.md').mediaType).toBe('text/markdown');
  });

  it('detects CSV by name or by consistent delimiters, but not prose with commas', () => {
    const csv = 'name,qty,price\nbolt,3,0.5\nnut,10,0.1\n';
    expect(sniff(new Uint8Array(Buffer.from(csv)), 'stock.csv')).toMatchObject({ format: 'csv', delimiter: ',' });
    expect(sniff(new Uint8Array(Buffer.from(csv)))).toMatchObject({ format: 'csv', delimiter: ',' });
    const tsv = 'a\tb\n1\t2\n3\t4\n';
    expect(sniff(new Uint8Array(Buffer.from(tsv)))).toMatchObject({ format: 'csv', delimiter: '\t' });
    const semicolons = 'Name;Menge\n"Schraube; groß";3\nMutter;10\n';
    expect(sniff(new Uint8Array(Buffer.from(semicolons)), 'bestand.csv')).toMatchObject({ delimiter: ';' });
    const prose = 'Well, it was late.\nThe rain, however, had stopped and we walked home.\nNobody spoke.\n';
    expect(sniff(new Uint8Array(Buffer.from(prose)), 'story.txt')).toMatchObject({ format: 'text' });
  });

  it('keeps quoted line breaks inside one CSV record when counting fields', () => {
    expect(detectDelimiter('id,comment\n1,"line one\nline two, still the comment"\n2,short\n', true)).toBe(',');
  });

  it('reads a central directory without inflating anything', () => {
    const zip = makeZip([
      { name: 'a.txt', data: 'hello hello hello', method: 8 },
      { name: 'b.txt', data: 'stored', method: 0 },
    ]);
    expect(readZipDirectory(zip).map((e) => [e.name, e.method, e.uncompressedSize])).toEqual([
      ['a.txt', 8, 17],
      ['b.txt', 0, 6],
    ]);
  });
});

describe('zip local headers against the central directory', () => {
  const MB = 1024 * 1024;
  /** An xlsx-shaped archive whose worksheet entry gets `sheet` (a lie, mostly). */
  const workbookZip = (sheet: Partial<ZipInput> = {}, extra: ZipInput[] = []): Uint8Array =>
    makeZip([
      { name: '[Content_Types].xml', data: '<Types/>' },
      { name: 'xl/workbook.xml', data: '<workbook/>' },
      { name: 'xl/worksheets/sheet1.xml', data: '<row/>'.repeat(50), ...sheet },
      ...extra,
    ]);

  it('accepts honest archives, stored entries and data descriptors included', () => {
    expect(sniff(workbookZip(), 'book.xlsx').format).toBe('xlsx');
    expect(sniff(workbookZip({ method: 0 }), 'book.xlsx').format).toBe('xlsx');
    expect(sniff(workbookZip({ dataDescriptor: {} }), 'book.xlsx').format).toBe('xlsx');
    const zip = workbookZip({ dataDescriptor: {} });
    expect(() => verifyZipEntries(zip, readZipDirectory(zip))).not.toThrow();
  });

  it.each<[string, Partial<ZipInput>]>([
    ['local header declares 600 MB uncompressed', { local: { uncompressedSize: 600 * MB } }],
    ['local header declares 40 MB compressed', { local: { compressedSize: 40 * MB } }],
    ['central entry declares 3 compressed bytes', { centralCompressedSize: 3 }],
    ['local header names another file', { local: { name: 'xl/worksheets/sheet9.xml' } }],
    ['local header says stored', { local: { method: 0 } }],
    ['data descriptor declares 600 MB uncompressed', { dataDescriptor: { uncompressedSize: 600 * MB } }],
    ['data descriptor declares 2 compressed bytes', { dataDescriptor: { compressedSize: 2 } }],
  ])('rejects as SHEET_CORRUPT an entry whose %s, unlike its other copy', (_, lie) => {
    expect(sniffCode(workbookZip(lie), 'book.xlsx')).toBe('SHEET_CORRUPT');
  });

  it('rejects entries that share their bytes, the overlapping-file bomb, as SHEET_CORRUPT', () => {
    const data = '<row/>'.repeat(50);
    const overlapping = workbookZip({ data }, [{ name: 'xl/worksheets/sheet1.xml', data, sharesLocalHeaderOf: 2 }]);
    expect(sniffCode(overlapping, 'book.xlsx')).toBe('SHEET_CORRUPT');
  });

  it('rejects an end-of-directory signature after the real one, which SheetJS would follow instead', () => {
    const zip = Buffer.from(workbookZip());
    const comment = Buffer.concat([Buffer.from([0x50, 0x4b, 0x05, 0x06]), Buffer.alloc(10)]);
    zip.writeUInt16LE(comment.length, zip.length - 2); // the real record's comment length
    expect(sniffCode(new Uint8Array(Buffer.concat([zip, comment])), 'book.xlsx')).toBe('SHEET_CORRUPT');
  });

  it("rejects an end record whose count for this disk, the one SheetJS walks, is not the directory's", () => {
    const zip = Buffer.from(workbookZip());
    zip.writeUInt16LE(4, zip.length - 22 + 8); // SheetJS would read a fourth central entry we never checked
    expect(sniffCode(new Uint8Array(zip), 'book.xlsx')).toBe('SHEET_CORRUPT');
  });

  it('refuses in the worker, in milliseconds, a bomb whose central directory hides huge local headers', async () => {
    // The shape of the 600 MB file that reached SheetJS and cost 31 s and 694 MB before it failed.
    const bomb = zipBombLocalHeaders(600 * MB);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    expect(readZipDirectory(bomb).reduce((sum, e) => sum + e.uncompressedSize, 0)).toBeLessThan(1024);
    const started = Date.now();
    expect(await codeOf(extractChunks({ bytes: bomb, fileName: 'bomb.xlsx' }))).toBe('SHEET_CORRUPT');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('plain text', () => {
  it('splits paragraphs at blank lines with 1-based line locators and turns # lines into headings', () => {
    const doc = parseText('# Intro\n\nFirst line\nsecond line\n\n\nAnother paragraph.\n## Details\nMore.\n');
    expect(doc.blocks).toEqual([
      { kind: 'heading', text: 'Intro', locator: { kind: 'lines', from: 1, to: 1 }, heading: 'Intro' },
      {
        kind: 'paragraph',
        text: 'First line\nsecond line',
        locator: { kind: 'lines', from: 3, to: 4 },
        heading: 'Intro',
      },
      { kind: 'paragraph', text: 'Another paragraph.', locator: { kind: 'lines', from: 7, to: 7 }, heading: 'Intro' },
      { kind: 'heading', text: 'Details', locator: { kind: 'lines', from: 8, to: 8 }, heading: 'Details' },
      { kind: 'paragraph', text: 'More.', locator: { kind: 'lines', from: 9, to: 9 }, heading: 'Details' },
    ]);
    expect(doc.metadata.title).toBe('Intro');
  });

  it('counts CRLF and lone CR as one line each', () => {
    const doc = parseText('one\r\ntwo\r\n\r\nthree\rfour');
    expect(doc.blocks.map((b) => b.locator)).toEqual([
      { kind: 'lines', from: 1, to: 2 },
      { kind: 'lines', from: 4, to: 5 },
    ]);
  });

  it('recognises setext headings but not # lines inside code fences', () => {
    const doc = parseText('Title\n=====\n\n```\n# not a heading\n```\n');
    expect(doc.blocks[0]).toMatchObject({ kind: 'heading', text: 'Title', locator: { kind: 'lines', from: 1, to: 2 } });
    expect(doc.blocks.filter((b) => b.kind === 'heading')).toHaveLength(1);
  });

  it('cuts a long hard-wrapped paragraph into blocks at line boundaries', () => {
    const lines = Array.from(
      { length: 200 },
      (_, i) => `Line ${i + 1} of a long wrapped paragraph without blank lines.`,
    );
    const doc = parseText(lines.join('\n'));
    expect(doc.blocks.length).toBeGreaterThan(5);
    let expected = 1;
    for (const block of doc.blocks) {
      expect(block.locator).toMatchObject({ kind: 'lines', from: expected });
      if (block.locator.kind === 'lines') expected = block.locator.to + 1;
      expect(block.text.length).toBeLessThanOrEqual(1200);
    }
    expect(expected).toBe(201);
  });

  it('decodes UTF-16 and strips the byte order mark', () => {
    expect(decodeText(utf16Text('Grüße', 'be'), 'utf-16be')).toBe('Grüße');
    expect(decodeText(new Uint8Array(Buffer.from('\uFEFFhi')), 'utf-8')).toBe('hi');
  });

  it('extracts a markdown file end to end with line locators and headings', async () => {
    const text = '# Safety\n\nWear gloves.\nWear goggles.\n\n# Storage\n\nKeep dry.\n';
    const result = await extractChunks({ bytes: new Uint8Array(Buffer.from(text)), fileName: 'manual.md' });
    expect(result.document).toMatchObject({ kind: 'text', mediaType: 'text/markdown', metadata: { title: 'Safety' } });
    expect(result.chunks).toEqual([
      {
        index: 0,
        text: 'Safety\n\nWear gloves.\nWear goggles.',
        locator: { kind: 'lines', from: 1, to: 4 },
        heading: 'Safety',
        tokens: expect.any(Number),
      },
      {
        index: 1,
        text: 'Storage\n\nKeep dry.',
        locator: { kind: 'lines', from: 6, to: 8 },
        heading: 'Storage',
        tokens: expect.any(Number),
      },
    ]);
    expect(await extractInProcess({ bytes: new Uint8Array(Buffer.from(text)), fileName: 'manual.md' })).toEqual(result);
  });

  it('yields zero chunks for whitespace-only text and leaves NO_TEXT to the caller', async () => {
    const result = await extractInProcess({ bytes: new Uint8Array(Buffer.from('  \n\n\t\n')) });
    expect(result.chunks).toEqual([]);
  });
});

describe('contentHash', () => {
  it('is the SHA-256 hex digest of the bytes', () => {
    expect(contentHash(new Uint8Array(Buffer.from('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('PDF by content', () => {
  it('parses a PDF named .txt as a PDF', async () => {
    const pdf = await makeTextPdf([['The pump must be serviced every six months.']]);
    const result = await extractChunks({ bytes: pdf, fileName: 'notes.txt' });
    expect(result.document).toMatchObject({ kind: 'pdf', mediaType: 'application/pdf' });
    expect(result.chunks[0]).toMatchObject({ locator: { kind: 'page', page: 1 } });
    expect(result.chunks[0]?.text).toContain('serviced every six months');
  });
});
