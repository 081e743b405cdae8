// Page layout from positioned text: lines and segments, column reading order, tables, and the same through real
// generated PDFs in the isolated pipeline.
import { extractChunks } from '../../ingest';
import { buildLines, findGutter, layoutPage, readingOrder, renderTableRow, toElements } from '../../ingest/pdf/layout';
import type { PositionedText } from '../../ingest/pdf/layout';
import { makePlacedPdf, twoColumnPage } from '../support/documents';

/** Items of width 5 points per character at 10 pt, as Helvetica roughly has. */
const at = (x: number, y: number, str: string, size = 10): PositionedText => ({
  str,
  x,
  y,
  width: str.length * size * 0.5,
  size,
});

const LEFT = Array.from({ length: 8 }, (_, i) => `Left column sentence number ${i} continues here.`);
const RIGHT = Array.from({ length: 8 }, (_, i) => `Right column sentence number ${i} goes on there.`);

function twoColumns(): PositionedText[] {
  const items = [at(50, 40, 'A Title That Spans Both Columns Of The Page', 16)];
  LEFT.forEach((t, i) => items.push(at(50, 80 + i * 12, t)));
  RIGHT.forEach((t, i) => items.push(at(310, 80 + i * 12, t)));
  return items;
}

describe('buildLines', () => {
  it('groups items on one baseline into a line, left to right, with spaces by gap', () => {
    const lines = buildLines([at(80, 100, 'world'), at(50, 100.5, 'Hello'), at(50, 120, 'Next')]);
    expect(lines.map((l) => l.segments.map((s) => s.text))).toEqual([['Hello world'], ['Next']]);
  });

  it('splits a line into segments where the gap is wider than a word space', () => {
    const lines = buildLines([at(50, 100, 'Region'), at(200, 100, 'Revenue')]);
    expect(lines[0]?.segments.map((s) => s.text)).toEqual(['Region', 'Revenue']);
  });

  it('joins glyph-by-glyph items without inventing spaces, and honours explicit space items', () => {
    const glyphs = [...'Word'].map((c, i) => at(50 + i * 5, 100, c));
    const lines = buildLines([...glyphs, at(70, 100, ' '), at(73, 100, 'two')]);
    expect(lines[0]?.segments[0]?.text).toBe('Word two');
  });
});

describe('reading order', () => {
  it('finds the gutter of a two-column page and reads the left column before the right', () => {
    const lines = buildLines(twoColumns());
    expect(findGutter(lines, 0, 595)?.x).toBeGreaterThan(280);
    const text = toElements(readingOrder(lines, 0, 595)).map((e) => (e.kind === 'text' ? e.text : ''));
    expect(text[0]).toContain('A Title');
    expect(text.slice(1)).toEqual([...LEFT, ...RIGHT]);
  });

  it('reads three columns left to right', () => {
    const cols = [40, 220, 400].map((x, c) =>
      Array.from({ length: 6 }, (_, i) => `Col ${c} line ${i} of the newsletter.`).map((t, i) => at(x, 80 + i * 12, t)),
    );
    const order = toElements(readingOrder(buildLines(cols.flat()), 0, 595)).map((e) =>
      e.kind === 'text' ? e.text : '',
    );
    expect(order).toEqual(
      [0, 1, 2].flatMap((c) => Array.from({ length: 6 }, (_, i) => `Col ${c} line ${i} of the newsletter.`)),
    );
  });

  it('does not take a table for columns', () => {
    const items = [at(50, 100, 'Region'), at(200, 100, 'Q1 revenue'), at(350, 100, 'Q2 revenue')];
    ['EMEA', 'APAC', 'AMER', 'LATAM', 'NORDICS', 'BENELUX'].forEach((r, i) =>
      items.push(at(50, 112 + i * 12, r), at(200, 112 + i * 12, `${1000 + i}`), at(350, 112 + i * 12, `${2000 + i}`)),
    );
    const lines = buildLines(items);
    expect(findGutter(lines, 0, 595)).toBeUndefined();
    const elements = layoutPage(lines, 595);
    expect(elements).toHaveLength(1);
    expect(elements[0]).toMatchObject({ kind: 'table', header: ['Region', 'Q1 revenue', 'Q2 revenue'] });
    const table = elements[0] as { rows: string[][] };
    expect(table.rows[0]).toEqual(['EMEA', '1000', '2000']);
    expect(table.rows).toHaveLength(6);
  });

  it('keeps a wide table whole on a two-column page instead of reading its halves as columns', () => {
    const items = twoColumns().map((i) => ({ ...i, y: i.y + 200 }));
    items.push(at(120, 40, 'Loops'), at(220, 40, 'Trees'), at(320, 40, 'Traces'), at(420, 40, 'Speedup'));
    ['alpha', 'beta', 'gamma'].forEach((n, i) =>
      items.push(
        at(50, 52 + i * 12, n),
        at(120, 52 + i * 12, `${i}`),
        at(220, 52 + i * 12, `${i + 1}`),
        at(320, 52 + i * 12, `${i + 2}`),
        at(420, 52 + i * 12, `${i}.5x`),
      ),
    );
    const elements = layoutPage(buildLines(items), 595);
    const table = elements.find((e) => e.kind === 'table') as { header: string[]; rows: string[][] };
    expect(table.header).toEqual(['', 'Loops', 'Trees', 'Traces', 'Speedup']);
    expect(table.rows[1]).toEqual(['beta', '1', '2', '3', '1.5x']);
    const text = elements.filter((e) => e.kind === 'text').map((e) => (e as { text: string }).text);
    expect(text.slice(1)).toEqual([...LEFT, ...RIGHT]);
  });

  it('renders rows header-qualified, skipping empty cells', () => {
    expect(renderTableRow(['Region', 'Q1', 'Q2'], ['EMEA', '', '1,200'])).toBe('Region: EMEA; Q2: 1,200');
    expect(renderTableRow(['', 'Loops'], ['3d-cube', '25'])).toBe('3d-cube; Loops: 25');
    expect(renderTableRow(undefined, ['a', '', 'b'])).toBe('a | b');
  });
});

describe('layout through generated PDFs', () => {
  const left =
    'Pumps must be inspected every month. The inspector records the valve pressure in the log book. Seals that leak are replaced before the next shift starts work.';
  const right =
    'Forklifts are charged overnight in bay four. Drivers check the brakes before each shift. A damaged fork is tagged out and reported to the yard manager.';

  it('reads a two-column page column by column, and takes the large title for a heading', async () => {
    const bytes = await makePlacedPdf([twoColumnPage('Maintenance Handbook', left, right)]);
    const r = await extractChunks({ bytes, fileName: 'columns.pdf' });
    const text = r.chunks.map((c) => c.text).join('\n');
    const flat = text.replace(/\s+/g, ' ');
    expect(flat).toContain(left);
    expect(flat).toContain(right);
    expect(flat.indexOf(left)).toBeLessThan(flat.indexOf(right));
    expect(r.chunks[0]?.heading).toBe('Maintenance Handbook');
  }, 60_000);

  it('keeps a table row by row with its header', async () => {
    const rows = [
      ['Region', 'Q1 revenue', 'Q2 revenue'],
      ['EMEA', '1,200', '1,350'],
      ['APAC', '980', '1,010'],
      ['AMER', '2,400', '2,150'],
    ];
    const items = rows.flatMap((row, i) => row.map((cell, k) => ({ x: 60 + k * 150, y: 700 - i * 14, text: cell })));
    items.unshift({ x: 60, y: 740, text: 'Revenue by region, in thousands of euros.' });
    const r = await extractChunks({ bytes: await makePlacedPdf([items]), fileName: 'table.pdf' });
    const text = r.chunks.map((c) => c.text).join('\n');
    expect(text).toContain('Region: EMEA; Q1 revenue: 1,200; Q2 revenue: 1,350');
    expect(text).toContain('Region: AMER; Q1 revenue: 2,400; Q2 revenue: 2,150');
    expect(r.chunks.every((c) => c.locator.kind === 'page' && c.locator.page === 1)).toBe(true);
  }, 60_000);

  it('keeps a page whose only line repeats on every page: it is content, not a header', async () => {
    const pages = [1, 2, 3, 4].map(() => [{ x: 200, y: 400, text: 'Hello world' }]);
    const r = await extractChunks({ bytes: await makePlacedPdf(pages), fileName: 'hello.pdf' });
    expect(r.chunks.map((c) => c.locator)).toEqual([1, 2, 3, 4].map((page) => ({ kind: 'page', page })));
  }, 60_000);

  it('keeps short real text on a page instead of dropping it as empty', async () => {
    const r = await extractChunks({
      bytes: await makePlacedPdf([[{ x: 100, y: 700, text: 'Issue 42' }]]),
      fileName: 'short.pdf',
      ocr: false,
    });
    expect(r.chunks.map((c) => c.text)).toEqual(['Issue 42']);
  }, 60_000);
});
