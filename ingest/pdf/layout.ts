// Page layout from positioned text: lines rebuilt from pdf.js text items, reading order across columns, tables
// kept row by row, headings recognised by font size. Pure functions over coordinates, so they are unit-tested
// without a PDF (test/ingest/pdf-layout.test.ts) and run inside the isolated parser child.
//
// Coordinates are viewport units (1/72 inch) with y growing downwards; `y` of an item is its baseline.

/** One pdf.js text item, reduced to what layout needs. */
export interface PositionedText {
  str: string;
  x: number;
  y: number;
  width: number;
  /** Font size (em height) in the same units. */
  size: number;
}

/** A run of text on one line, separated from its neighbours by a gap wider than a word space. */
export interface Segment {
  x0: number;
  x1: number;
  text: string;
}

/** A line: items sharing a baseline, split into segments at wide gaps. */
export interface Line {
  y: number;
  size: number;
  segments: Segment[];
}

export type PageElement =
  | { kind: 'text'; text: string; y: number; size: number; gapBefore: number }
  | { kind: 'table'; header: string[] | undefined; rows: string[][] };

/** Gap between items, in ems, above which a space is inserted. pdf.js usually supplies spaces itself. */
const SPACE_GAP_EM = 0.15;
/** Gap, in ems, that separates segments (table cells, columns) rather than words. */
const SEGMENT_GAP_EM = 0.8;
/** Baselines closer than this fraction of the font size are one line. */
const SAME_LINE_EM = 0.45;

/** The plain text of a line, for header/footer detection and pages without geometry. */
export const lineText = (line: Line): string => line.segments.map((s) => s.text).join(' ');

/** Intervals sorted by start and merged where they overlap. */
function mergeIntervals(spans: [number, number][]): [number, number][] {
  const merged: [number, number][] = [];
  for (const [a, b] of [...spans].sort((p, q) => p[0] - q[0])) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged;
}

/** Groups items into lines (top to bottom) and each line into segments (left to right). */
export function buildLines(items: readonly PositionedText[]): Line[] {
  const visible = items.filter((i) => i.str.length > 0 && Number.isFinite(i.x) && Number.isFinite(i.y));
  const sorted = [...visible].sort((a, b) => a.y - b.y || a.x - b.x);
  const groups: PositionedText[][] = [];
  let current: PositionedText[] = [];
  let baseline = Number.NaN;
  let size = 0;
  for (const item of sorted) {
    const em = Math.max(item.size, 1);
    if (current.length > 0 && Math.abs(item.y - baseline) <= SAME_LINE_EM * Math.max(em, size)) {
      current.push(item);
      continue;
    }
    if (current.length > 0) groups.push(current);
    current = [item];
    baseline = item.y;
    size = em;
  }
  if (current.length > 0) groups.push(current);

  const lines: Line[] = [];
  for (const group of groups) {
    group.sort((a, b) => a.x - b.x);
    const segments: Segment[] = [];
    let seg: Segment | undefined;
    let pendingSpace = false;
    let sizes = 0;
    let chars = 0;
    for (const item of group) {
      const em = Math.max(item.size, 1);
      if (item.str.trim().length === 0) {
        pendingSpace = true;
        continue;
      }
      sizes += em * item.str.length;
      chars += item.str.length;
      const gap = seg ? item.x - seg.x1 : 0;
      if (!seg || gap > SEGMENT_GAP_EM * em) {
        if (seg) segments.push(seg);
        seg = { x0: item.x, x1: item.x + Math.max(item.width, 0), text: item.str };
      } else {
        const space = pendingSpace || gap > SPACE_GAP_EM * em;
        seg.text += space && !/\s$/.test(seg.text) && !/^\s/.test(item.str) ? ` ${item.str}` : item.str;
        seg.x1 = Math.max(seg.x1, item.x + Math.max(item.width, 0));
      }
      pendingSpace = false;
    }
    if (seg) segments.push(seg);
    const cleaned = segments
      .map((s) => ({ ...s, text: s.text.replace(/\s+/g, ' ').trim() }))
      .filter((s) => s.text.length > 0);
    if (cleaned.length === 0) continue;
    lines.push({ y: group[0]?.y ?? 0, size: chars > 0 ? sizes / chars : 0, segments: cleaned });
  }
  return lines;
}

interface Gutter {
  x: number;
}

/**
 * A vertical gutter between columns in [from, to], if the lines have one: an x crossed by few lines (headings and
 * captions that span the columns) with at least three lines of prose-width segments on each side.
 */
export function findGutter(lines: readonly Line[], from: number, to: number): Gutter | undefined {
  if (lines.length < 4) return undefined;
  const width = to - from;
  if (width <= 0) return undefined;
  const lo = Math.floor(from + width * 0.2);
  const hi = Math.ceil(to - width * 0.2);
  if (hi <= lo) return undefined;
  // How many lines cover each integer x in [lo, hi]: a difference array over each line's merged covered spans,
  // so a line counts once even where its segments overlap. Linear in segments plus width.
  const crossings = new Array<number>(hi - lo + 2).fill(0);
  for (const line of lines) {
    const spans = line.segments
      .map((s): [number, number] => [Math.max(lo, Math.ceil(s.x0)), Math.min(hi, Math.floor(s.x1))])
      .filter(([a, b]) => a <= b);
    for (const [a, b] of mergeIntervals(spans)) {
      crossings[a - lo] = (crossings[a - lo] ?? 0) + 1;
      crossings[b - lo + 1] = (crossings[b - lo + 1] ?? 0) - 1;
    }
  }
  crossings.pop();
  for (let i = 1; i < crossings.length; i++) crossings[i] = (crossings[i] ?? 0) + (crossings[i - 1] ?? 0);
  const min = Math.min(...crossings);
  if (min > lines.length * 0.25) return undefined;
  // The widest run of x at the minimum; its middle is the gutter.
  let best: [number, number] | undefined;
  let start = -1;
  for (let i = 0; i <= crossings.length; i++) {
    if (i < crossings.length && crossings[i] === min) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (!best || i - start > best[1] - best[0]) best = [start, i];
      start = -1;
    }
  }
  if (!best) return undefined;
  const x = lo + (best[0] + best[1] - 1) / 2;
  // A gutter is at least half an em of empty space.
  const em = median(lines.map((l) => l.size)) || 10;
  if (best[1] - best[0] < em * 0.5) return undefined;

  // Each side of each line: its extent and characters.
  const sides: { l: { extent: number; chars: number }[]; r: { extent: number; chars: number }[] } = { l: [], r: [] };
  let leftStart = Number.POSITIVE_INFINITY;
  let rightEnd = Number.NEGATIVE_INFINITY;
  for (const line of lines) {
    const l = line.segments.filter((s) => s.x1 <= x);
    const r = line.segments.filter((s) => s.x0 >= x);
    for (const s of l) leftStart = Math.min(leftStart, s.x0);
    for (const s of r) rightEnd = Math.max(rightEnd, s.x1);
    const side = (segs: Segment[]): { extent: number; chars: number } => ({
      extent: Math.max(...segs.map((s) => s.x1)) - Math.min(...segs.map((s) => s.x0)),
      chars: segs.reduce((n, s) => n + s.text.length, 0),
    });
    if (l.length > 0) sides.l.push(side(l));
    if (r.length > 0) sides.r.push(side(r));
  }
  if (sides.l.length < 3 || sides.r.length < 3) return undefined;
  // Columns of prose are filled with long lines; table columns and form fields are not. One side of prose is enough
  // (the other may hold a code listing or a figure's labels), which is how two-column papers tell from tables.
  const prose = (list: { extent: number; chars: number }[], span: number): boolean =>
    list.length >= 3 &&
    span > 0 &&
    median(list.map((v) => v.extent / span)) >= 0.6 &&
    median(list.map((v) => v.chars)) >= 25;
  if (!prose(sides.l, x - leftStart) && !prose(sides.r, rightEnd - x)) return undefined;
  return { x };
}

export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * Lines in reading order. Where the page has columns, each band between lines that span the columns is read column
 * by column, left to right (recursively, so three columns work too).
 */
export function readingOrder(lines: readonly Line[], from: number, to: number, depth = 0): Line[] {
  const gutter = depth < 3 ? findGutter(lines, from, to) : undefined;
  if (!gutter) return [...lines];
  const out: Line[] = [];
  let left: Line[] = [];
  let right: Line[] = [];
  const flush = (): void => {
    out.push(...readingOrder(left, from, gutter.x, depth + 1), ...readingOrder(right, gutter.x, to, depth + 1));
    left = [];
    right = [];
  };
  for (const line of lines) {
    const l = line.segments.filter((s) => s.x1 <= gutter.x);
    const r = line.segments.filter((s) => s.x0 >= gutter.x);
    // A line crossing the gutter spans the columns (a title, a wide figure caption); so does a row of a wide table,
    // which has cells on both sides of it.
    const spans = line.segments.some((s) => s.x0 < gutter.x && s.x1 > gutter.x) || (l.length >= 2 && r.length >= 2);
    if (spans) {
      flush();
      out.push(line);
      continue;
    }
    if (l.length > 0) left.push({ ...line, segments: l });
    if (r.length > 0) right.push({ ...line, segments: r });
  }
  flush();
  return out;
}

/** Column intervals of a run of lines: the union of their segments' x ranges, merged where they overlap. */
function columnsOf(lines: readonly Line[]): [number, number][] {
  return mergeIntervals(lines.flatMap((l) => l.segments.map((s): [number, number] => [s.x0, s.x1])));
}

/** Cells of a line placed in the table's columns, or undefined if two segments fall into one column. */
function cellsOf(line: Line, columns: readonly [number, number][]): string[] | undefined {
  const cells = new Array<string>(columns.length).fill('');
  for (const s of line.segments) {
    const index = columns.findIndex(([a, b]) => s.x0 >= a - 0.5 && s.x1 <= b + 0.5);
    if (index < 0 || cells[index] !== '') return undefined;
    cells[index] = s.text;
  }
  return cells;
}

const NUMERIC = /^[-+−(]?[$€£¥]?\s?\d[\d.,\s]*%?\)?$/;

/**
 * A header row: short labels, none of them a number, at most the first cell empty (the corner above a column of row
 * labels).
 */
function looksLikeHeader(cells: readonly string[]): boolean {
  const empty = cells.filter((c) => c.length === 0).length;
  if (empty > 1 || (empty === 1 && cells[0] !== '')) return false;
  return cells.every((c) => c.length === 0 || (!NUMERIC.test(c) && c.length <= 40 && c.split(/\s+/).length <= 5));
}

/**
 * Groups ordered lines into text lines and tables. A table is a run of at least three lines of two or more
 * segments whose segments line up in the same columns; its first row is the header when it reads like one.
 */
export function toElements(lines: readonly Line[]): PageElement[] {
  const out: PageElement[] = [];
  let i = 0;
  let previousY: number | undefined;
  while (i < lines.length) {
    let j = i;
    while (j < lines.length && (lines[j] as Line).segments.length >= 2) j++;
    const run = lines.slice(i, j);
    if (run.length >= 3) {
      const columns = columnsOf(run);
      const rows = run.map((l) => cellsOf(l, columns));
      if (columns.length >= 2 && rows.every((r) => r !== undefined)) {
        const cells = rows as string[][];
        const isHeader = looksLikeHeader(cells[0] as string[]);
        out.push({ kind: 'table', header: isHeader ? cells[0] : undefined, rows: isHeader ? cells.slice(1) : cells });
        previousY = (run[run.length - 1] as Line).y;
        i = j;
        continue;
      }
    }
    // Not a table: the line's segments read left to right as ordinary text.
    const line = lines[i] as Line;
    out.push({
      kind: 'text',
      text: lineText(line),
      y: line.y,
      size: line.size,
      gapBefore: previousY === undefined ? 0 : line.y - previousY,
    });
    previousY = line.y;
    i++;
  }
  return out;
}

/** The full layout of one page: reading order, then tables and text lines. */
export function layoutPage(lines: readonly Line[], pageWidth: number): PageElement[] {
  return toElements(readingOrder(lines, 0, pageWidth));
}

/** Rows of a table as header-qualified text ("Region: EMEA; Q1: 1,200"), or cells joined by " | " without a header. */
export function renderTableRow(header: readonly string[] | undefined, row: readonly string[]): string {
  if (!header) return row.filter((c) => c.length > 0).join(' | ');
  return row
    .map((cell, k) => (cell.length === 0 ? '' : header[k] ? `${header[k]}: ${cell}` : cell))
    .filter((c) => c.length > 0)
    .join('; ');
}
