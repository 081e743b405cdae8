// The evidence an answer's confidence is computed from: numbers only (no text), so they can travel in workflow
// history, be recorded with the answer, and label a reviewer's decision for the tenant's calibration.
import type { ContextChunk } from '../models/types';
import { contentTokens, splitSentences } from '../models/text';

/** Every signal is in [0, 1]; the calibrator (calibration.ts) maps them to a probability of being correct. */
export interface AnswerSignals {
  /** Dense cosine similarity of the best retrieved chunk. */
  retrieval: number;
  /** Dense similarity margin of the best retrieved chunk over the second (×4, capped at 1). */
  margin: number;
  /** Dense cosine of the chunk the answer cites first (of the best-covering chunk for "not found"). */
  citedScore: number;
  /** 1 / rank of that chunk in the retrieval order. */
  citedRank: number;
  /** Agreement of the dense and lexical (BM25) rankings on that chunk: mean of 1/rank in each; 0 when dense-only. */
  agreement: number;
  /** IDF-weighted share of the question's terms the answer contains (for "not found": the best retrieved sentence). */
  coverage: number;
  /** Share of the question's terms the cited chunk does not contain at all (a swapped name, a number, a place). */
  missingTerms: number;
  /** Lexical support of the answer's claims by the chunks they cite (verification's measure). */
  lexicalSupport: number;
  /** Cosine similarity between the question and the answer text, in the embedder's space. */
  semanticSupport: number;
  /** 1 when the answer has what the question asks for (a number, a date, a name), 0 when not, 0.5 when unknown. */
  typeMatch: number;
  /** Share of drafted claims that survived verification. */
  kept: number;
  /** The answerer's own confidence. */
  draftConfidence: number;
  /** Geometric-mean token probability of the model's reply, when the provider returns log-probabilities. */
  tokenProbability?: number;
}

export const SIGNAL_NAMES = [
  'retrieval',
  'margin',
  'citedScore',
  'citedRank',
  'agreement',
  'coverage',
  'missingTerms',
  'lexicalSupport',
  'semanticSupport',
  'typeMatch',
  'kept',
  'draftConfidence',
  'tokenProbability',
] as const satisfies readonly (keyof AnswerSignals)[];

export type SignalName = (typeof SIGNAL_NAMES)[number];

/** A retrieved chunk with what the store said of it; ranks are 1-based and absent when the list did not have it. */
export interface RankedChunk extends ContextChunk {
  denseRank?: number;
  lexicalRank?: number;
}

const clamp01 = (x: number): number => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);
const round = (x: number): number => Math.round(clamp01(x) * 10_000) / 10_000;

/** IDF of the question's terms over the retrieved chunks' sentences: a term every sentence has tells little. */
export function questionTermWeights(question: string, context: ContextChunk[]): Map<string, number> {
  const terms = [...new Set(contentTokens(question))];
  const sentences = context.flatMap((c) => splitSentences(c.text).map((s) => new Set(contentTokens(s))));
  const n = sentences.length;
  return new Map(terms.map((t) => [t, Math.log(1 + (n + 1) / (1 + sentences.filter((s) => s.has(t)).length))]));
}

/** IDF-weighted share of the weighted terms present in `text`. */
export function weightedCoverage(weights: Map<string, number>, text: string): number {
  const total = [...weights.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const tokens = new Set(contentTokens(text));
  let covered = 0;
  for (const [t, w] of weights) if (tokens.has(t)) covered += w;
  return covered / total;
}

type QuestionType = 'number' | 'date' | 'name' | 'unknown';

/** What kind of answer the question asks for, from its wording (English). */
export function questionType(question: string): QuestionType {
  const q = question.toLowerCase();
  if (/\b(what|which)\s+(year|decade|century|date|month|day)\b|\bwhen\b/.test(q)) return 'date';
  if (
    /\bhow\s+(many|much|long|far|old|large|big|high|often)\b|\b(what|which)\s+(percentage|percent|number|amount)\b/.test(
      q,
    )
  )
    return 'number';
  if (
    /\bwho(m|se)?\b|\bwhere\b|\b(what|which)\s+(country|city|company|person|organi[sz]ation|team|group|language)\b/.test(
      q,
    )
  )
    return 'name';
  return 'unknown';
}

const MONTHS =
  /\b(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(tember)?|oct(ober)?|nov(ember)?|dec(ember)?)\b/i;

/** 1 when `answer` holds something of the asked type that the question does not already hold; 0.5 when unknown. */
export function typeMatch(question: string, answer: string): number {
  const type = questionType(question);
  if (type === 'unknown') return 0.5;
  const asked = new Set(question.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
  const fresh = (answer.match(/[\p{L}\p{N}][\p{L}\p{N},.]*/gu) ?? [])
    .map((w) => w.replace(/[.,]+$/, ''))
    .filter((w) => !asked.has(w.toLowerCase()));
  const has = (p: RegExp): boolean => fresh.some((w) => p.test(w));
  if (type === 'number')
    return has(/\d/) ||
      /\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|dozen)\b/i.test(
        fresh.join(' '),
      )
      ? 1
      : 0;
  if (type === 'date')
    return has(/^\d{2,4}s?$/) || MONTHS.test(fresh.join(' ')) || /\bcentury\b/i.test(fresh.join(' ')) ? 1 : 0;
  // A name: a capitalised word that does not start the sentence.
  return fresh.slice(1).some((w) => /^\p{Lu}/u.test(w)) ? 1 : 0;
}

export interface SignalInput {
  question: string;
  /** The retrieved chunks, in retrieval order. */
  context: RankedChunk[];
  /** The answer's text without citation marks ("" for not found). */
  answer: string;
  /** Ref of the chunk the answer cites first; absent for not found. */
  citedRef?: string;
  lexicalSupport: number;
  kept: number;
  draftConfidence: number;
  tokenProbability?: number;
  /** Cosine between the question's and the answer's embeddings, when computed. */
  semanticSupport?: number;
}

/** The sentence of the retrieved chunks that covers most of the question, and its chunk: what "not found" is about. */
export function bestSentence(question: string, context: ContextChunk[]): { text: string; ref?: string } {
  const weights = questionTermWeights(question, context);
  let best = { text: '', ref: undefined as string | undefined, coverage: -1 };
  for (const c of context)
    for (const s of splitSentences(c.text)) {
      const coverage = weightedCoverage(weights, s);
      if (coverage > best.coverage) best = { text: s, ref: c.ref, coverage };
    }
  return best;
}

export function computeSignals(input: SignalInput): AnswerSignals {
  const { question, context } = input;
  const weights = questionTermWeights(question, context);
  const scores = context.map((c) => c.score);
  const top = Math.max(0, ...scores);
  const second = [...scores].sort((a, b) => b - a)[1] ?? 0;
  const index = Math.max(
    0,
    context.findIndex((c) => c.ref === input.citedRef),
  );
  const cited = context[index];
  const citedTokens = new Set(contentTokens(cited?.text ?? ''));
  const terms = [...weights.keys()];
  const missing = terms.length ? terms.filter((t) => !citedTokens.has(t)).length / terms.length : 0;
  const inv = (rank?: number): number => (rank ? 1 / rank : 0);
  const hybrid = context.some((c) => c.lexicalRank !== undefined);
  return {
    retrieval: round(top),
    margin: round((top - second) * 4),
    citedScore: round(cited?.score ?? 0),
    citedRank: round(cited ? 1 / (index + 1) : 0),
    agreement: round(hybrid && cited ? (inv(cited.denseRank) + inv(cited.lexicalRank)) / 2 : 0),
    coverage: round(weightedCoverage(weights, input.answer)),
    missingTerms: round(missing),
    lexicalSupport: round(input.lexicalSupport),
    semanticSupport: round(input.semanticSupport ?? 0),
    typeMatch: round(typeMatch(question, input.answer)),
    kept: round(input.kept),
    draftConfidence: round(input.draftConfidence),
    ...(input.tokenProbability !== undefined ? { tokenProbability: round(input.tokenProbability) } : {}),
  };
}
