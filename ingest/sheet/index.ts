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
    if (new Set(row.filter(Boolean)).size < n * 0.8) continue; // a merged title repeated across the row
    if (filled(grid[r + 1]) > 0) return r;
  }
  return undefined;
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
    const header = findHeader(grid, width);
    const cols = grid[0]?.length ?? 0;
    const col = (c: number): string => XLSX.utils.encode_col(origin.c + c);
    const lastCol = col(cols - 1);
    let heading: string | undefined;
    const start = header === undefined ? 0 : header + 1;
    if (header !== undefined) {
      const titles = grid.slice(0, header).map((r) => [...new Set(r.filter(Boolean))].join(' ')).filter(Boolean);
      if (titles.length) {
        heading = titles.join(' / ');
        blocks.push({ kind: 'heading', text: heading, locator: { kind: 'sheet', sheet: name, range: `A${origin.r + 1}:${lastCol}${origin.r + header}` } });
      }
    }
    const labels = header === undefined ? undefined : (grid[header] as string[]).map((h, c) => h || col(c));
    const tableHeader = labels?.join(' | ');
    const headerKey = labels?.join('\u0000');
    for (let r = start; r < grid.length; r++) {
      const row = grid[r] as string[];
      if (filled(row) === 0) continue;
      if (headerKey && row.map((v, c) => v || col(c)).join('\u0000') === headerKey) continue; // repeated header block
      const text = labels
        ? row.map((v, c) => (v ? `${labels[c]}: ${v}` : '')).filter(Boolean).join('; ')
        : row.filter(Boolean).join(' | ');
      chars += text.length;
      const excelRow = origin.r + r + 1;
      blocks.push({ kind: 'row', text, locator: { kind: 'sheet', sheet: name, range: `${col(0)}${excelRow}:${lastCol}${excelRow}` }, heading, tableHeader, tableId: `${name}#1` });
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
