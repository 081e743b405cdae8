import { RRF_K, cosine, fuseRanks, hybridDepth, hybridText } from '../../activities/vectors/fusion';

describe('reciprocal rank fusion', () => {
  test('sums 1 / (60 + rank) over the lists an id is in, and reports 1-based ranks', () => {
    expect(RRF_K).toBe(60);
    const fused = fuseRanks(['a', 'b', 'c'], ['c', 'd']);
    expect(fused).toEqual([
      { id: 'c', fused: 1 / 63 + 1 / 61, denseRank: 3, lexicalRank: 1 },
      { id: 'a', fused: 1 / 61, denseRank: 1 },
      { id: 'b', fused: 1 / 62, denseRank: 2 },
      { id: 'd', fused: 1 / 62, lexicalRank: 2 },
    ]);
  });

  test('ties are broken deterministically: better single rank, then the dense side, then id', () => {
    expect(fuseRanks(['x'], ['y']).map((r) => r.id)).toEqual(['x', 'y']);
    expect(fuseRanks([], ['b', 'a']).map((r) => r.id)).toEqual(['b', 'a']);
    // p and q have the same fused score and the same best rank: the dense side's first wins.
    expect(fuseRanks(['p', 'q'], ['q', 'p']).map((r) => r.id)).toEqual(['p', 'q']);
  });

  test('a repeated id keeps its first rank; empty lists fuse to nothing; k is a parameter', () => {
    expect(fuseRanks(['a', 'a', 'b'], [])).toEqual([
      { id: 'a', fused: 1 / 61, denseRank: 1 },
      { id: 'b', fused: 1 / 63, denseRank: 3 },
    ]);
    expect(fuseRanks([], [])).toEqual([]);
    expect(fuseRanks(['a'], ['a'], 1)[0]!.fused).toBe(1);
  });

  test('hybrid needs a text with content words; each side fetches at least 20 candidates', () => {
    expect(hybridText(undefined)).toBeUndefined();
    expect(hybridText('  ')).toBeUndefined();
    expect(hybridText('the of and')).toBeUndefined();
    expect(hybridText('What is the refund policy?')).toBe('What is the refund policy?');
    expect(hybridDepth(3)).toBe(20);
    expect(hybridDepth(50)).toBe(100);
  });

  test('cosine', () => {
    expect(cosine([1, 0], [1, 0])).toBeCloseTo(1, 12);
    expect(cosine([1, 0], [0, 2])).toBe(0);
    expect(cosine([3, 4], [6, 8])).toBeCloseTo(1, 12);
    expect(cosine([1, 1], [1, 0])).toBeCloseTo(Math.SQRT1_2, 12);
    expect(cosine([0, 0], [1, 0])).toBe(0);
    expect(cosine([1], [1, 0])).toBe(0);
  });
});
