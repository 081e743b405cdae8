// Structure-aware chunking: packs parsed blocks into token-bounded chunks that never cross a page, sheet, table or
// section boundary, never split a table row (unless one row alone is too long), repeat the table header in every
// chunk of a table, and overlap by whole sentences or rows with the previous chunk of the same page or table.
//
// Tokens are counted with cl100k_base, the encoding of the embedding models we use (text-embedding-3-small/-large,
// ada-002), so `Chunk.tokens` is what the embedder will see; o200k_base (chat models) differs by a few percent.
//
// Default sizes: maxTokens 350, overlapTokens 50, measured with cl100k on ../shared/data/squad (241 SQuAD v2 dev
// paragraphs: median 140 tokens, p90 296, max 781; sentences: median 29, p90 52) and the corpus PDFs (dense two-column
// pages: median ~1340 tokens, 850-1840). 350 keeps 93% of SQuAD paragraphs whole in one chunk (400 would keep 95%,
// 250 only 84%), cuts a dense page into 4-6 chunks so a citation points at a specific passage, and stays far below
// the embedder's 8191-token input. 50 tokens of overlap is one or two whole sentences, enough to carry a referent
// ("it", "the valve") across a cut while duplicating at most ~14% of the text.
import { countTokens } from 'gpt-tokenizer/cjs/encoding/cl100k_base';
import { CL100K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/cjs/encodingParams/constants';
import type { Block, Chunk, ChunkingOptions, Locator } from './types';

export const DEFAULT_CHUNKING: Readonly<ChunkingOptions> = Object.freeze({
  maxTokens: 350,
  overlapTokens: 50,
  acrossPages: false,
});

/** Separators may merge with neighbouring tokens; a couple of tokens of headroom keeps the bound without re-counting. */
const SEPARATOR_HEADROOM = 2;

/** Pre-tokens longer than this many characters are counted in slices of this size. */
const MAX_RUN = 64;
/** Distinct pre-tokens remembered; the cache is dropped and refilled when it reaches this size. */
const PIECE_CACHE_LIMIT = 200_000;
const pieceCache = new Map<string, number>();
/** Text that looks like a special token ("<|endoftext|>") is ordinary text in a document. */
const PLAIN = { disallowedSpecial: new Set<string>() };

function pieceTokens(piece: string): number {
  let n = pieceCache.get(piece);
  if (n === undefined) {
    n = countTokens(piece, PLAIN);
    if (pieceCache.size >= PIECE_CACHE_LIMIT) pieceCache.clear();
    pieceCache.set(piece, n);
  }
  return n;
}

/**
 * cl100k token count in linear time. BPE works on each pre-token (the encoding's split regex) independently, so
 * the count of a text is the sum of its pre-tokens' counts: those are memoised, which makes repeated words and
 * repeated cells nearly free. BPE on one very long pre-token (a cell of 10,000 "a"s, a base64 blob) is quadratic in
 * its length, so such pre-tokens are counted in 64-character slices, which can only over-count by a token or so per
 * slice and so keeps every chunk bound safe. Exact for all other text (test/ingest/chunk.test.ts checks it).
 */
export function tokenCount(text: string): number {
  let total = 0;
  for (const [piece] of text.matchAll(CL100K_TOKEN_SPLIT_REGEX)) {
    if (piece.length <= MAX_RUN) total += pieceTokens(piece);
    else for (let i = 0; i < piece.length; i += MAX_RUN) total += pieceTokens(piece.slice(i, i + MAX_RUN));
  }
  return total;
}

export function resolveChunking(options: Partial<ChunkingOptions> | undefined): ChunkingOptions {
  const maxTokens = options?.maxTokens ?? DEFAULT_CHUNKING.maxTokens;
  const overlapTokens = options?.overlapTokens ?? DEFAULT_CHUNKING.overlapTokens;
  if (!Number.isInteger(maxTokens) || maxTokens < 16)
    throw new RangeError('chunking.maxTokens must be an integer of at least 16.');
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens >= maxTokens / 2) {
    throw new RangeError('chunking.overlapTokens must be an integer between 0 and half of maxTokens.');
  }
  const acrossPages = options?.acrossPages ?? DEFAULT_CHUNKING.acrossPages;
  if (typeof acrossPages !== 'boolean') throw new RangeError('chunking.acrossPages must be a boolean.');
  return { maxTokens, overlapTokens, acrossPages };
}

type UnitKind = 'heading' | 'prose' | 'row';

/** A piece of a block small enough to fit in one chunk. Pieces of one block share `block`. */
interface Unit {
  text: string;
  tokens: number;
  kind: UnitKind;
  locator: Locator;
  container: string;
  section: string | undefined;
  tableHeader: string | undefined;
  block: number;
}

interface Draft {
  container: string;
  section: string | undefined;
  overlap: Unit[];
  units: Unit[];
  tokens: number; // estimate: header + overlap + units + separators
  headerTokens: number;
}

/**
 * Chunks blocks in document order. Indexes are 0..n-1 and depend only on the blocks and options, so the same bytes
 * always give the same chunks (and the same point ids downstream).
 */
export function chunkBlocks(blocks: readonly Block[], options?: Partial<ChunkingOptions>): Chunk[] {
  const { maxTokens, overlapTokens, acrossPages } = resolveChunking(options);
  return new Chunker(toUnits(blocks, maxTokens, overlapTokens, acrossPages), maxTokens, overlapTokens).run();
}

/**
 * Packs units into chunks: a draft takes units while they stay in its container and section and fit its estimate,
 * then is finished (counted exactly, trimmed if needed) and becomes a chunk.
 */
class Chunker {
  private next = 0;
  /** Units handed back by finish() (a draft that did not fit after exact counting), to be taken before units[next]. */
  private readonly requeued: Unit[] = [];
  private readonly chunks: Chunk[] = [];
  private readonly headerTokenCache = new Map<string, number>();
  private draft: Draft | undefined;
  private previous: Draft | undefined;

  constructor(
    private readonly units: readonly Unit[],
    private readonly maxTokens: number,
    private readonly overlapTokens: number,
  ) {}

  run(): Chunk[] {
    for (;;) {
      const unit = this.take();
      if (unit === undefined) {
        if (!this.draft) break;
        this.finish(); // may requeue units
        continue;
      }
      if (!this.draft) this.start(unit);
      else if (!this.extend(this.draft, unit)) {
        this.giveBack(unit);
        this.finish();
      }
    }
    return this.chunks;
  }

  private take(): Unit | undefined {
    return this.requeued.pop() ?? this.units[this.next++];
  }

  private giveBack(...back: Unit[]): void {
    for (let i = back.length - 1; i >= 0; i--) this.requeued.push(back[i] as Unit);
  }

  private headerTokensOf(header: string | undefined): number {
    if (header === undefined) return 0;
    let n = this.headerTokenCache.get(header);
    if (n === undefined) this.headerTokenCache.set(header, (n = tokenCount(header) + 1));
    return n;
  }

  /** A new draft from `unit`, opening with the overlap from the previous chunk when it continues the same flow. */
  private start(unit: Unit): void {
    const headerTokens =
      unit.kind === 'row' && unit.tableHeader !== undefined && unit.text !== unit.tableHeader
        ? this.headerTokensOf(unit.tableHeader)
        : 0;
    const draft: Draft = {
      container: unit.container,
      section: unit.section,
      overlap: [],
      units: [unit],
      tokens: headerTokens + unit.tokens,
      headerTokens,
    };
    this.draft = draft;
    const previous = this.previous;
    const sameFlow =
      previous && previous.container === unit.container && previous.section === unit.section && unit.kind !== 'heading';
    if (sameFlow && this.overlapTokens > 0 && previous) {
      const room = Math.min(this.overlapTokens, this.maxTokens - SEPARATOR_HEADROOM - draft.tokens);
      const overlap = overlapFrom(previous, room);
      draft.overlap = overlap;
      draft.tokens += overlap.reduce((sum, u) => sum + u.tokens + 1, 0);
    }
  }

  /** Adds `unit` to the draft when it is in the same container and section and fits; false leaves the draft as it is. */
  private extend(draft: Draft, unit: Unit): boolean {
    const onlyHeadings = draft.units.every((u) => u.kind === 'heading');
    const sameSection = draft.section === unit.section || onlyHeadings;
    const sectionBreak = unit.kind === 'heading' && !onlyHeadings;
    const fits = draft.tokens + 1 + unit.tokens + SEPARATOR_HEADROOM <= this.maxTokens;
    if (draft.container !== unit.container || !sameSection || sectionBreak || !fits) return false;
    draft.units.push(unit);
    draft.tokens += 1 + unit.tokens;
    // Consecutive headings ("Chapter 2" then "2.1 Scope"): the chunk belongs to the innermost one.
    if (onlyHeadings) draft.section = unit.section;
    return true;
  }

  /** Turns the draft into a chunk, after trimming it to the exact bound; units that do not fit go back in the queue. */
  private finish(): void {
    const draft = this.draft;
    if (!draft || draft.units.length === 0) return;
    const { text, tokens } = this.fitDraft(draft);
    this.draft = undefined;
    if (tokens > this.maxTokens) {
      // One unit plus header still over the bound (pathological tokenisation): split it further and requeue.
      const unit = draft.units.pop() as Unit;
      this.giveBack(...splitUnit(unit, Math.max(4, Math.floor((this.maxTokens - draft.headerTokens) / 2))));
      return;
    }
    this.chunks.push({
      index: this.chunks.length,
      text,
      locator: mergeLocators([...draft.overlap, ...draft.units].map((u) => u.locator)),
      ...(draft.section !== undefined ? { heading: draft.section } : {}),
      tokens,
    });
    this.previous = draft;
  }

  /**
   * The draft's text and exact token count. The estimate can be off by a token or two where separators merge: the
   * overlap is dropped first, then units go back to the queue, until the exact count fits or one unit is left.
   */
  private fitDraft(draft: Draft): { text: string; tokens: number } {
    let text = renderDraft(draft);
    let tokens = tokenCount(text);
    while (tokens > this.maxTokens && draft.overlap.length > 0) {
      draft.overlap.shift();
      text = renderDraft(draft);
      tokens = tokenCount(text);
    }
    while (tokens > this.maxTokens && draft.units.length > 1) {
      this.giveBack(draft.units.pop() as Unit);
      text = renderDraft(draft);
      tokens = tokenCount(text);
    }
    return { text, tokens };
  }
}

function renderDraft(draft: Draft): string {
  const all = [...draft.overlap, ...draft.units];
  const first = all[0];
  let text = '';
  if (draft.headerTokens > 0 && first?.tableHeader !== undefined) text = first.tableHeader;
  let prev: Unit | undefined;
  for (const unit of all) {
    if (text.length > 0) text += separator(prev, unit);
    text += unit.text;
    prev = unit;
  }
  return text;
}

function separator(prev: Unit | undefined, next: Unit): string {
  if (!prev) return '\n';
  if (prev.block === next.block) return prev.kind === 'row' ? '\n' : ' ';
  if (prev.kind === 'row' && next.kind === 'row') return '\n';
  return '\n\n';
}

/** The tail of the previous chunk that fits in `room` tokens: whole rows, or whole sentences of prose. */
function overlapFrom(previous: Draft, room: number): Unit[] {
  const result: Unit[] = [];
  let used = 0;
  const source = [...previous.overlap, ...previous.units];
  for (let i = source.length - 1; i >= 0; i--) {
    const unit = source[i] as Unit;
    if (unit.kind === 'heading') break;
    if (unit.kind === 'row') {
      if (unit.text === unit.tableHeader) break; // the header is repeated anyway
      if (used + unit.tokens + 1 > room) break;
      result.unshift(unit);
      used += unit.tokens + 1;
      continue;
    }
    if (used + unit.tokens + 1 <= room) {
      result.unshift(unit);
      used += unit.tokens + 1;
      continue;
    }
    // Take whole sentences from the end of this unit.
    const spans = sentenceSpans(unit.text);
    let cut = unit.text.length;
    let tokens = 0;
    for (let s = spans.length - 1; s >= 1; s--) {
      const span = spans[s] as [number, number];
      const candidate = tokenCount(unit.text.slice(span[0]).trim());
      if (used + candidate + 1 > room) break;
      cut = span[0];
      tokens = candidate;
    }
    if (cut < unit.text.length) {
      result.unshift({ ...unit, text: unit.text.slice(cut).trim(), tokens });
      used += tokens + 1;
    }
    break;
  }
  return result;
}

// ---------- blocks to units ----------

function containerOf(block: Block, acrossPages: boolean): string {
  const l = block.locator;
  // Across pages, prose flows on but a table stays on its page.
  if (acrossPages && (l.kind === 'page' || l.kind === 'pages') && block.kind !== 'row') return 'pages';
  switch (l.kind) {
    case 'page':
      return `page:${l.page}`;
    case 'pages':
      return `pages:${l.from}-${l.to}`;
    case 'sheet':
      return `sheet:${l.sheet}\u0000${block.tableId ?? ''}\u0000${block.tableHeader ?? ''}`;
    case 'lines':
      return 'lines';
  }
}

function toUnits(blocks: readonly Block[], maxTokens: number, overlapTokens: number, acrossPages: boolean): Unit[] {
  const units: Unit[] = [];
  let current: string | undefined;
  blocks.forEach((block, index) => {
    const text = block.text.trim();
    if (text.length === 0) return;
    if (block.kind === 'heading') current = text;
    const kind: UnitKind = block.kind === 'heading' ? 'heading' : block.kind === 'row' ? 'row' : 'prose';
    const base: Unit = {
      text,
      tokens: tokenCount(text),
      kind,
      locator: block.locator,
      container: containerOf(block, acrossPages),
      section: block.kind === 'heading' ? text : (block.heading ?? current),
      tableHeader: block.kind === 'row' ? fitHeader(block.tableHeader, maxTokens) : undefined,
      block: index,
    };
    const headerTokens =
      base.tableHeader !== undefined && base.tableHeader !== text ? tokenCount(base.tableHeader) + 1 : 0;
    const budget = maxTokens - headerTokens - SEPARATOR_HEADROOM;
    if (base.tokens <= budget) units.push(base);
    // Pieces of a split block leave room for the overlap, so each continuation can repeat the previous sentences.
    else units.push(...splitUnit(base, budget - overlapTokens, block.kind === 'table'));
  });
  return units;
}

/** A header repeated in every chunk may take at most a quarter of it; a longer one is cut and marked with an ellipsis. */
function fitHeader(header: string | undefined, maxTokens: number): string | undefined {
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  const cap = Math.floor(maxTokens / 4);
  if (tokenCount(trimmed) <= cap) return trimmed;
  return `${packWords(trimmed, cap - 1)[0] ?? ''}…`;
}

/**
 * Splits an over-long unit into pieces of at most `budget` tokens: at line breaks first for tables, then at sentence
 * boundaries, then between words, and only for a single giant "word" by characters.
 */
function splitUnit(unit: Unit, budget: number, linesFirst = false): Unit[] {
  const byWords = (t: string): string[] => packWords(t, budget);
  const bySentences = (t: string): string[] => packSpans(t, sentenceSpans(t), budget, byWords);
  const pieces = linesFirst ? packSpans(unit.text, lineSpans(unit.text), budget, bySentences) : bySentences(unit.text);
  return pieces.map((text) => ({ ...unit, text, tokens: tokenCount(text) }));
}

/** Greedily packs consecutive spans into pieces within budget; a span that alone exceeds it goes to `fallback`. */
function packSpans(
  text: string,
  spans: [number, number][],
  budget: number,
  fallback: (text: string) => string[],
): string[] {
  const pieces: string[] = [];
  let start = -1;
  let end = -1;
  let tokens = 0;
  const flush = (): void => {
    if (start >= 0) {
      const piece = text.slice(start, end).trim();
      if (piece.length > 0) pieces.push(piece);
    }
    start = -1;
    tokens = 0;
  };
  for (const [from, to] of spans) {
    const n = tokenCount(text.slice(from, to));
    if (n > budget) {
      flush();
      pieces.push(...fallback(text.slice(from, to).trim()));
      continue;
    }
    if (start >= 0 && tokens + n > budget) flush();
    if (start < 0) start = from;
    end = to;
    tokens += n;
  }
  flush();
  // Spans counted separately can undercount at the joins; re-split the rare piece that ends up over budget.
  return pieces.flatMap((p) => (tokenCount(p) > budget ? packWords(p, budget) : [p]));
}

/**
 * Greedy packing of whitespace-separated words; sums per-word counts, then verifies each piece exactly. A word longer
 * than MAX_RUN characters is packed as MAX_RUN-character atoms, the same slices tokenCount() counts it by, so a
 * 10,000-character cell costs linear time rather than a search over the whole run for every piece.
 */
function packWords(text: string, budget: number): string[] {
  const pieces: string[] = [];
  let current: string[] = [];
  let tokens = 0;
  const flush = (): void => {
    while (current.length > 1 && tokenCount(current.join('').trim()) > budget) {
      // Rare: joins tokenised differently from the parts; carry the last atom into the next piece.
      const carried = current.pop() as string;
      const piece = current.join('').trim();
      if (piece.length > 0) pieces.push(piece);
      current = [carried];
    }
    const piece = current.join('').trim();
    if (piece.length > 0) pieces.push(piece);
    current = [];
    tokens = 0;
  };
  for (const atom of atoms(text)) {
    const n = tokenCount(atom);
    if (n > budget) {
      // Only a short atom of many-token characters (emoji, rare scripts) with a tiny budget gets here.
      flush();
      pieces.push(...splitChars(atom.trim(), budget));
      continue;
    }
    if (current.length > 0 && tokens + n > budget) flush();
    current.push(atom);
    tokens += n;
  }
  flush();
  return pieces;
}

/** Words with their trailing whitespace, long words cut into MAX_RUN-character slices aligned with tokenCount(). */
function* atoms(text: string): Generator<string> {
  for (const word of text.split(/(?<=\s)(?=\S)/)) {
    const run = /^\S*/.exec(word)?.[0].length ?? 0;
    if (run <= MAX_RUN) {
      yield word;
      continue;
    }
    for (let i = 0; i < word.length; i += MAX_RUN)
      yield i + MAX_RUN >= run ? word.slice(i) : word.slice(i, i + MAX_RUN);
  }
}

/** Longest prefixes within budget, by binary search on characters (never cutting a surrogate pair). Short input only. */
function splitChars(text: string, budget: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > 0) {
    let lo = 1;
    let hi = rest.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (tokenCount(rest.slice(0, mid)) <= budget) lo = mid;
      else hi = mid - 1;
    }
    let cut = lo;
    const code = rest.charCodeAt(cut - 1);
    if (cut < rest.length && cut > 1 && code >= 0xd800 && code <= 0xdbff) cut--;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  return pieces;
}

const sentenceSegmenter = new Intl.Segmenter('en', { granularity: 'sentence' });

/**
 * Sentence spans [start, end) of `text`. Line breaks are read as spaces for segmentation (hard-wrapped text would
 * otherwise break at every line end) while the spans index the original text, so pieces keep their line breaks.
 */
export function sentenceSpans(text: string): [number, number][] {
  const flat = text.replace(/[\r\n]/g, ' ');
  const spans: [number, number][] = [];
  for (const s of sentenceSegmenter.segment(flat)) spans.push([s.index, s.index + s.segment.length]);
  return spans;
}

function lineSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i === text.length || text[i] === '\n') {
      spans.push([start, Math.min(i + 1, text.length)]);
      start = i + 1;
    }
  }
  return spans;
}

// ---------- locators ----------

/** The locator of a chunk: its page (or page range), the bounding range of its rows, or its first to last line. */
export function mergeLocators(locators: Locator[]): Locator {
  const first = locators[0];
  if (!first) throw new Error('mergeLocators needs at least one locator');
  if (first.kind === 'page' || first.kind === 'pages') {
    let from = first.kind === 'page' ? first.page : first.from;
    let to = first.kind === 'page' ? first.page : first.to;
    for (const l of locators) {
      if (l.kind === 'page') [from, to] = [Math.min(from, l.page), Math.max(to, l.page)];
      else if (l.kind === 'pages') [from, to] = [Math.min(from, l.from), Math.max(to, l.to)];
    }
    return from === to ? { kind: 'page', page: from } : { kind: 'pages', from, to };
  }
  if (first.kind === 'lines') {
    let from = first.from;
    let to = first.to;
    for (const l of locators) {
      if (l.kind !== 'lines') continue;
      from = Math.min(from, l.from);
      to = Math.max(to, l.to);
    }
    return { kind: 'lines', from, to };
  }
  if (first.kind === 'sheet') {
    let box: Box | undefined;
    for (const l of locators) {
      if (l.kind !== 'sheet' || l.sheet !== first.sheet) continue;
      const b = parseRange(l.range);
      if (!b) continue;
      box = box
        ? {
            c1: Math.min(box.c1, b.c1),
            r1: Math.min(box.r1, b.r1),
            c2: Math.max(box.c2, b.c2),
            r2: Math.max(box.r2, b.r2),
          }
        : b;
    }
    return box ? { kind: 'sheet', sheet: first.sheet, range: formatRange(box) } : first;
  }
  return first;
}

interface Box {
  c1: number;
  r1: number;
  c2: number;
  r2: number;
}

function parseCell(ref: string): { c: number; r: number } | undefined {
  const m = /^\$?([A-Za-z]{1,3})\$?(\d{1,7})$/.exec(ref.trim());
  if (!m) return undefined;
  let c = 0;
  for (const ch of (m[1] as string).toUpperCase()) c = c * 26 + (ch.charCodeAt(0) - 64);
  return { c, r: Number(m[2]) };
}

function parseRange(range: string): Box | undefined {
  const [a, b] = range.split(':');
  const p = a !== undefined ? parseCell(a) : undefined;
  const q = b !== undefined ? parseCell(b) : p;
  if (!p || !q) return undefined;
  return { c1: Math.min(p.c, q.c), r1: Math.min(p.r, q.r), c2: Math.max(p.c, q.c), r2: Math.max(p.r, q.r) };
}

function columnName(c: number): string {
  let name = '';
  for (let n = c; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
}

function formatRange(box: Box): string {
  const a = `${columnName(box.c1)}${box.r1}`;
  const b = `${columnName(box.c2)}${box.r2}`;
  return a === b ? a : `${a}:${b}`;
}
