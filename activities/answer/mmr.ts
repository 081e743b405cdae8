// Maximal marginal relevance: picks k of the candidates, each time the one most relevant to the question and least
// like those already picked, so five near-copies of one paragraph do not crowd out the chunk that answers.
import { contentTokens } from '../models/text';

export interface MmrCandidate {
  /** Relevance to the question, any scale (normalised here). */
  relevance: number;
  text: string;
}

/** Jaccard similarity of two texts' content-term sets. */
export function termOverlap(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 0;
  let shared = 0;
  for (const t of a) if (b.has(t)) shared += 1;
  return shared / (a.size + b.size - shared);
}

/** Indices of the chosen candidates, in the order chosen. `lambda` 1 is relevance only, 0 diversity only. */
export function mmrSelect(candidates: MmrCandidate[], k: number, lambda = 0.75): number[] {
  const max = Math.max(...candidates.map((c) => c.relevance), 0);
  const min = Math.min(...candidates.map((c) => c.relevance), 0);
  const rel = candidates.map((c) => (max > min ? (c.relevance - min) / (max - min) : 1));
  const terms = candidates.map((c) => new Set(contentTokens(c.text)));
  const chosen: number[] = [];
  const left = new Set(candidates.map((_, i) => i));
  while (chosen.length < k && left.size > 0) {
    let best = -1;
    let bestScore = -Infinity;
    for (const i of left) {
      const redundancy = Math.max(
        0,
        ...chosen.map((j) => termOverlap(terms[i] as Set<string>, terms[j] as Set<string>)),
      );
      const score = lambda * (rel[i] ?? 0) - (1 - lambda) * redundancy;
      if (score > bestScore) {
        best = i;
        bestScore = score;
      }
    }
    chosen.push(best);
    left.delete(best);
  }
  return chosen;
}
