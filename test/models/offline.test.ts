import { ExtractiveAnswerer } from '../../activities/models/extractive-answerer';
import { LexicalEmbedder } from '../../activities/models/lexical-embedder';
import { contentTokens, splitSentences } from '../../activities/models/text';
import type { ContextChunk } from '../../activities/models/types';

const dot = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);

describe('lexical embedder', () => {
  const e = new LexicalEmbedder(256);

  test('is deterministic, L2-normalised and of the declared size', async () => {
    const [a, b] = await e.embed(['Vacation days carry over', 'Vacation days carry over']);
    expect(a).toEqual(b);
    expect(a).toHaveLength(256);
    expect(dot(a!, a!)).toBeCloseTo(1, 6);
  });

  test('scores related texts above unrelated ones', async () => {
    const [q, related, unrelated] = await e.embed([
      'How many vacation days do employees get?',
      'Employees receive 25 vacation days per year.',
      'The server room is cooled to 18 degrees.',
    ]);
    expect(dot(q!, related!)).toBeGreaterThan(dot(q!, unrelated!) + 0.2);
  });

  test('embeds text without content words as the zero vector', async () => {
    const [v] = await e.embed(['the of and']);
    expect(v!.every((x) => x === 0)).toBe(true);
  });
});

describe('tokeniser', () => {
  test('stems inflections conservatively so question and text meet', () => {
    expect(contentTokens('submitted')).toEqual(contentTokens('submit'));
    expect(contentTokens('policies')).toEqual(contentTokens('policy'));
    expect(contentTokens('The 1,200 units')).toEqual(['1200', 'unit']);
  });

  test('splits sentences but keeps abbreviations, decimals and spreadsheet rows whole', () => {
    expect(splitSentences('Rates rose 3.5 percent, e.g. in May. Then they fell.')).toEqual([
      'Rates rose 3.5 percent, e.g. in May.',
      'Then they fell.',
    ]);
    expect(splitSentences('Region: EMEA; Q1: 1,200; Q2: 1,350')).toEqual(['Region: EMEA; Q1: 1,200; Q2: 1,350']);
  });
});

describe('extractive answerer', () => {
  const a = new ExtractiveAnswerer();
  const context: ContextChunk[] = [
    {
      ref: 'C1',
      chunkId: 'c1',
      documentId: 'hr',
      locator: 'p. 1',
      score: 0.5,
      text: 'Our office is in Lyon. Full-time employees receive 25 vacation days per calendar year.',
    },
    {
      ref: 'C2',
      chunkId: 'c2',
      documentId: 'it',
      locator: 'p. 4',
      score: 0.2,
      text: 'Laptops are replaced every three years.',
    },
  ];

  test('quotes the sentence that answers and cites its chunk', async () => {
    const d = await a.answer({ question: 'How many vacation days do full-time employees receive?', context });
    expect(d.notFound).toBe(false);
    expect(d.claims[0]).toEqual({
      text: 'Full-time employees receive 25 vacation days per calendar year.',
      refs: ['C1'],
    });
  });

  test('says not found when no sentence covers the question', async () => {
    const d = await a.answer({ question: 'Who won the football world cup in 1998?', context });
    expect(d.notFound).toBe(true);
    expect(d.claims).toEqual([]);
  });

  test('is more confident for a verbatim match than for a partial one', async () => {
    const verbatim = await a.answer({ question: 'How often are laptops replaced?', context });
    const partial = await a.answer({ question: 'How often are laptops and monitors replaced by facilities?', context });
    expect(verbatim.confidence).toBeGreaterThan(partial.confidence);
  });
});
