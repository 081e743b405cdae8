// Spreadsheets through SheetJS (xlsx, xlsm, xlsb, xls, ods) and CSV through parseCsv: every visible sheet, merged
// cells filled, tables found (split at blank rows and blank columns), the header row found (even below title rows),
// each data row rendered as header-qualified text with its cell range. Runs inside the isolated parser child
// (ingest/child.ts), which freezes prototypes first.
import './codepages'; // before xlsx: its codepage tables load at first use (see codepages.ts)
import * as XLSX from 'xlsx';
import { IngestError } from '../errors';
import { normalizeInline } from '../normalize';
import { detectDelimiter } from '../sniff';
import type { Block, DocumentMetadata, IngestWarning, ParsedDocument } from '../types';

export interface SheetOptions {
  includeHiddenSheets?: boolean;
  maxCells: number;
  password?: string;
}

type Grid = string[][];

function cellText(cell: XLSX.CellObject | undefined, date1904: boolean): string {
  if (!cell) return '';
  if (cell.t === 'e') return `${cell.w ?? '#ERROR'} (error)`;
  if (cell.t === 'b') return cell.v ? 'TRUE' : 'FALSE';
  if (cell.t === 'd' && cell.v instanceof Date) return isoDate(cell.v);
  if (cell.t === 'n' && typeof cell.v === 'number' && cell.z && XLSX.SSF.is_date(cell.z)) {
    const d = XLSX.SSF.parse_date_code(cell.v, { date1904 });
    if (d) {
      const day = `${d.y}-${String(d.m).padStart(2, '0')}-${String(d.d).padStart(2, '0')}`;
      return d.H || d.M || d.S ? `${day} ${String(d.H).padStart(2, '0')}:${String(d.M).padStart(2, '0')}` : day;
    }
  }
  const w = cell.w ?? (cell.v === undefined || cell.v === null ? '' : String(cell.v));
  return normalizeInline(w);
}

function isoDate(d: Date): string {
  const iso = d.toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.slice(0, 16).replace('T', ' ');
}

/** A sheet's cells as display text, and the cells that lie inside a merge spanning several columns (see colRuns). */
interface SheetGrid {
  grid: Grid;
  origin: XLSX.CellAddress;
  /** Row-major over the grid, 1 where a multi-column merge covers the cell; undefined when there is none. */
  spanned: Uint8Array | undefined;
}

function readGrid(ws: XLSX.WorkSheet, date1904: boolean, budget: { cells: number; max: number }): SheetGrid {
  const ref = ws['!ref'];
  if (!ref) return { grid: [], origin: { r: 0, c: 0 }, spanned: undefined };
  const range = XLSX.utils.decode_range(ref);
  const rows = range.e.r - range.s.r + 1;
  const cols = range.e.c - range.s.c + 1;
  budget.cells += rows * cols;
  if (budget.cells > budget.max)
    throw new IngestError('TOO_MANY_CELLS', `The workbook has more than ${budget.max} cells.`);
  const grid: Grid = [];
  for (let r = 0; r < rows; r++) {
    const row: string[] = [];
    for (let c = 0; c < cols; c++) {
      const addr = XLSX.utils.encode_cell({ r: range.s.r + r, c: range.s.c + c });
      row.push(cellText(ws[addr] as XLSX.CellObject | undefined, date1904));
    }
    grid.push(row);
  }
  // Merged ranges: the value applies to every covered cell. A merge over several columns also holds its columns
  // together when tables are split at blank columns, even when the merged cell is empty.
  let spanned: Uint8Array | undefined;
  for (const m of ws['!merges'] ?? []) {
    const v = grid[m.s.r - range.s.r]?.[m.s.c - range.s.c] ?? '';
    const wide = m.e.c > m.s.c;
    if (wide) spanned ??= new Uint8Array(rows * cols);
    for (let r = Math.max(m.s.r, range.s.r); r <= Math.min(m.e.r, range.e.r); r++) {
      for (let c = Math.max(m.s.c, range.s.c); c <= Math.min(m.e.c, range.e.c); c++) {
        const row = grid[r - range.s.r] as string[];
        row[c - range.s.c] = v;
        if (wide && spanned) spanned[(r - range.s.r) * cols + (c - range.s.c)] = 1;
      }
    }
  }
  return { grid, origin: range.s, spanned };
}

const filled = (row: string[] | undefined): number => (row ?? []).filter((v) => v !== '').length;
/** A title row's text: its distinct values (a merged title repeats across the covered cells), in order. */
const titleOf = (row: string[]): string => [...new Set(row.filter(Boolean))].join(' ');
const looksNumeric = (v: string): boolean => /^[-+]?[\d.,]+%?$/.test(v);

/** First row, of the first few, whose cells are mostly text labels and that has data below it. */
function findHeader(grid: Grid, width: number): number | undefined {
  for (let r = 0; r < Math.min(grid.length - 1, 10); r++) {
    const row = grid[r] as string[];
    const n = filled(row);
    if (n < 2 || n < Math.ceil(width * 0.5)) continue;
    if (row.filter((v) => v && looksNumeric(v)).length > n / 2) continue;
    if (new Set(row.filter(Boolean)).size === 1) continue; // one merged title repeated across the row
    if (filled(grid[r + 1]) > 0) return r;
  }
  return undefined;
}

/**
 * A two-row header: the upper row has a merged group label (adjacent equal cells after merge filling) and the
 * row below it is text labels too, e.g. "Region | Sales | Sales" over "| Q1 | Q2".
 */
function multiRowHeader(part: Grid, header: number): boolean {
  const top = part[header] as string[];
  const below = part[header + 1];
  if (!below || part.length < header + 3) return false;
  const grouped = top.some((v, c) => v !== '' && c > 0 && top[c - 1] === v);
  const texts = below.filter((v) => v !== '');
  return grouped && texts.length >= 2 && texts.every((v) => !looksNumeric(v));
}

function headerLabels(part: Grid, header: number, rows: number, col: (c: number) => string): string[] {
  const top = part[header] as string[];
  if (rows === 1) return top.map((h, c) => h || col(c));
  const below = part[header + 1] as string[];
  return top.map((h, c) => {
    const b = below[c] ?? '';
    if (h && b && h !== b) return `${h} / ${b}`;
    return h || b || col(c);
  });
}

/** A rectangle of the grid: rows [r0, r1) and columns [c0, c1), 0-based from the grid's origin. */
interface Region {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
}

/** Runs of rows that have data within the region's columns, split at rows blank there. */
function rowRuns(grid: Grid, g: Region): Region[] {
  const out: Region[] = [];
  let from = -1;
  for (let r = g.r0; r < g.r1; r++) {
    const row = grid[r] as string[];
    let data = false;
    for (let c = g.c0; c < g.c1 && !data; c++) data = row[c] !== '';
    if (data && from < 0) from = r;
    if (!data && from >= 0) {
      out.push({ r0: from, r1: r, c0: g.c0, c1: g.c1 });
      from = -1;
    }
  }
  if (from >= 0) out.push({ r0: from, r1: g.r1, c0: g.c0, c1: g.c1 });
  return out;
}

/**
 * Runs of columns that have data within the region's rows, split at columns blank over all of them. A column under a
 * merge spanning several columns counts as not blank, so a merged cell is never cut in two.
 */
function colRuns(sheet: SheetGrid, g: Region): Region[] {
  const { grid, spanned } = sheet;
  const width = grid[0]?.length ?? 0;
  const out: Region[] = [];
  let from = -1;
  for (let c = g.c0; c < g.c1; c++) {
    let data = false;
    for (let r = g.r0; r < g.r1 && !data; r++) data = (grid[r] as string[])[c] !== '' || spanned?.[r * width + c] === 1;
    if (data && from < 0) from = c;
    if (!data && from >= 0) {
      out.push({ r0: g.r0, r1: g.r1, c0: from, c1: c });
      from = -1;
    }
  }
  if (from >= 0) out.push({ r0: g.r0, r1: g.r1, c0: from, c1: g.c1 });
  return out;
}

/** Rounds of splitting (blank rows, then blank columns) before a piece is taken as one table whatever its gaps. */
const MAX_SPLIT_DEPTH = 8;

/**
 * Appends the blocks of one sheet's grid and returns the characters of row text. Several tables on one sheet: fully
 * blank rows separate tables stacked on each other, fully blank columns (over those rows) tables side by side; each
 * piece is split again the other way (a left table may be taller than the right one), so pieces come top to bottom,
 * and the tables side by side in one band of rows left to right, each band's own pieces top to bottom. Every table
 * gets its own header, tableId and locators within its own columns. A lone short row (a title) followed by a table
 * becomes the heading of what follows it; tables side by side inherit the heading above their band, not each other's.
 */
function sheetBlocks(name: string, sheet: SheetGrid, blocks: Block[]): number {
  const { grid, origin } = sheet;
  const col = (c: number): string => XLSX.utils.encode_col(origin.c + c);
  const line = (r: number): number => origin.r + r + 1;
  const locator = (g: Region, r0: number, r1: number): Block['locator'] => ({
    kind: 'sheet',
    sheet: name,
    range: `${col(g.c0)}${line(r0)}:${col(g.c1 - 1)}${line(r1 - 1)}`,
  });
  let tableNo = 0;
  let chars = 0;

  const table = (g: Region, followed: boolean, context: { heading?: string }): void => {
    const part = grid.slice(g.r0, g.r1).map((row) => row.slice(g.c0, g.c1));
    const pcol = (c: number): string => col(g.c0 + c);
    if (part.length === 1 && filled(part[0]) <= 2 && followed) {
      context.heading = titleOf(part[0] as string[]);
      blocks.push({ kind: 'heading', text: context.heading, locator: locator(g, g.r0, g.r0 + 1) });
      return;
    }
    tableNo += 1;
    const header = findHeader(
      part,
      part.reduce((max, row) => Math.max(max, filled(row)), 0),
    );
    if (header !== undefined && header > 0) {
      const titles = part.slice(0, header).map(titleOf).filter(Boolean);
      if (titles.length) {
        context.heading = titles.join(' / ');
        blocks.push({ kind: 'heading', text: context.heading, locator: locator(g, g.r0, g.r0 + header) });
      }
    }
    const headerRows = header === undefined ? 0 : multiRowHeader(part, header) ? 2 : 1;
    const labels = header === undefined ? undefined : headerLabels(part, header, headerRows, pcol);
    const tableHeader = labels?.join(' | ');
    const headerKeys =
      header === undefined
        ? []
        : part.slice(header, header + headerRows).map((row) => row.map((v, c) => v || pcol(c)).join('\u0000'));
    for (let r = header === undefined ? 0 : header + headerRows; r < part.length; r++) {
      const row = part[r] as string[];
      if (filled(row) === 0) continue;
      if (headerKeys.includes(row.map((v, c) => v || pcol(c)).join('\u0000'))) continue; // repeated header block
      const text = labels
        ? row
            .map((v, c) => (v ? `${labels[c]}: ${v}` : ''))
            .filter(Boolean)
            .join('; ')
        : row.filter(Boolean).join(' | ');
      chars += text.length;
      blocks.push({
        kind: 'row',
        text,
        locator: locator(g, g.r0 + r, g.r0 + r + 1),
        heading: context.heading,
        tableHeader,
        tableId: `${name}#${tableNo}`,
      });
    }
  };

  const walk = (g: Region, depth: number, context: { heading?: string }): void => {
    const runs = rowRuns(grid, g);
    runs.forEach((run, i) => {
      const bands = colRuns(sheet, run);
      const first = bands[0];
      const last = bands[bands.length - 1];
      if (!first || !last) return;
      // One band: its rows are the run's, all with data, so it is a table (or a title); at the depth limit the
      // pieces stay together as one table.
      if (bands.length === 1 || depth >= MAX_SPLIT_DEPTH) {
        table({ r0: run.r0, r1: run.r1, c0: first.c0, c1: last.c1 }, i < runs.length - 1, context);
        return;
      }
      for (const band of bands) walk(band, depth + 1, { heading: context.heading });
    });
  };

  walk({ r0: 0, r1: grid.length, c0: 0, c1: grid[0]?.length ?? 0 }, 0, {});
  return chars;
}

export function parseSpreadsheet(bytes: Uint8Array, options: SheetOptions): ParsedDocument {
  let wb: XLSX.WorkBook;
  try {
    wb = XLSX.read(bytes, {
      type: 'array',
      cellDates: false,
      cellNF: true,
      password: options.password,
    } as XLSX.ParsingOptions);
  } catch (err) {
    const message = err instanceof Error ? err.message : '';
    if (/password|encrypt/i.test(message))
      throw new IngestError('SHEET_ENCRYPTED', 'The workbook is password-protected.');
    throw new IngestError('SHEET_CORRUPT', 'The workbook is damaged or not a spreadsheet SheetJS can read.');
  }
  const date1904 = Boolean(wb.Workbook?.WBProps?.date1904);
  const warnings: IngestWarning[] = [];
  const blocks: Block[] = [];
  const budget = { cells: 0, max: options.maxCells };
  let chars = 0;
  wb.SheetNames.forEach((name, sheetIndex) => {
    const hidden = wb.Workbook?.Sheets?.[sheetIndex]?.Hidden ?? 0;
    if (hidden && !options.includeHiddenSheets) {
      warnings.push({ code: 'HIDDEN_SHEET_SKIPPED', message: `Sheet ${sheetIndex + 1} is hidden and was skipped.` });
      return;
    }
    const ws = wb.Sheets[name];
    if (!ws) return;
    chars += sheetBlocks(name, readGrid(ws, date1904, budget), blocks);
  });
  const props = wb.Props ?? {};
  const metadata: DocumentMetadata = {
    title: props.Title || undefined,
    author: props.Author || undefined,
    createdAt:
      props.CreatedDate instanceof Date && !Number.isNaN(props.CreatedDate.getTime())
        ? props.CreatedDate.toISOString()
        : undefined,
    modifiedAt:
      props.ModifiedDate instanceof Date && !Number.isNaN(props.ModifiedDate.getTime())
        ? props.ModifiedDate.toISOString()
        : undefined,
    sheetNames: wb.SheetNames,
  };
  return {
    kind: 'spreadsheet',
    mediaType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    metadata,
    blocks,
    warnings,
    stats: { sheets: wb.SheetNames.length, cells: budget.cells, chars },
  };
}

// ---------- CSV ----------

export interface CsvOptions {
  /** The delimiter the sniffer found (ingest/sniff.ts detectDelimiter); detected here when absent. */
  delimiter?: string;
  maxCells: number;
}

/** The sheet name SheetJS gives a CSV file; CSV locators use it too, e.g. Sheet1!A2:C2. */
const CSV_SHEET_NAME = 'Sheet1';

/**
 * CSV (or TSV, or any single-character delimiter) already decoded to text, split with the sniffed delimiter and
 * rendered like a one-sheet workbook (header detection, several tables, locators such as Sheet1!A2:C2).
 *
 * Decision: CSV does not go through XLSX.read. SheetJS guesses the delimiter by counting candidates in the first
 * 1 KB (a short semicolon file whose header has more commas than semicolons is split on commas), picks another format
 * by the first bytes (a file starting with "TABL" is read as DIF and comes out empty, one starting with "<" as HTML),
 * and converts values: "0,05" becomes the number 5 and 01.02.2024 the date 2 January (month first). Here every field
 * stays text exactly as written (quotes removed, "" unescaped), which is what a person sees in the file; quoted fields
 * keep delimiters and line breaks. An Excel "sep=;" first line sets the delimiter and is not a row, as in Excel.
 */
export function parseCsv(text: string, options: CsvOptions): ParsedDocument {
  let body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const sep = /^sep=([^"\r\n])(?:\r\n|\n|\r)/i.exec(body);
  if (sep) body = body.slice(sep[0].length);
  const given = sep?.[1] ?? options.delimiter;
  const delimiter =
    given && given.length === 1 && !'"\r\n'.includes(given) ? given : (detectDelimiter(body, true) ?? ',');
  const records = readCsv(body, delimiter, options.maxCells);
  const width = records.reduce((max, record) => Math.max(max, record.length), 0);
  const cells = records.length * width;
  if (cells > options.maxCells)
    throw new IngestError('TOO_MANY_CELLS', `The workbook has more than ${options.maxCells} cells.`);
  const grid: Grid = records.map((record) => {
    const row = record.map(normalizeInline);
    while (row.length < width) row.push('');
    return row;
  });
  const blocks: Block[] = [];
  const chars = sheetBlocks(CSV_SHEET_NAME, { grid, origin: { r: 0, c: 0 }, spanned: undefined }, blocks);
  return {
    kind: 'spreadsheet',
    mediaType: 'text/csv',
    metadata: { sheetNames: [CSV_SHEET_NAME] },
    blocks,
    warnings: [],
    stats: { sheets: 1, cells, chars },
  };
}

/** RFC 4180 records: a field starting with a quote runs to the closing quote ("" is a quote); CRLF, LF or CR end a record. */
function readCsv(text: string, delimiter: string, maxCells: number): string[][] {
  const d = delimiter.charCodeAt(0);
  const records: string[][] = [];
  let record: string[] = [];
  let cells = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    let value = '';
    if (text.charCodeAt(i) === 0x22) {
      let j = i + 1;
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) {
          value += text.slice(j); // unterminated: the rest of the text
          i = n;
          break;
        }
        value += text.slice(j, q);
        if (text.charCodeAt(q + 1) === 0x22) {
          value += '"';
          j = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      if (value.includes('\r')) value = value.replace(/\r\n?/g, '\n'); // a line break inside quotes, as LF
    }
    let j = i;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c === d || c === 0x0a || c === 0x0d) break;
      j++;
    }
    value += text.slice(i, j); // anything after a closing quote is kept, as spreadsheet programs do
    record.push(value);
    cells += 1;
    if (cells > maxCells) throw new IngestError('TOO_MANY_CELLS', `The workbook has more than ${maxCells} cells.`);
    i = j;
    if (i >= n) break;
    if (text.charCodeAt(i) === d) {
      i += 1;
      if (i === n) record.push('');
      continue;
    }
    i += text.charCodeAt(i) === 0x0d && text.charCodeAt(i + 1) === 0x0a ? 2 : 1;
    records.push(record);
    record = [];
  }
  if (record.length) records.push(record);
  return records;
}
