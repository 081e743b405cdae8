// Answers from one spreadsheet cell: a question naming a row (by a label in it, e.g. "EMEA") and a column (by its
// header, e.g. "Q2" or "Revenue / Q2") is answered with that cell's value and cited by the cell's own address. Works
// on the chunk text as ingest renders a table (ingest/sheet): the header line `A | B | C` first, then one line
// `A: x; B: y; C: z` per spreadsheet row, and the chunk's locator `Sheet!A3:C5` spanning exactly those rows.
import { contentTokens } from './text';

export interface TableCellAnswer {
  /** The answer sentence, e.g. "EMEA, Q2: 1350 thousand euros". */
  text: string;
  /** The cell's locator, e.g. "Revenue!C3". */
  locator: string;
  /** Verbatim chunk text: the row line, or the `Q2: 1350` part when the row line is long. */
  quote: string;
  /** The whole row line of the chunk the cell is in. */
  row: string;
  value: string;
  unit?: string;
}

export interface SheetRange {
  /** The sheet part of the locator as written (quoted when the name needs it). */
  sheet: string;
  c1: number;
  r1: number;
  c2: number;
  r2: number;
}

const MAX_QUOTE = 300;
const looksNumeric = (v: string): boolean => /^[-+]?[\d.,]+%?$/.test(v);

/** `Sheet!A3:E5`, `'Q1 Sales'!B2` or `Sheet!C3` as a box of 1-based columns and rows; undefined for other locators. */
export function parseSheetLocator(locator: string): SheetRange | undefined {
  const m = /^('(?:[^']|'')+'|[A-Za-z0-9_.]+)!([A-Z]{1,3})(\d{1,7})(?::([A-Z]{1,3})(\d{1,7}))?$/.exec(locator);
  if (!m) return undefined;
  const c1 = columnNumber(m[2] as string);
  const r1 = Number(m[3]);
  const c2 = m[4] ? columnNumber(m[4]) : c1;
  const r2 = m[5] ? Number(m[5]) : r1;
  if (c2 < c1 || r2 < r1) return undefined;
  return { sheet: m[1] as string, c1, r1, c2, r2 };
}

/** Whether a single-cell locator lies inside a sheet range locator (same sheet). */
export function cellWithin(cell: string, range: string): boolean {
  const a = parseSheetLocator(cell);
  const b = parseSheetLocator(range);
  if (!a || !b || a.c1 !== a.c2 || a.r1 !== a.r2 || a.sheet !== b.sheet) return false;
  return a.c1 >= b.c1 && a.c1 <= b.c2 && a.r1 >= b.r1 && a.r1 <= b.r2;
}

function columnNumber(name: string): number {
  let c = 0;
  for (const ch of name) c = c * 26 + (ch.charCodeAt(0) - 64);
  return c;
}

function columnName(c: number): string {
  let name = '';
  for (let n = c; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
}

/** A row line's cells by column index, parsed against the known labels; undefined when it does not parse. */
function parseRow(
  line: string,
  labels: string[],
): Map<number, { value: string; start: number; end: number }> | undefined {
  const cells = new Map<number, { value: string; start: number; end: number }>();
  let pos = 0;
  let col = 0;
  while (pos < line.length) {
    let found = -1;
    for (let c = col; c < labels.length; c++) {
      if (line.startsWith(`${labels[c]}: `, pos)) {
        found = c;
        break;
      }
    }
    if (found < 0) return undefined;
    const valueStart = pos + (labels[found] as string).length + 2;
    // The value runs to the next "; Label: " of a later column, or to the end of the line.
    let end = line.length;
    for (let q = line.indexOf('; ', valueStart); q >= 0; q = line.indexOf('; ', q + 1)) {
      if (labels.slice(found + 1).some((l) => line.startsWith(`${l}: `, q + 2))) {
        end = q;
        break;
      }
    }
    cells.set(found, { value: line.slice(valueStart, end), start: pos, end });
    pos = end === line.length ? end : end + 2;
    col = found + 1;
  }
  return cells.size > 0 ? cells : undefined;
}

/** A unit stated in parentheses at the end of a text: "Unit price (USD)" → "USD". */
function trailingUnit(text: string): string | undefined {
  const m = /\(([^()]{1,40})\)\s*$/.exec(text);
  const unit = m?.[1]?.trim();
  return unit && /\p{L}/u.test(unit) ? unit : undefined;
}

/**
 * The single cell of a table chunk the question asks for, or undefined when the chunk is not a table chunk whose rows
 * map one to one onto its locator's rows, or when no row or no column matches the question unambiguously.
 *
 * Rows match by the question's content tokens found in their text cells (a row label such as "EMEA" or "Asia
 * Pacific"); columns by the tokens found in their header (two-row headers are `Group / Label`). The best row and the
 * best column must each be strictly better than the runner-up. The unit is the column header's trailing parenthesis,
 * else the chunk heading's (a title such as "Revenue by region (thousand euros)") when that heading shares a word with
 * the sheet name or the headers, so a title carried over from another table does not lend its unit; numbers only.
 */
export function findTableCell(
  question: string,
  chunk: { text: string; locator: string; heading?: string },
): TableCellAnswer | undefined {
  const range = parseSheetLocator(chunk.locator);
  if (!range) return undefined;
  const lines = chunk.text.split('\n');
  const width = range.c2 - range.c1 + 1;
  const headerLine = lines[0] ?? '';
  const labels = headerLine.split(' | ');
  if (labels.length !== width || labels.some((l) => l === '')) return undefined;
  const rowLines = lines.slice(1);
  if (rowLines.length !== range.r2 - range.r1 + 1) return undefined;
  const rows = rowLines.map((line) => parseRow(line, labels));
  if (rows.some((r) => r === undefined)) return undefined;

  const q = new Set(contentTokens(question));
  if (q.size === 0) return undefined;
  const hits = (text: string): Set<string> => new Set(contentTokens(text).filter((t) => q.has(t)));

  // Rows: question tokens found in their text (non-numeric) cells.
  const rowScores = rows.map((cells) => {
    const matched = new Set<string>();
    const labelCols = new Set<number>();
    for (const [c, cell] of cells ?? []) {
      if (looksNumeric(cell.value)) continue;
      const h = hits(cell.value);
      if (h.size === 0) continue;
      labelCols.add(c);
      for (const t of h) matched.add(t);
    }
    return { matched, labelCols };
  });
  const bestRow = uniqueBest(rowScores.map((s) => s.matched.size));
  if (bestRow === undefined) return undefined;
  const { matched: rowTokens, labelCols } = rowScores[bestRow] as (typeof rowScores)[number];
  const cells = rows[bestRow] as NonNullable<(typeof rows)[number]>;

  // Columns: question tokens, other than those naming the row, found in their header.
  const colScores = labels.map((label, c) => {
    if (labelCols.has(c) || !cells.has(c)) return 0;
    return [...hits(label)].filter((t) => !rowTokens.has(t)).length;
  });
  const bestCol = uniqueBest(colScores);
  if (bestCol === undefined) return undefined;

  const cell = cells.get(bestCol) as { value: string; start: number; end: number };
  const label = labels[bestCol] as string;
  const rowLine = rowLines[bestRow] as string;
  const headerWords = new Set(contentTokens(`${range.sheet} ${labels.join(' ')}`));
  const heading = chunk.heading?.replace(/\([^()]*\)\s*$/, '') ?? '';
  const headingUnit =
    chunk.heading && contentTokens(heading).some((t) => headerWords.has(t)) ? trailingUnit(chunk.heading) : undefined;
  const labelUnit = trailingUnit(label);
  const unit = looksNumeric(cell.value) ? (labelUnit ?? headingUnit) : undefined;
  // "Unit price (USD): 120" reads "Unit price: 120 USD": the unit is said once, after the value.
  const shownLabel = unit && labelUnit ? label.replace(/\s*\([^()]*\)\s*$/, '') : label;
  const rowName = [...labelCols].map((c) => cells.get(c)?.value).join(', ');
  const value = unit ? `${cell.value} ${unit}` : cell.value;
  const cellText = rowLine.slice(cell.start, cell.end);
  return {
    text: `${rowName}, ${shownLabel}: ${value}`,
    locator: `${range.sheet}!${columnName(range.c1 + bestCol)}${range.r1 + bestRow}`,
    quote: rowLine.length <= MAX_QUOTE ? rowLine : cellText,
    row: rowLine,
    value: cell.value,
    ...(unit ? { unit } : {}),
  };
}

/** The index of the single highest positive score; undefined when none is positive or the best is tied. */
function uniqueBest(scores: number[]): number | undefined {
  let best = -1;
  let tied = false;
  scores.forEach((s, i) => {
    if (s <= 0) return;
    if (best < 0 || s > (scores[best] as number)) {
      best = i;
      tied = false;
    } else if (s === scores[best]) tied = true;
  });
  return best < 0 || tied ? undefined : best;
}
