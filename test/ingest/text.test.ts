// Markdown ATX headings: the same results as the regular expression they replace, in linear time.
import { atxHeading, parseText } from '../../ingest/text';

/** The regular expression text.ts used before: quadratic in a run of blanks after the heading's first word. */
const OLD_ATX_HEADING = /^ {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$/;

function oldHeading(line: string): { level: number; text: string } | undefined {
  const m = OLD_ATX_HEADING.exec(line);
  return m ? { level: (m[1] as string).length, text: (m[2] as string).trim() } : undefined;
}

describe('ATX headings', () => {
  it('parses headings as before: levels, closing hashes, indentation, hashes inside the text', () => {
    const cases: [string, { level: number; text: string } | undefined][] = [
      ['# Intro', { level: 1, text: 'Intro' }],
      ['###### Six', { level: 6, text: 'Six' }],
      ['####### Seven is text', undefined],
      ['#NoSpace', undefined],
      ['    # four spaces is code', undefined],
      ['   ## Three spaces ##', { level: 2, text: 'Three spaces' }],
      ['## Closing ####   ', { level: 2, text: 'Closing' }],
      ['# C# and F#', { level: 1, text: 'C# and F#' }],
      ['# Issue #42 ## still #', { level: 1, text: 'Issue #42 ## still' }],
      ['# ##', { level: 1, text: '##' }],
      ['#\tTabbed\t#', { level: 1, text: 'Tabbed' }],
      ['#  ', { level: 1, text: '' }],
      ['# line\u2028separator', undefined],
    ];
    for (const [line, expected] of cases) {
      expect([line, atxHeading(line)]).toEqual([line, expected]);
      expect([line, atxHeading(line)]).toEqual([line, oldHeading(line)]);
    }
  });

  it('agrees with the old regular expression on every short line of blanks, hashes and letters', () => {
    // Exhaustive over lines of up to 7 characters from an alphabet that exercises every branch of the old pattern.
    const alphabet = [' ', '\t', '#', 'a', '\u2028'];
    let lines = [''];
    for (let length = 1; length <= 7; length++) {
      lines = lines.flatMap((line) => alphabet.map((c) => line + c));
      for (const line of lines) {
        const ours = atxHeading(line);
        const old = oldHeading(line);
        if (JSON.stringify(ours) !== JSON.stringify(old)) throw new Error(`differs on ${JSON.stringify(line)}`);
      }
    }
  });

  it('parses a 1 MB line without line breaks in linear time, heading-shaped or not', () => {
    // The old pattern needed about two minutes for 300 KB of blanks after "# a"; these take milliseconds now.
    const lines = [
      `# a${' '.repeat(1024 * 1024)}b`,
      `# a${' \t'.repeat(512 * 1024)}#b`,
      `# ${'word '.repeat(200 * 1024)}##`,
      'x'.repeat(1024 * 1024),
    ];
    for (const line of lines) {
      const started = Date.now();
      const doc = parseText(line, 'text/markdown');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(doc.blocks).toHaveLength(1);
    }
    expect(parseText(lines[0] as string).blocks[0]).toMatchObject({
      kind: 'heading',
      text: `a${' '.repeat(1024 * 1024)}b`,
    });
    const words = parseText(lines[2] as string).blocks[0];
    expect(words?.kind).toBe('heading');
    expect(words?.text.endsWith('word word')).toBe(true); // the closing ## went, the words stayed
  });
});
