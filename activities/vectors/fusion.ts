// Reciprocal Rank Fusion, the one way both stores merge their dense and lexical (BM25) result lists:
// fused(d) = Σ 1 / (k + rank_i(d)) over the lists d appears in, ranks 1-based, k = 60 (Cormack et al., 2009).
// Scores of the two sides are never compared, only ranks, so cosine and BM25 need no common scale.
import { contentTokens } from '../models/text';

export const RRF_K = 60;

export interface FusedRank {
  id: string;
  /** The RRF score. */
  fused: number;
  /** 1-based rank in the dense list; absent when the id was not in it. */
  denseRank?: number;
  /** 1-based rank in the lexical list; absent when the id was not in it. */
  lexicalRank?: number;
}

/** 1-based rank of every id in a list; a repeated id keeps its first (best) rank. */
function ranks(ids: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  ids.forEach((id, i) => {
    if (!out.has(id)) out.set(id, i + 1);
  });
  return out;
}

/**
 * Fuses a dense and a lexical list of ids (each best first). Ordered by fused score, ties broken by the better
 * single rank, then the dense side, then id, so the order is deterministic.
 */
export function fuseRanks(dense: readonly string[], lexical: readonly string[], k = RRF_K): FusedRank[] {
  const d = ranks(dense);
  const l = ranks(lexical);
  const out: FusedRank[] = [];
  for (const id of new Set([...d.keys(), ...l.keys()])) {
    const denseRank = d.get(id);
    const lexicalRank = l.get(id);
    const fused = (denseRank ? 1 / (k + denseRank) : 0) + (lexicalRank ? 1 / (k + lexicalRank) : 0);
    const r: FusedRank = { id, fused };
    if (denseRank !== undefined) r.denseRank = denseRank;
    if (lexicalRank !== undefined) r.lexicalRank = lexicalRank;
    out.push(r);
  }
  const best = (r: FusedRank): number => Math.min(r.denseRank ?? Infinity, r.lexicalRank ?? Infinity);
  return out.sort(
    (a, b) =>
      b.fused - a.fused ||
      best(a) - best(b) ||
      (a.denseRank ?? Infinity) - (b.denseRank ?? Infinity) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** The query text when a search should be hybrid: given and with at least one content token; else undefined. */
export function hybridText(text: string | undefined): string | undefined {
  return text !== undefined && contentTokens(text).length > 0 ? text : undefined;
}

/** How many candidates each side of a hybrid search fetches before fusion, for `limit` results. */
export const hybridDepth = (limit: number): number => Math.max(2 * limit, 20);

/** Cosine similarity; 0 when either vector is zero or the lengths differ. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
