// The one text normaliser (ingest/normalize.ts) shared by the text, PDF and spreadsheet parsers.
import { joinHyphenation, normalizeInline, normalizeLine } from '../../ingest/normalize';
import { parseCsv } from '../../ingest/sheet';
import { parseText } from '../../ingest/text';

const ZWNJ = '\u200C';
const ZWJ = '\u200D';
/** "I want" in Persian: the ZWNJ after the prefix می keeps it from joining the verb; without it the word is misspelt. */
const PERSIAN = `می${ZWNJ}خواهم`;
/** Woman technologist: woman + ZWJ + laptop, one emoji only while the ZWJ stays. */
const EMOJI = `\u{1F469}${ZWJ}\u{1F4BB}`;

describe('one normaliser for text, PDF and spreadsheet cells', () => {
  it('keeps a ZWNJ inside a Persian word on the text line and on the PDF line', () => {
    expect(normalizeLine(`${PERSIAN} `)).toBe(PERSIAN);
    expect(normalizeInline(` ${PERSIAN} `)).toBe(PERSIAN);
    expect(normalizeInline(PERSIAN)).toContain(ZWNJ);
  });

  it('keeps the ZWJ of an emoji sequence on both paths', () => {
    expect(normalizeLine(EMOJI)).toBe(EMOJI);
    expect(normalizeInline(EMOJI)).toBe(EMOJI);
  });

  it('expands typographic ligatures on both paths with the same table', () => {
    const ligatures = '\uFB00 \uFB01 \uFB02 \uFB03 \uFB04 \uFB05 \uFB06';
    expect(normalizeLine(ligatures)).toBe('ff fi fl ffi ffl st st');
    expect(normalizeInline(ligatures)).toBe('ff fi fl ffi ffl st st');
    expect(normalizeInline('ﬁnance oﬃce')).toBe(normalizeLine('ﬁnance oﬃce'));
  });

  it('removes zero-width space, word joiner, byte order mark and soft hyphen on both paths', () => {
    const invisible = 'in\u200Bvis\u2060i\uFEFFb\u00ADle';
    expect(normalizeLine(invisible)).toBe('invisible');
    expect(normalizeInline(invisible)).toBe('invisible');
  });

  it('text lines: NFC, fixed-width spaces to spaces, controls dropped, trailing whitespace trimmed', () => {
    expect(normalizeLine('a\u00A0b\u200Bc\u00ADd \uFB01ne \uFB02ow  ')).toBe('a bcd fine flow');
    expect(normalizeLine('e\u0301')).toBe('\u00e9');
    expect(normalizeLine('  indented\u0007\tkeeps tab')).toBe('  indented\tkeeps tab');
  });

  it('PDF lines and cells: odd spaces and tabs collapse to one space, both ends trimmed', () => {
    expect(normalizeInline('ﬁnance\u00a0oﬃce\u00ad \u200bteam')).toBe('finance office team');
    expect(normalizeInline('\ta\u3000\u3000b\u1680c ')).toBe('a b c');
  });

  it('joins words hyphenated across PDF lines', () => {
    expect(joinHyphenation(['the infor-', 'mation desk', 'Well-known'])).toEqual([
      'the information',
      'desk',
      'Well-known',
    ]);
  });

  it('keeps the ZWNJ through a parsed text file and a parsed CSV cell', () => {
    expect(parseText(`${PERSIAN}\n`).blocks[0]?.text).toBe(PERSIAN);
    const csv = parseCsv(`word,meaning\n${PERSIAN},I want\n`, { delimiter: ',', maxCells: 100 });
    expect(csv.blocks.map((b) => b.text)).toContain(`word: ${PERSIAN}; meaning: I want`);
  });
});
