import {
  BM25_AVG_LEN,
  bm25Weight,
  documentSparseVector,
  querySparseVector,
  tokenIndex,
} from '../../activities/vectors/sparse';
import { contentTokens } from '../../activities/models/text';

describe('BM25 sparse vectors', () => {
  test('token indices are FNV-1a 32-bit hashes: stable, unsigned, below 2^32', () => {
    // Published FNV-1a 32 test vectors.
    expect(tokenIndex('')).toBe(0x811c9dc5);
    expect(tokenIndex('a')).toBe(0xe40c292c);
    expect(tokenIndex('foobar')).toBe(0xbf9cf968);
    for (const t of ['refund', 'zanzibarite', 'naïve', '日本', '25']) {
      const i = tokenIndex(t);
      expect(Number.isInteger(i)).toBe(true);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(i).toBeLessThan(2 ** 32);
      expect(tokenIndex(t)).toBe(i);
    }
    expect(tokenIndex('refund')).not.toBe(tokenIndex('refunds'));
  });

  test('a document vector holds each content token once, sorted by index, weighted by BM25 tf saturation', () => {
    const text = 'Refunds are refunded: the refund policy covers refunds.';
    const tokens = contentTokens(text);
    const v = documentSparseVector(text);
    expect(v.indices).toEqual([...v.indices].sort((a, b) => a - b));
    expect(new Set(v.indices).size).toBe(v.indices.length);
    expect(v.indices).toHaveLength(new Set(tokens).size);
    const at = (token: string): number => v.values[v.indices.indexOf(tokenIndex(token))]!;
    const tf = (token: string): number => tokens.filter((t) => t === token).length;
    expect(tf('refund')).toBe(4);
    expect(at('refund')).toBeCloseTo(bm25Weight(4, tokens.length), 12);
    expect(at('policy')).toBeCloseTo(bm25Weight(1, tokens.length), 12);
    expect(at('refund')).toBeGreaterThan(at('policy'));
    // Stopwords carry no weight.
    expect(v.indices).not.toContain(tokenIndex('the'));
  });

  test('tf saturates below k1 + 1 and longer documents are damped', () => {
    const len = BM25_AVG_LEN;
    // At the average length: tf·2.2 / (tf + 1.2).
    expect(bm25Weight(1, len)).toBeCloseTo(1, 12);
    expect(bm25Weight(2, len)).toBeCloseTo(4.4 / 3.2, 12);
    // Each further occurrence adds less than the one before, and the weight never reaches k1 + 1 = 2.2.
    const weights = [0, 1, 2, 3, 4, 5, 6].map((tf) => bm25Weight(tf, len));
    for (let tf = 2; tf < weights.length; tf++) {
      expect(weights[tf]! - weights[tf - 1]!).toBeGreaterThan(0);
      expect(weights[tf]! - weights[tf - 1]!).toBeLessThan(weights[tf - 1]! - weights[tf - 2]!);
    }
    expect(bm25Weight(10_000, len)).toBeLessThan(2.2);
    expect(bm25Weight(10_000, len)).toBeGreaterThan(2.19);
    expect(bm25Weight(2, len * 4)).toBeLessThan(bm25Weight(2, len));
    expect(bm25Weight(2, len / 4)).toBeGreaterThan(bm25Weight(2, len));
  });

  test('a query vector has each distinct content token with value 1; no words, no vector', () => {
    const q = querySparseVector('Refund? refund policy for the refunds');
    expect(q.indices).toEqual([tokenIndex('policy'), tokenIndex('refund')].sort((a, b) => a - b));
    expect(q.values).toEqual([1, 1]);
    expect(querySparseVector('the of and')).toEqual({ indices: [], values: [] });
    expect(documentSparseVector('')).toEqual({ indices: [], values: [] });
  });
});
