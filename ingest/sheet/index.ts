// Spreadsheets through SheetJS (xlsx, xlsm, xlsb, xls, ods, csv): every visible sheet, merged cells filled,
// the header row found (even below title rows), each data row rendered as header-qualified text with its
// cell range. Runs inside the isolated parser child (ingest/child.ts), which freezes prototypes first.
import * as XLSX from 'xlsx';
import { IngestError } from '../errors';
import { normalizeInline } from '../pdf/normalize';
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

function readGrid(ws: XLSX.WorkSheet, date1904: boolean, budget: { cells: number; max: number }): { grid: Grid; origin: XLSX.CellAddress } {
  const ref = ws['!ref'];
  if (!ref) return { grid: [], origin: { r: 0, c: 0 } };
  const range = XLSX.utils.decode_range(ref);
  const rows = range.e.r - range.s.r + 1;
  const cols = range.e.c - range.s.c + 1;
  budget.cells += rows * cols;
  if (budget.cells > budget.max) throw new IngestError('TOO_MANY_CELLS', `The workbook has more than ${budget.max} cells.`);
  const grid: Grid = [];
  for (let r = 0; r < rows; r++) {
    const row: string[] = [];
    for (let c = 0; c < cols; c++) {
      const addr = XLSX.utils.encode_cell({ r: range.s.r + r, c: range.s.c + c });
      row.push(cellText(ws[addr] as XLSX.CellObject | undefined, date1904));
    }
    grid.push(row);
  }
  // Merged ranges: the value applies to every covered cell.
  for (const m of ws['!merges'] ?? []) {
    const v = grid[m.s.r - range.s.r]?.[m.s.c - range.s.c] ?? '';
    for (let r = m.s.r; r <= m.e.r; r++) for (let c = m.s.c; c <= m.e.c; c++) {
      const row = grid[r - range.s.r];
      if (row && c - range.s.c < row.length) row[c - range.s.c] = v;
    }
  }
  return { grid, origin: range.s };
}

const filled = (row: string[] | undefined): number => (row ?? []).filter((v) => v !== '').length;
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

/** Runs of rows [from, to) that contain data, split at fully blank rows. */
function segments(grid: Grid): [number, number][] {
  const out: [number, number][] = [];
  let from = -1;
  grid.forEach((row, r) => {
    if (filled(row) > 0 && from < 0) from = r;
    if (filled(row) === 0 && from >= 0) {
      out.push([from, r]);
      from = -1;
    }
  });
  if (from >= 0) out.push([from, grid.length]);
  return out;
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

export function parseSpreadsheet(bytes: Uint8Array, options: SheetOptions): ParsedDocument {
  let wb: XLSX.WorkBook;
  try {
    wb = XLSX.read(bytes, { type: 'array', cellDates: false, cellNF: true, password: options.password } as XLSX.ParsingOptions);
  } catch (err) {
    const message = err instanceof Error ? err.message : '';
    if (/password|encrypt/i.test(message)) throw new IngestError('SHEET_ENCRYPTED', 'The workbook is password-protected.');
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
    const { grid, origin } = readGrid(ws, date1904, budget);
    const width = Math.max(0, ...grid.map(filled));
    if (width === 0) return;
    const cols = grid[0]?.length ?? 0;
    const col = (c: number): string => XLSX.utils.encode_col(origin.c + c);
    const lastCol = col(cols - 1);
    // Several tables on one sheet: fully blank rows separate them; each gets its own header and tableId.
    // A lone short row (a title) between tables becomes the heading of the table below it.
    let heading: string | undefined;
    let tableNo = 0;
    for (const [r0, r1] of segments(grid)) {
      const part = grid.slice(r0, r1);
      if (part.length === 1 && filled(part[0]) <= 2 && r1 < grid.length) {
        heading = [...new Set((part[0] as string[]).filter(Boolean))].join(' ');
        blocks.push({ kind: 'heading', text: heading, locator: { kind: 'sheet', sheet: name, range: `${col(0)}${origin.r + r0 + 1}:${lastCol}${origin.r + r0 + 1}` } });
        continue;
      }
      tableNo += 1;
      const header = findHeader(part, Math.max(...part.map(filled)));
      if (header !== undefined && header > 0) {
        const titles = part.slice(0, header).map((r) => [...new Set(r.filter(Boolean))].join(' ')).filter(Boolean);
        if (titles.length) {
          heading = titles.join(' / ');
          blocks.push({ kind: 'heading', text: heading, locator: { kind: 'sheet', sheet: name, range: `${col(0)}${origin.r + r0 + 1}:${lastCol}${origin.r + r0 + header}` } });
        }
      }
      const headerRows = header === undefined ? 0 : multiRowHeader(part, header) ? 2 : 1;
      const labels = header === undefined ? undefined : headerLabels(part, header, headerRows, col);
      const tableHeader = labels?.join(' | ');
      const headerKeys = header === undefined ? [] : part.slice(header, header + headerRows).map((row) => row.map((v, c) => v || col(c)).join('\u0000'));
      for (let r = header === undefined ? 0 : header + headerRows; r < part.length; r++) {
        const row = part[r] as string[];
        if (filled(row) === 0) continue;
        if (headerKeys.includes(row.map((v, c) => v || col(c)).join('\u0000'))) continue; // repeated header block
        const text = labels ? row.map((v, c) => (v ? `${labels[c]}: ${v}` : '')).filter(Boolean).join('; ') : row.filter(Boolean).join(' | ');
        chars += text.length;
        const excelRow = origin.r + r0 + r + 1;
        blocks.push({ kind: 'row', text, locator: { kind: 'sheet', sheet: name, range: `${col(0)}${excelRow}:${lastCol}${excelRow}` }, heading, tableHeader, tableId: `${name}#${tableNo}` });
      }
    }
  });
  const props = wb.Props ?? {};
  const metadata: DocumentMetadata = {
    title: props.Title || undefined,
    author: props.Author || undefined,
    createdAt: props.CreatedDate instanceof Date && !Number.isNaN(props.CreatedDate.getTime()) ? props.CreatedDate.toISOString() : undefined,
    modifiedAt: props.ModifiedDate instanceof Date && !Number.isNaN(props.ModifiedDate.getTime()) ? props.ModifiedDate.toISOString() : undefined,
    sheetNames: wb.SheetNames,
  };
  return { kind: 'spreadsheet', mediaType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', metadata, blocks, warnings, stats: { sheets: wb.SheetNames.length, cells: budget.cells, chars } };
}
