// BM25 sparse vectors for Qdrant's lexical side. Qdrant stores the document half of BM25 (term-frequency
// saturation with length normalisation) as the sparse vector's values and applies the IDF half itself
// (the collection's sparse vector has modifier 'idf'), so a query vector of 1s scores Σ idf(t) · tf-part(t, d).
//
// Tokens come from contentTokens (activities/models/text.ts), the project's one tokeniser: lowercase, NFKC,
// stopwords dropped, light stemming. A token's index is its FNV-1a 32-bit hash (unsigned, < 2^32): stable across
// processes and releases, with no vocabulary to store. Two tokens of one text that collide share one index and
// their counts add up (a rare, harmless over-count).
//
// Length normalisation needs the corpus's average document length, which a stateless encoder cannot know;
// BM25_AVG_LEN = 120 content tokens approximates one chunk (a few hundred words, stopwords removed). A wrong
// average only shifts how much long chunks are damped; ranking among chunks of similar length is unaffected.
import { contentTokens } from '../models/text';

export const BM25_K1 = 1.2;
export const BM25_B = 0.75;
/** Assumed average chunk length in content tokens (see above). */
export const BM25_AVG_LEN = 120;

export interface SparseVector {
  indices: number[];
  values: number[];
}

const encoder = new TextEncoder();

/** FNV-1a over the token's UTF-8 bytes: an unsigned 32-bit integer. */
export function tokenIndex(token: string): number {
  let h = 0x811c9dc5;
  for (const byte of encoder.encode(token)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** BM25 term-frequency saturation: tf·(k1+1) / (tf + k1·(1 − b + b·len/avgLen)). */
export function bm25Weight(tf: number, len: number, avgLen = BM25_AVG_LEN, k1 = BM25_K1, b = BM25_B): number {
  return (tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * len) / avgLen));
}

function sorted(entries: Map<number, number>): SparseVector {
  const indices = [...entries.keys()].sort((a, b) => a - b);
  return { indices, values: indices.map((i) => entries.get(i)!) };
}

/** The sparse vector of a chunk's text; empty when the text has no content tokens. */
export function documentSparseVector(text: string): SparseVector {
  const tokens = contentTokens(text);
  const tf = new Map<number, number>();
  for (const t of tokens) {
    const i = tokenIndex(t);
    tf.set(i, (tf.get(i) ?? 0) + 1);
  }
  const weights = new Map<number, number>();
  for (const [i, n] of tf) weights.set(i, bm25Weight(n, tokens.length));
  return sorted(weights);
}

/** The sparse vector of a query: each distinct content token with value 1. */
export function querySparseVector(text: string): SparseVector {
  const weights = new Map<number, number>();
  for (const t of contentTokens(text)) weights.set(tokenIndex(t), 1);
  return sorted(weights);
}
