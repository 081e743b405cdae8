// Verification: every citation must name a chunk retrieved for this tenant in this run, and every claim must be
// supported by the text it cites; what fails is dropped and lowers the confidence.
import type { Citation } from '../../workflows/definitions';
import { NOT_FOUND_ANSWER } from '../../workflows/definitions';
import type { ContextChunk, DraftAnswer } from '../models/types';
import { cellWithin } from '../models/table-cell';
import { contentTokens, splitSentences } from '../models/text';

export interface VerifiedAnswer {
  status: 'answered' | 'not_found';
  answer: string;
  citations: Citation[];
  confidence: number;
  checks: { droppedClaims: number; unsupportedClaims: number; invalidRefs: number };
  /** What the confidence signals are computed from: the kept claims' text, the chunk cited first, support. */
  evidence: { answerText: string; citedRef?: string; lexicalSupport: number; kept: number };
}

const NO_EVIDENCE = { answerText: '', lexicalSupport: 0, kept: 0 };

/** Share of a claim's content tokens that its cited text contains. */
export const SUPPORT_THRESHOLD = 0.6;
const MAX_QUOTE = 300;

export function support(claim: string, source: string): number {
  const claimTokens = contentTokens(claim);
  if (claimTokens.length === 0) return 0;
  const sourceTokens = new Set(contentTokens(source));
  return claimTokens.filter((t) => sourceTokens.has(t)).length / claimTokens.length;
}

/**
 * The sentence of the chunk that best matches the claim, verbatim: the one containing most of the claim's
 * terms, ties going to the one with fewest other terms (a table row beats the header line above it).
 */
export function bestQuote(claim: string, chunkText: string): string {
  let best = '';
  let bestScore = -1;
  for (const sentence of splitSentences(chunkText)) {
    const s = support(claim, sentence) * 2 + support(sentence, claim);
    if (s > bestScore) {
      best = sentence;
      bestScore = s;
    }
  }
  return best.length > MAX_QUOTE ? `${best.slice(0, MAX_QUOTE - 1)}…` : best;
}

/**
 * Confidence rules:
 * - the draft says "not found": status not_found with the answerer's confidence that the answer is absent;
 * - claims were drafted but none survives: not_found with confidence 0, so the question goes to review;
 * - otherwise: draft confidence × share of surviving claims × mean support of the survivors.
 */
export function verifyAnswer(input: { question: string; draft: DraftAnswer; context: ContextChunk[] }): VerifiedAnswer {
  const { draft, context } = input;
  const byRef = new Map(context.map((c) => [c.ref, c]));
  const checks = { droppedClaims: 0, unsupportedClaims: 0, invalidRefs: 0 };
  if (draft.notFound || draft.claims.length === 0) {
    return {
      status: 'not_found',
      answer: NOT_FOUND_ANSWER,
      citations: [],
      confidence: clamp(draft.confidence),
      checks,
      evidence: NO_EVIDENCE,
    };
  }
  const citations: Citation[] = [];
  const numberOf = new Map<string, number>();
  const sentences: string[] = [];
  const supports: number[] = [];
  const keptText: string[] = [];
  let citedRef: string | undefined;
  for (const claim of draft.claims) {
    const chunks = claim.refs.map((r) => byRef.get(r));
    checks.invalidRefs += chunks.filter((c) => !c).length;
    const valid = chunks.filter((c): c is ContextChunk => c !== undefined);
    // A cell claim names one cell of the chunk it cites and quotes that chunk verbatim; its unit may come from the
    // chunk's heading (the table's title), so the heading counts as support for it.
    const cellOf = (c: ContextChunk): { locator: string; quote: string } | undefined =>
      claim.cell &&
      c.ref === claim.refs[0] &&
      c.text.includes(claim.cell.quote) &&
      cellWithin(claim.cell.locator, c.locator)
        ? claim.cell
        : undefined;
    const supported = valid
      .map((c) => ({ c, s: support(claim.text, cellOf(c) && c.heading ? `${c.heading}\n${c.text}` : c.text) }))
      .filter((x) => x.s >= SUPPORT_THRESHOLD);
    if (valid.length === 0) {
      checks.droppedClaims += 1;
      continue;
    }
    // Text that addresses the answerer (an injected instruction quoted from a document, or a model repeating one) is
    // data about the document, never an answer: dropped like an unsupported claim.
    if (looksLikeInstruction(claim.text)) {
      checks.unsupportedClaims += 1;
      checks.droppedClaims += 1;
      continue;
    }
    if (supported.length === 0) {
      checks.unsupportedClaims += 1;
      checks.droppedClaims += 1;
      continue;
    }
    const marks: string[] = [];
    for (const { c } of supported) {
      const cell = cellOf(c);
      const key = cell ? `${c.chunkId}\u0000${cell.locator}` : c.chunkId;
      let n = numberOf.get(key);
      if (n === undefined) {
        n = citations.length + 1;
        numberOf.set(key, n);
        citations.push({
          documentId: c.documentId,
          sourceName: c.sourceName,
          locator: cell?.locator ?? c.locator,
          chunkId: c.chunkId,
          quote: cell?.quote ?? bestQuote(claim.text, c.text),
        });
      }
      marks.push(`[${n}]`);
    }
    supports.push(Math.max(...supported.map((x) => x.s)));
    citedRef ??= supported[0]?.c.ref;
    keptText.push(withoutCitationMarks(claim.text));
    sentences.push(`${withoutCitationMarks(claim.text)} ${marks.join('')}`);
  }
  if (sentences.length === 0)
    return {
      status: 'not_found',
      answer: NOT_FOUND_ANSWER,
      citations: [],
      confidence: 0,
      checks,
      evidence: NO_EVIDENCE,
    };
  const meanSupport = supports.reduce((a, b) => a + b, 0) / supports.length;
  const kept = sentences.length / draft.claims.length;
  const confidence = clamp(draft.confidence * kept * meanSupport);
  return {
    status: 'answered',
    answer: sentences.join(' '),
    citations,
    confidence,
    checks,
    evidence: { answerText: keptText.join(' '), citedRef, lexicalSupport: meanSupport, kept },
  };
}

const INSTRUCTION_PATTERNS: RegExp[] = [
  /\b(ignore|disregard|forget|override)\b[^.]{0,40}\b(previous|prior|above|earlier|all|any|system)\b[^.]{0,20}\b(instructions?|prompts?|rules|context)\b/i,
  /\b(system|developer)\s+(prompt|message|notice|instruction)s?\b/i,
  /\b(answer|respond|reply|say|output)\s+(only\s+|with\s+|exactly\s+)?["'‘“]/i,
  /\bcite\b[^.]{0,40}(\bC\d+\b|\[C\d+\]|\bchunk\s*id\b)/i,
  /\b(attention|note to)\s+(the\s+)?(ai|assistant|model|llm|language model)s?\b/i,
];

/** Whether a sentence reads as an instruction to the answerer rather than as content ("ignore previous …"). */
export function looksLikeInstruction(text: string): boolean {
  return INSTRUCTION_PATTERNS.some((p) => p.test(text));
}

/**
 * A claim's text with citation look-alikes removed ("[C7]", "[3]", "[chunk 1234…]"): the answer's only citation marks
 * are the ones verification adds, so a marker quoted from a document (or typed by a model) can never pass for one.
 */
export function withoutCitationMarks(text: string): string {
  return text
    .replace(/\s*\[(?:C\d+|\d+|chunk[^\]]*)\]/gi, '')
    .replace(/\s{2,}/g, ' ')
    .trim();
}

const clamp = (x: number): number => Math.round(Math.min(1, Math.max(0, x)) * 1000) / 1000;
