import { verifyAnswer } from '../../activities/answer/verify';
import { ExtractiveAnswerer } from '../../activities/models/extractive-answerer';
import { cellWithin, findTableCell, parseSheetLocator } from '../../activities/models/table-cell';
import type { ContextChunk } from '../../activities/models/types';

const revenue = {
  locator: 'Revenue!A3:E5',
  heading: 'Acme revenue by region, 2025 (thousand euros)',
  text: [
    'Region | Q1 | Q2 | Q3 | Q4',
    'Region: EMEA; Q1: 1200; Q2: 1350; Q3: 1280; Q4: 1490',
    'Region: Americas; Q1: 2100; Q2: 2240; Q3: 2310; Q4: 2505',
    'Region: Asia Pacific; Q1: 860; Q2: 910; Q3: 975; Q4: 1020',
  ].join('\n'),
};

describe('table cell answers', () => {
  test('a row label and a column header name one cell, cited by its own address, with the title unit', () => {
    const cell = findTableCell('What was the EMEA revenue in Q2?', revenue);
    expect(cell).toMatchObject({
      locator: 'Revenue!C3',
      value: '1350',
      unit: 'thousand euros',
      text: 'EMEA, Q2: 1350 thousand euros',
    });
    expect(revenue.text).toContain(cell!.quote);
    expect(findTableCell('Asia Pacific revenue in Q4?', revenue)?.locator).toBe('Revenue!E5');
  });

  test('a two-row header is matched as Group / Label', () => {
    const chunk = {
      locator: "'Sales 2025'!B4:D5",
      text: [
        'Region | Revenue / Q1 | Revenue / Q2',
        'Region: EMEA; Revenue / Q1: 1,200; Revenue / Q2: 1,350',
        'Region: Americas; Revenue / Q1: 2,100; Revenue / Q2: 2,240',
      ].join('\n'),
    };
    const cell = findTableCell('What was the Americas revenue in Q2?', chunk);
    expect(cell).toMatchObject({ locator: "'Sales 2025'!D5", value: '2,240', text: 'Americas, Revenue / Q2: 2,240' });
    expect(cell?.unit).toBeUndefined();
  });

  test("a column header's unit wins; a title that shares no word with the table lends none", () => {
    const chunk = {
      locator: 'Prices!A2:C3',
      heading: 'Quarterly revenue (thousand euros)',
      text: [
        'Product | Unit price (USD) | Stock',
        'Product: Widget; Unit price (USD): 12.50; Stock: 40',
        'Product: Gadget; Unit price (USD): 30.00; Stock: 7',
      ].join('\n'),
    };
    expect(findTableCell('What is the unit price of a Gadget?', chunk)).toMatchObject({
      locator: 'Prices!B3',
      text: 'Gadget, Unit price: 30.00 USD',
      unit: 'USD',
    });
    const stock = findTableCell('How much Widget stock is there?', chunk);
    expect(stock).toMatchObject({ locator: 'Prices!C2', value: '40' });
    expect(stock?.unit).toBeUndefined();
  });

  test('no single row or column → undefined (the row answer stands)', () => {
    expect(findTableCell('What was the EMEA revenue?', revenue)).toBeUndefined(); // no column named
    expect(findTableCell('What was the revenue in Q2?', revenue)).toBeUndefined(); // no row named
    const tied = { ...revenue, text: revenue.text.replace('Americas', 'EMEA') };
    expect(findTableCell('What was the EMEA revenue in Q2?', tied)).toBeUndefined(); // two rows match
    // Rows that do not map onto the locator's rows (a title line in the chunk, or a range of another size).
    expect(findTableCell('EMEA Q2?', { ...revenue, locator: 'Revenue!A2:E5' })).toBeUndefined();
    expect(findTableCell('EMEA Q2?', { ...revenue, text: `Title\n${revenue.text}` })).toBeUndefined();
    expect(findTableCell('EMEA Q2?', { ...revenue, locator: 'p. 3' })).toBeUndefined();
  });

  test('locator helpers', () => {
    expect(parseSheetLocator("'Q1 Sales'!B2:AA10")).toEqual({ sheet: "'Q1 Sales'", c1: 2, r1: 2, c2: 27, r2: 10 });
    expect(cellWithin('Revenue!C3', 'Revenue!A3:E5')).toBe(true);
    expect(cellWithin('Revenue!C6', 'Revenue!A3:E5')).toBe(false);
    expect(cellWithin('Other!C3', 'Revenue!A3:E5')).toBe(false);
    expect(cellWithin('Revenue!C3:D3', 'Revenue!A3:E5')).toBe(false);
  });
});

describe('extractive answerer with tables', () => {
  const context: ContextChunk[] = [{ ref: 'C1', chunkId: 'k1', documentId: 'sales', score: 0.4, ...revenue }];

  test('answers with the cell and verification cites the cell', async () => {
    const question = 'What was the EMEA revenue in Q2?';
    const draft = await new ExtractiveAnswerer().answer({ question, context });
    expect(draft.claims).toEqual([
      {
        text: 'EMEA, Q2: 1350 thousand euros',
        refs: ['C1'],
        cell: { locator: 'Revenue!C3', quote: 'Region: EMEA; Q1: 1200; Q2: 1350; Q3: 1280; Q4: 1490' },
      },
    ]);
    const v = verifyAnswer({ question, draft, context });
    expect(v.status).toBe('answered');
    expect(v.answer).toBe('EMEA, Q2: 1350 thousand euros [1]');
    expect(v.citations).toEqual([expect.objectContaining({ locator: 'Revenue!C3', chunkId: 'k1' })]);
  });

  test('an ambiguous question keeps the row answer and the chunk range', async () => {
    const question = 'What were the EMEA figures for Q2 and Q3?';
    const draft = await new ExtractiveAnswerer().answer({ question, context });
    expect(draft.claims[0]).toEqual({ text: 'Region: EMEA; Q1: 1200; Q2: 1350; Q3: 1280; Q4: 1490', refs: ['C1'] });
    expect(verifyAnswer({ question, draft, context }).citations[0]?.locator).toBe('Revenue!A3:E5');
  });

  test('verification ignores a cell outside the cited chunk or a quote not in it', () => {
    const claim = { text: 'EMEA, Q2: 1350', refs: ['C1'] };
    const draft = (cell: { locator: string; quote: string }) => ({
      notFound: false,
      claims: [{ ...claim, cell }],
      confidence: 0.8,
      model: 'm',
    });
    const outside = verifyAnswer({
      question: 'q',
      draft: draft({ locator: 'Revenue!C9', quote: 'Q2: 1350' }),
      context,
    });
    expect(outside.citations[0]?.locator).toBe('Revenue!A3:E5');
    const invented = verifyAnswer({
      question: 'q',
      draft: draft({ locator: 'Revenue!C3', quote: 'Q2: 9999' }),
      context,
    });
    expect(invented.citations[0]).toMatchObject({ locator: 'Revenue!A3:E5' });
    expect(invented.citations[0]?.quote).not.toBe('Q2: 9999');
  });
});
