// Text normalisation for every parser (plain text, PDF, spreadsheets): one ligature table and one rule for invisible
// characters, so the same word indexes the same way whatever file it came from.

/** Typographic ligatures (U+FB00-FB06) spelled out, so "ﬁne" is found by "fine". */
const LIGATURES: Record<string, string> = {
  '\uFB00': 'ff',
  '\uFB01': 'fi',
  '\uFB02': 'fl',
  '\uFB03': 'ffi',
  '\uFB04': 'ffl',
  '\uFB05': 'st',
  '\uFB06': 'st',
};
const LIGATURE = /[\uFB00-\uFB06]/g;

/**
 * Invisible characters that only split words for search: zero-width space, word joiner, byte order mark, soft
 * hyphen. ZWNJ (U+200C) and ZWJ (U+200D) are not among them: they change meaning in Persian, Arabic and Indic scripts
 * (می‌خواهم is not میخواهم) and hold emoji sequences together, so every parser keeps them.
 */
const INVISIBLE = /[\u200B\u2060\uFEFF\u00AD]/g;

function expandLigatures(text: string): string {
  return text.replace(LIGATURE, (c) => LIGATURES[c] ?? c);
}

function dropInvisible(text: string): string {
  return text.replace(INVISIBLE, '');
}

/**
 * One line of a plain-text file, for indexing: NFC; no-break and other fixed-width spaces become plain spaces;
 * invisible characters go (ZWJ/ZWNJ stay, see INVISIBLE); typographic ligatures are spelled out; control characters
 * other than tab go; trailing whitespace goes. Leading indentation stays: Markdown structure depends on it.
 */
export function normalizeLine(line: string): string {
  const spaced = line.normalize('NFC').replace(/[\u00A0\u2000-\u200A\u202F\u205F\u3000]/g, ' ');
  return expandLigatures(dropInvisible(spaced))
    .replace(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g, '')
    .trimEnd();
}

/**
 * One line of PDF text or one spreadsheet cell: ligatures spelled out, invisible characters removed (ZWJ/ZWNJ stay),
 * no-break and other exotic spaces and tabs become single spaces, both ends trimmed.
 */
export function normalizeInline(text: string): string {
  return dropInvisible(expandLigatures(text))
    .replace(/[\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000\t]/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
}

/** Joins words split across lines with a hyphen ("infor-\nmation" → "information"). */
export function joinHyphenation(lines: string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    const prev = out[out.length - 1];
    if (prev !== undefined && /\p{Ll}-$/u.test(prev) && /^\p{Ll}/u.test(line)) {
      const [first = '', ...rest] = line.split(' ');
      out[out.length - 1] = prev.slice(0, -1) + first;
      if (rest.length) out.push(rest.join(' '));
    } else out.push(line);
  }
  return out;
}
