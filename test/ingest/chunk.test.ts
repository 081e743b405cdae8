// Structure-aware chunking: boundaries, atomic rows, repeated headers, overlap, token bound, stable indexes.
import { countTokens } from 'gpt-tokenizer/cjs/encoding/cl100k_base';
import { chunkBlocks, DEFAULT_CHUNKING, mergeLocators, sentenceSpans, tokenCount } from '../../ingest/chunk';
import type { Block, Chunk } from '../../ingest/types';

const OPTIONS = { maxTokens: 80, overlapTokens: 20 };

function sentence(page: number, i: number): string {
  return `Page ${page} sentence ${i} explains how the pump valve is inspected and cleaned.`;
}

function pageBlocks(pages: number, sentencesPerParagraph: number, paragraphs: number): Block[] {
  const blocks: Block[] = [];
  for (let p = 1; p <= pages; p++) {
    for (let q = 0; q < paragraphs; q++) {
      const text = Array.from({ length: sentencesPerParagraph }, (_, i) =>
        sentence(p, q * sentencesPerParagraph + i),
      ).join(' ');
      blocks.push({ kind: 'paragraph', text, locator: { kind: 'page', page: p } });
    }
  }
  return blocks;
}

const HEADER = 'Part | Supplier | Price | Stock';

function rowBlocks(sheet: string, first: number, count: number, tableId = 't1'): Block[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: 'row' as const,
    text: `Part ${first + i} | Acme Industrial Supplies | ${(first + i) * 3} EUR | ${first + i} units`,
    locator: { kind: 'sheet' as const, sheet, range: `A${first + i}:D${first + i}` },
    tableHeader: HEADER,
    tableId,
  }));
}

function expectWithinBound(chunks: Chunk[], maxTokens: number): void {
  for (const chunk of chunks) {
    expect(chunk.tokens).toBe(countTokens(chunk.text));
    expect(chunk.tokens).toBeLessThanOrEqual(maxTokens);
  }
}

describe('chunkBlocks', () => {
  it('defaults to 350 tokens with 50 tokens of overlap', () => {
    expect(DEFAULT_CHUNKING).toEqual({ maxTokens: 350, overlapTokens: 50, acrossPages: false });
  });

  it('never lets a chunk cross a page boundary, and locates each chunk on its one page', () => {
    const chunks = chunkBlocks(pageBlocks(3, 4, 3), OPTIONS);
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) {
      expect(chunk.locator.kind).toBe('page');
      const page = chunk.locator.kind === 'page' ? chunk.locator.page : -1;
      const pagesMentioned = new Set([...chunk.text.matchAll(/Page (\d+)/g)].map((m) => Number(m[1])));
      expect([...pagesMentioned]).toEqual([page]);
    }
  });

  it('keeps every chunk within maxTokens and reports its exact cl100k token count', () => {
    expectWithinBound(chunkBlocks(pageBlocks(2, 6, 4), OPTIONS), OPTIONS.maxTokens);
    expectWithinBound(chunkBlocks(rowBlocks('Stock', 2, 40), OPTIONS), OPTIONS.maxTokens);
  });

  it('overlaps consecutive chunks of the same page by whole sentences', () => {
    const chunks = chunkBlocks(pageBlocks(1, 12, 1), OPTIONS);
    expect(chunks.length).toBeGreaterThan(1);
    for (let i = 1; i < chunks.length; i++) {
      const previous = chunks[i - 1] as Chunk;
      const current = chunks[i] as Chunk;
      const firstSentence = current.text.slice(0, current.text.indexOf('.') + 1);
      expect(firstSentence).toMatch(/^Page 1 sentence \d+ explains .*\.$/);
      expect(previous.text).toContain(firstSentence);
    }
  });

  it('does not overlap across a page boundary', () => {
    const chunks = chunkBlocks(pageBlocks(2, 3, 1), { maxTokens: 200, overlapTokens: 40 });
    expect(chunks.map((c) => c.locator)).toEqual([
      { kind: 'page', page: 1 },
      { kind: 'page', page: 2 },
    ]);
    expect(chunks[1]?.text.startsWith('Page 2 sentence 0')).toBe(true);
  });

  it('never splits a table row, repeats the header at the top of every chunk, and overlaps by whole rows', () => {
    const rows = rowBlocks('Stock', 2, 30);
    const chunks = chunkBlocks(rows, OPTIONS);
    expect(chunks.length).toBeGreaterThan(2);
    const rowTexts = new Set(rows.map((r) => r.text));
    const seen = new Set<string>();
    chunks.forEach((chunk, i) => {
      const [header, ...lines] = chunk.text.split('\n');
      expect(header).toBe(HEADER);
      for (const line of lines) {
        expect(rowTexts.has(line)).toBe(true); // whole rows only
        seen.add(line);
      }
      if (i > 0) {
        const previousLines = (chunks[i - 1] as Chunk).text.split('\n');
        expect(previousLines).toContain(lines[0]); // overlap: starts with the previous chunk's last row(s)
      }
    });
    expect(seen).toEqual(rowTexts);
  });

  it('locates a chunk of rows by the bounding range of its rows', () => {
    const chunks = chunkBlocks(rowBlocks('Q1 Sales', 5, 8), { maxTokens: 350, overlapTokens: 0 });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.locator).toEqual({ kind: 'sheet', sheet: 'Q1 Sales', range: 'A5:D12' });
    expect(
      mergeLocators([
        { kind: 'sheet', sheet: 'S', range: 'C7' },
        { kind: 'sheet', sheet: 'S', range: 'A5:B5' },
        { kind: 'sheet', sheet: 'S', range: 'AA9:AB9' },
      ]),
    ).toEqual({ kind: 'sheet', sheet: 'S', range: 'A5:AB9' });
  });

  it('never mixes sheets or tables in one chunk', () => {
    const blocks = [...rowBlocks('A', 2, 3, 'a1'), ...rowBlocks('A', 10, 3, 'a2'), ...rowBlocks('B', 2, 3, 'b1')];
    const chunks = chunkBlocks(blocks, { maxTokens: 350, overlapTokens: 50 });
    expect(chunks.map((c) => c.locator)).toEqual([
      { kind: 'sheet', sheet: 'A', range: 'A2:D4' },
      { kind: 'sheet', sheet: 'A', range: 'A10:D12' },
      { kind: 'sheet', sheet: 'B', range: 'A2:D4' },
    ]);
  });

  it('splits a single over-long row at sentence boundaries and still repeats the header', () => {
    const long = Array.from({ length: 30 }, (_, i) => `Note ${i} says the part was recalled.`).join(' ');
    const blocks: Block[] = [
      {
        kind: 'row',
        text: long,
        locator: { kind: 'sheet', sheet: 'S', range: 'A2:D2' },
        tableHeader: HEADER,
        tableId: 't',
      },
    ];
    const chunks = chunkBlocks(blocks, OPTIONS);
    expect(chunks.length).toBeGreaterThan(2);
    expectWithinBound(chunks, OPTIONS.maxTokens);
    for (const chunk of chunks) {
      expect(chunk.text.startsWith(`${HEADER}\n`)).toBe(true);
      expect(chunk.text.endsWith('recalled.')).toBe(true);
      expect(chunk.locator).toEqual({ kind: 'sheet', sheet: 'S', range: 'A2:D2' });
    }
  });

  it('splits a paragraph without sentence breaks by words, and a giant word by characters', () => {
    const words = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    const giant = 'x'.repeat(5000);
    const chunks = chunkBlocks(
      [
        { kind: 'paragraph', text: words, locator: { kind: 'page', page: 1 } },
        { kind: 'paragraph', text: giant, locator: { kind: 'page', page: 2 } },
      ],
      { maxTokens: 50, overlapTokens: 0 },
    );
    expectWithinBound(chunks, 50);
    const page1 = chunks.filter((c) => c.locator.kind === 'page' && c.locator.page === 1);
    expect(page1.map((c) => c.text).join(' ')).toBe(words);
    const page2 = chunks.filter((c) => c.locator.kind === 'page' && c.locator.page === 2);
    expect(page2.map((c) => c.text).join('')).toBe(giant);
  });

  it('starts a new chunk at each heading and gives every chunk its section heading', () => {
    const blocks: Block[] = [
      { kind: 'heading', text: 'Installation', locator: { kind: 'lines', from: 1, to: 1 } },
      { kind: 'paragraph', text: 'Mount the unit on a wall.', locator: { kind: 'lines', from: 3, to: 3 } },
      { kind: 'heading', text: 'Maintenance', locator: { kind: 'lines', from: 5, to: 5 } },
      { kind: 'heading', text: 'Monthly', locator: { kind: 'lines', from: 6, to: 6 } },
      { kind: 'paragraph', text: 'Clean the filter.', locator: { kind: 'lines', from: 8, to: 9 } },
    ];
    expect(chunkBlocks(blocks, OPTIONS)).toEqual([
      {
        index: 0,
        text: 'Installation\n\nMount the unit on a wall.',
        locator: { kind: 'lines', from: 1, to: 3 },
        heading: 'Installation',
        tokens: expect.any(Number),
      },
      {
        index: 1,
        text: 'Maintenance\n\nMonthly\n\nClean the filter.',
        locator: { kind: 'lines', from: 5, to: 9 },
        heading: 'Monthly',
        tokens: expect.any(Number),
      },
    ]);
  });

  it('keeps the section heading on continuation chunks, including on the next page', () => {
    const blocks: Block[] = [
      { kind: 'heading', text: 'Safety', locator: { kind: 'page', page: 1 } },
      ...pageBlocks(2, 5, 2).map((b) => ({ ...b })),
    ];
    const chunks = chunkBlocks(blocks, OPTIONS);
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) expect(chunk.heading).toBe('Safety');
  });

  it('uses the heading a parser put on a block when there are no heading blocks', () => {
    const chunks = chunkBlocks(
      [
        { kind: 'paragraph', text: 'Alpha text.', locator: { kind: 'page', page: 1 }, heading: 'A' },
        { kind: 'paragraph', text: 'Beta text.', locator: { kind: 'page', page: 1 }, heading: 'B' },
      ],
      OPTIONS,
    );
    expect(chunks.map((c) => [c.heading, c.text])).toEqual([
      ['A', 'Alpha text.'],
      ['B', 'Beta text.'],
    ]);
  });

  it('merges line locators from the first to the last line of a chunk', () => {
    const blocks: Block[] = [
      { kind: 'paragraph', text: 'One.', locator: { kind: 'lines', from: 1, to: 2 } },
      { kind: 'paragraph', text: 'Two.', locator: { kind: 'lines', from: 4, to: 7 } },
    ];
    expect(chunkBlocks(blocks, OPTIONS)[0]?.locator).toEqual({ kind: 'lines', from: 1, to: 7 });
  });

  it('numbers chunks 0..n-1 and gives the same chunks for the same input', () => {
    const blocks = [...pageBlocks(3, 5, 3), ...rowBlocks('S', 2, 25)];
    const first = chunkBlocks(blocks, OPTIONS);
    const second = chunkBlocks(structuredClone(blocks), OPTIONS);
    expect(first.map((c) => c.index)).toEqual(first.map((_, i) => i));
    expect(second).toEqual(first);
  });

  it('cuts a table header too long to repeat down to a quarter of the chunk', () => {
    const header = Array.from({ length: 60 }, (_, i) => `Column heading number ${i}`).join(' | ');
    const rows: Block[] = Array.from({ length: 6 }, (_, i) => ({
      kind: 'row',
      text: `value ${i} | another value ${i}`,
      locator: { kind: 'sheet', sheet: 'S', range: `A${i + 2}:BH${i + 2}` },
      tableHeader: header,
      tableId: 't',
    }));
    const chunks = chunkBlocks(rows, OPTIONS);
    expectWithinBound(chunks, OPTIONS.maxTokens);
    for (const chunk of chunks) {
      const firstLine = chunk.text.split('\n')[0] as string;
      expect(firstLine.endsWith('\u2026')).toBe(true);
      expect(countTokens(firstLine)).toBeLessThanOrEqual(OPTIONS.maxTokens / 4 + 1);
    }
  });

  it('keeps the bound and loses no words on arbitrary mixed input', () => {
    let x = 7;
    const rand = (n: number): number => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x % n;
    };
    const blocks: Block[] = [];
    for (let i = 0; i < 300; i++) {
      const words = Array.from({ length: 1 + rand(120) }, () => `w${rand(1000)}${rand(4) === 0 ? '.' : ''}`).join(' ');
      const page = 1 + Math.floor(i / 20);
      const kind = rand(10) === 0 ? 'heading' : 'paragraph';
      blocks.push({ kind, text: words, locator: { kind: 'page', page } });
    }
    for (const options of [
      { maxTokens: 40, overlapTokens: 10 },
      { maxTokens: 350, overlapTokens: 50 },
      { maxTokens: 100, overlapTokens: 0 },
    ]) {
      const chunks = chunkBlocks(blocks, options);
      expectWithinBound(chunks, options.maxTokens);
      const words = (texts: string[]): Map<string, number> => {
        const counts = new Map<string, number>();
        for (const w of texts.join(' ').split(/\s+/).filter(Boolean)) counts.set(w, (counts.get(w) ?? 0) + 1);
        return counts;
      };
      const inChunks = words(chunks.map((c) => c.text));
      for (const [word, n] of words(blocks.map((b) => b.text)))
        expect(inChunks.get(word) ?? 0).toBeGreaterThanOrEqual(n);
    }
  });

  it('lets prose flow across pages when asked, citing the page range, while table rows stay on their page', () => {
    const prose = pageBlocks(3, 2, 1);
    const table: Block = {
      kind: 'row',
      text: 'Pump | 12 bar',
      locator: { kind: 'page', page: 2 },
      tableHeader: 'Part | Pressure',
      tableId: 'p2-t1',
    };
    const blocks = [prose[0] as Block, prose[1] as Block, table, prose[2] as Block];
    const across = chunkBlocks(blocks, { maxTokens: 200, overlapTokens: 20, acrossPages: true });
    const flowing = across.find((c) => c.text.includes('Page 1 sentence 0'));
    expect(flowing?.locator).toEqual({ kind: 'pages', from: 1, to: 2 });
    expect(flowing?.text).toContain('Page 2 sentence 0');
    const row = across.find((c) => c.text.includes('Pump | 12 bar'));
    expect(row?.locator).toEqual({ kind: 'page', page: 2 });
    expect(row?.text).not.toContain('sentence');
    // Off by default: the same blocks give one page per chunk.
    for (const chunk of chunkBlocks(blocks, { maxTokens: 200, overlapTokens: 20 }))
      expect(chunk.locator.kind).toBe('page');
  });

  it('merges page locators into the covering range', () => {
    expect(
      mergeLocators([
        { kind: 'page', page: 3 },
        { kind: 'pages', from: 4, to: 5 },
      ]),
    ).toEqual({ kind: 'pages', from: 3, to: 5 });
    expect(
      mergeLocators([
        { kind: 'page', page: 7 },
        { kind: 'page', page: 7 },
      ]),
    ).toEqual({ kind: 'page', page: 7 });
  });

  it('skips empty blocks and returns no chunks for no text', () => {
    expect(chunkBlocks([{ kind: 'paragraph', text: '  \n ', locator: { kind: 'page', page: 1 } }])).toEqual([]);
  });

  it('rejects options that could not make progress', () => {
    expect(() => chunkBlocks([], { maxTokens: 8 })).toThrow(RangeError);
    expect(() => chunkBlocks([], { maxTokens: 100, overlapTokens: 60 })).toThrow(RangeError);
    expect(() => chunkBlocks([], { acrossPages: 'yes' as unknown as boolean })).toThrow(RangeError);
  });
});

describe('sentenceSpans', () => {
  it('reads hard line breaks as spaces so a wrapped sentence stays one sentence', () => {
    const text = 'The valve is\nclosed. Then open it.';
    expect(sentenceSpans(text).map(([a, b]) => text.slice(a, b))).toEqual(['The valve is\nclosed. ', 'Then open it.']);
  });
});

describe('token counting', () => {
  test('counts a long run without spaces in slices, never below the exact count by more than a token a slice', () => {
    const run = 'a'.repeat(1000);
    const exact = countTokens(run);
    const sliced = tokenCount(run);
    expect(sliced).toBeGreaterThanOrEqual(exact - 16);
    expect(tokenCount(`short words ${run} end`)).toBeGreaterThan(sliced);
    expect(tokenCount('plain sentence')).toBe(countTokens('plain sentence'));
  });

  test('equals the tokenizer exactly on ordinary text of every kind', () => {
    const samples = [
      "The committee's report, published on 12 March 2024, wasn't final: it'd be revised (twice).",
      'Region: EMEA; Q1 revenue: 1,200.50; Δ vs. plan −3.2 %\nRegion: APAC; Q1 revenue: 980',
      '  indented line\n\n\n   trailing spaces   \n\tTabbed\tcells\t',
      'Ünïcödé naïve café — “quotes” and 日本語のテキスト and emoji 🚀🔥 done',
      'function f(x) { return x ** 2; } // code-ish 0xDEADBEEF 1234567890123',
      'URLs https://example.com/a/b?c=d&e=f and e-mail someone@example.org',
    ];
    for (const text of samples) expect(tokenCount(text)).toBe(countTokens(text));
    // Memoised pieces give the same answer the second time.
    for (const text of samples) expect(tokenCount(text)).toBe(countTokens(text));
  });

  test('treats text that looks like a special token as ordinary text instead of throwing', () => {
    expect(tokenCount('before <|endoftext|> after')).toBe(
      countTokens('before <|endoftext|> after', { disallowedSpecial: new Set() }),
    );
    const chunks = chunkBlocks([
      {
        kind: 'paragraph',
        text: 'A prompt-injection attempt <|endoftext|> in a document.',
        locator: { kind: 'page', page: 1 },
      },
    ]);
    expect(chunks[0]?.text).toContain('<|endoftext|>');
  });

  test('chunks many long cells in time linear in their size', () => {
    // 200 rows of 17 cells of 5,000 letters each (17 MB of text) used to take minutes; a regression would time out.
    const blocks: Block[] = Array.from({ length: 200 }, (_, i) => ({
      kind: 'row' as const,
      text: Array.from({ length: 17 }, (__, j) => `C${j}: ${'a'.repeat(5000)}`).join('; '),
      tableHeader: 'C0 | C1',
      tableId: 't',
      locator: { kind: 'sheet' as const, sheet: 'S', range: `A${i + 2}:Q${i + 2}` },
    }));
    const chunks = chunkBlocks(blocks);
    expect(chunks.length).toBeGreaterThan(200);
    for (const chunk of chunks) expect(chunk.tokens).toBeLessThanOrEqual(DEFAULT_CHUNKING.maxTokens);
  }, 30_000);
});
