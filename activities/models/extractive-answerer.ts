// The offline default answerer: picks the retrieved sentences that best cover the question's content terms
// (IDF-weighted over the retrieved text) and cites the chunk each came from. It never writes text of its own,
// so every claim is a verbatim quote; when no sentence covers enough of the question it says "not found". One
// exception: when the best sentence is a spreadsheet row and the question names one of its columns, the claim is that
// cell ("EMEA, Q2: 1350 thousand euros", see table-cell.ts), cited by the cell's address with the row as the quote.
import type { Answerer, ContextChunk, DraftAnswer, DraftClaim } from './types';
import { findTableCell } from './table-cell';
import { contentTokens, splitSentences } from './text';

export interface ExtractiveOptions {
  /** Minimum IDF-weighted share of the question's terms a sentence must cover to be an answer. */
  floor: number;
  maxSentences: number;
}

interface Candidate {
  chunk: ContextChunk;
  ref: string;
  text: string;
  tokens: Set<string>;
  chunkScore: number;
  order: number;
  coverage: number;
}

export const DEFAULT_EXTRACTIVE: ExtractiveOptions = { floor: 0.45, maxSentences: 2 };

export class ExtractiveAnswerer implements Answerer {
  readonly id = 'extractive-v1';

  constructor(private readonly options: ExtractiveOptions = DEFAULT_EXTRACTIVE) {}

  async answer(input: { question: string; context: ContextChunk[] }): Promise<DraftAnswer> {
    const qTerms = [...new Set(contentTokens(input.question))];
    const candidates: Candidate[] = [];
    input.context.forEach((chunk) =>
      splitSentences(chunk.text).forEach((text) => {
        candidates.push({
          chunk,
          ref: chunk.ref,
          text,
          tokens: new Set(contentTokens(text)),
          chunkScore: chunk.score,
          order: candidates.length,
          coverage: 0,
        });
      }),
    );
    if (qTerms.length === 0 || candidates.length === 0)
      return { notFound: true, claims: [], confidence: qTerms.length === 0 ? 0 : 1, model: this.id };

    // IDF over the retrieved sentences: a term every sentence has says little about which one answers.
    const n = candidates.length;
    const idf = new Map(
      qTerms.map((t) => [t, Math.log(1 + (n + 1) / (1 + candidates.filter((c) => c.tokens.has(t)).length))]),
    );
    const total = qTerms.reduce((s, t) => s + (idf.get(t) ?? 0), 0);
    const coverageOf = (tokens: Set<string>): number =>
      qTerms.reduce((s, t) => s + (tokens.has(t) ? (idf.get(t) ?? 0) : 0), 0) / total;
    for (const c of candidates) c.coverage = coverageOf(c.tokens);

    const ranked = [...candidates].sort(
      (a, b) => b.coverage - a.coverage || b.chunkScore - a.chunkScore || a.order - b.order,
    );
    const best = ranked[0] as Candidate;
    if (best.coverage < this.options.floor) {
      // Confident the answer is absent when even the best sentence covers little of the question.
      return { notFound: true, claims: [], confidence: round(1 - best.coverage / this.options.floor), model: this.id };
    }
    const chosen: Candidate[] = [best];
    const covered = new Set(qTerms.filter((t) => best.tokens.has(t)));
    for (const c of ranked.slice(1)) {
      if (chosen.length >= this.options.maxSentences) break;
      const adds = qTerms.some((t) => c.tokens.has(t) && !covered.has(t));
      if (
        c.coverage >= Math.max(this.options.floor, best.coverage * 0.75) &&
        adds &&
        !chosen.some((x) => x.text === c.text)
      ) {
        chosen.push(c);
        for (const t of qTerms) if (c.tokens.has(t)) covered.add(t);
      }
    }
    chosen.sort((a, b) => a.order - b.order);
    const union = coverageOf(new Set(chosen.flatMap((c) => [...c.tokens])));
    const retrieval = Math.min(1, Math.max(0, best.chunkScore) / 0.5);
    // A best sentence that is a spreadsheet row, and a question naming one of its columns: the answer is that one cell.
    const cell = findTableCell(input.question, best.chunk);
    const claims: DraftClaim[] =
      cell && cell.row === best.text
        ? [{ text: cell.text, refs: [best.ref], cell: { locator: cell.locator, quote: cell.quote } }]
        : chosen.map((c) => ({ text: c.text, refs: [c.ref] }));
    return { notFound: false, claims, confidence: round(0.8 * union + 0.2 * retrieval), model: this.id };
  }
}

const round = (x: number): number => Math.round(Math.min(1, Math.max(0, x)) * 1000) / 1000;
