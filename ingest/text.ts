// Plain text and Markdown: decode, normalise, and split into heading and paragraph blocks located by line numbers.
import { IngestError } from './errors';
import { normalizeLine } from './normalize';
import type { TextEncodingName } from './sniff';
import type { Block, ParsedDocument } from './types';

/**
 * A paragraph longer than this is cut at line boundaries into several blocks, so that a citation of a hard-wrapped
 * wall of text points at a few lines rather than at the whole file. About one chunk's worth of prose.
 */
const MAX_BLOCK_CHARS = 1200;

/** Decodes with the sniffed encoding; a leading byte order mark is consumed. */
export function decodeText(bytes: Uint8Array, encoding: TextEncodingName): string {
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    throw new IngestError('TEXT_ENCODING', `The text is not valid ${encoding.toUpperCase()}.`);
  }
}

/** Splits on CRLF, CR and LF: editors count each as one line, and our line numbers must match theirs. */
function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

/** The opening of an ATX heading: up to three spaces, one to six `#`, then at least one space or tab. */
const ATX_OPENING = /^ {0,3}(#{1,6})[ \t]/;
/** Line terminators other than CR and LF, which `.` does not match: a line holding one was never a heading. */
const LINE_TERMINATOR = /[\u2028\u2029]/;
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;

const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t';

/**
 * An ATX heading (`## Title ##`): its level and its text without the optional closing run of `#`, or undefined.
 *
 * Decision: a scan from both ends instead of the regular expression `/^ {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$/`
 * it replaces, with the same results (a test compares them). The lazy `(.+?)` retried the closing pattern at every
 * character and each retry ran to the end of the following run of spaces: a 300 KB line of spaces after `# a` took two
 * minutes of CPU. This is linear in the line.
 */
export function atxHeading(line: string): { level: number; text: string } | undefined {
  const opening = ATX_OPENING.exec(line);
  if (!opening) return undefined;
  if (LINE_TERMINATOR.test(line)) return undefined;
  const afterHashes = opening[0].length - 1;
  let start = afterHashes;
  while (isBlank(line[start])) start++;
  let text: string;
  if (start === line.length) {
    // Only blanks after the hashes: the regular expression gave its last blank back to the (non-empty) text.
    if (start - afterHashes < 2) return undefined;
    text = line.slice(start - 1);
  } else {
    let end = line.length;
    while (isBlank(line[end - 1])) end--;
    // A closing run of `#` counts only after a blank that itself follows some text.
    let hashes = end;
    while (hashes > start && line[hashes - 1] === '#') hashes--;
    if (hashes < end && hashes > start && isBlank(line[hashes - 1])) {
      end = hashes;
      while (isBlank(line[end - 1])) end--;
    }
    text = line.slice(start, end);
  }
  return { level: (opening[1] as string).length, text: text.trim() };
}

interface Pending {
  lines: string[];
  from: number; // 1-based line number of lines[0]
}

/** Parses decoded text into blocks. Line numbers are 1-based and refer to the original file. */
export function parseText(text: string, mediaType = 'text/plain'): ParsedDocument {
  const lines = splitLines(text).map(normalizeLine);
  const blocks: Block[] = [];
  let heading: string | undefined;
  let title: string | undefined;
  let pending: Pending | undefined;

  const pushParagraph = (p: Pending): void => {
    // Cut long paragraphs at line boundaries; a single very long line stays whole (the chunker splits it by sentence).
    let start = 0;
    let chars = 0;
    for (let i = 0; i < p.lines.length; i++) {
      const len = (p.lines[i] as string).length + 1;
      if (i > start && chars + len > MAX_BLOCK_CHARS) {
        emit(p, start, i - 1);
        start = i;
        chars = 0;
      }
      chars += len;
    }
    emit(p, start, p.lines.length - 1);
  };
  const emit = (p: Pending, first: number, last: number): void => {
    const body = p.lines
      .slice(first, last + 1)
      .join('\n')
      .trim();
    if (body.length === 0) return;
    blocks.push({
      kind: 'paragraph',
      text: body,
      locator: { kind: 'lines', from: p.from + first, to: p.from + last },
      heading,
    });
  };
  const flush = (): void => {
    if (pending) pushParagraph(pending);
    pending = undefined;
  };
  const pushHeading = (textOfHeading: string, from: number, to: number, level: number): void => {
    heading = textOfHeading;
    if (title === undefined && level === 1) title = textOfHeading;
    blocks.push({ kind: 'heading', text: textOfHeading, locator: { kind: 'lines', from, to }, heading: textOfHeading });
  };

  let inFence = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const lineNo = i + 1;
    if (/^ {0,3}(```|~~~)/.test(line)) inFence = !inFence;
    if (line.trim().length === 0) {
      flush();
      continue;
    }
    const atx = inFence ? undefined : atxHeading(line);
    if (atx) {
      flush();
      pushHeading(atx.text, lineNo, lineNo, atx.level);
      continue;
    }
    const setext = inFence ? null : SETEXT_UNDERLINE.exec(line);
    if (setext && pending && pending.lines.length === 1) {
      const headingText = (pending.lines[0] as string).trim();
      const from = pending.from;
      pending = undefined;
      pushHeading(headingText, from, lineNo, (setext[1] as string).startsWith('=') ? 1 : 2);
      continue;
    }
    if (pending) pending.lines.push(line);
    else pending = { lines: [line], from: lineNo };
  }
  flush();

  const chars = blocks.reduce((sum, b) => sum + b.text.length, 0);
  return {
    kind: 'text',
    mediaType,
    metadata: title !== undefined ? { title } : {},
    blocks,
    warnings: [],
    stats: { chars },
  };
}
