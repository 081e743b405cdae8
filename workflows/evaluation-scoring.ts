// Scoring of golden questions, shared by the evaluation workflow and the activity that evaluates a page of them:
// pure functions, no I/O, safe in the workflow sandbox. Metrics are sums (a tally), so pages add up.
import type {
  EvaluationMetrics,
  EvaluationQuestionResult,
  EvaluationReport,
  GoldenQuestion,
  RetrievedRef,
} from './definitions';
import type { AnswerSignals } from '../activities/answer/signals';
import { normalizeQuestion } from '../common/ids';

/** "Not in the documents" and "no documents at all" are both abstentions: neither answers the question. */
export const abstained = (status: EvaluationQuestionResult['status']): boolean =>
  status === 'not_found' || status === 'no_documents';

/** One golden question's outcome: was retrieval right (when it can be scored), and was the answer right. */
export function scoreQuestion(
  g: GoldenQuestion,
  r: {
    status: EvaluationQuestionResult['status'];
    answer: string;
    confidence: number;
    retrieved: RetrievedRef[];
    citations: { documentId: string }[];
  },
): EvaluationQuestionResult {
  const expected = g.expectedDocuments ?? [];
  const retrievalHit = expected.length === 0 ? null : r.retrieved.some((c) => expected.includes(c.documentId));
  const expectAnswer = g.expectAnswer !== false;
  let correct = expectAnswer ? r.status === 'answered' : abstained(r.status);
  if (correct && expectAnswer && expected.length > 0)
    correct = r.citations.some((c) => expected.includes(c.documentId));
  if (correct && expectAnswer && g.expectedAnswerContains)
    correct = r.answer.toLowerCase().includes(g.expectedAnswerContains.toLowerCase());
  return { question: g.question, status: r.status, confidence: r.confidence, retrievalHit, correct };
}

export interface GoldenLabel {
  key: string;
  kind: 'answered' | 'not_found';
  signals: AnswerSignals;
  correct: boolean;
}

/** A golden question's outcome as a calibration label (signals only), when the answer has signals to learn from. */
export function goldenLabel(
  g: GoldenQuestion,
  r: { status: string; signals?: AnswerSignals },
  correct: boolean,
): GoldenLabel | undefined {
  if (!r.signals || (r.status !== 'answered' && r.status !== 'not_found')) return undefined;
  return { key: `golden:${normalizeQuestion(g.question)}`, kind: r.status, signals: r.signals, correct };
}

/**
 * One golden question per question: by `keyOf` (the normalised question), the later of two entries wins and keeps the
 * earlier one's place. Corrections come after the given set, so a reviewer's correction replaces a given question.
 */
export function dedupeGolden(
  golden: GoldenQuestion[],
  keyOf: (question: string) => string = normalizeQuestion,
): GoldenQuestion[] {
  const seen = new Map<string, GoldenQuestion>();
  for (const g of golden) seen.set(keyOf(g.question), g);
  return [...seen.values()];
}

/** The counts the metrics are made of; tallies of pages add up to the tally of the whole run. */
export interface EvaluationTally {
  questions: number;
  retrievalScored: number;
  retrievalHits: number;
  correct: number;
  unanswerable: number;
  unanswerableAbstained: number;
  confidenceSum: number;
  escalated: number;
}

export const emptyTally = (): EvaluationTally => ({
  questions: 0,
  retrievalScored: 0,
  retrievalHits: 0,
  correct: 0,
  unanswerable: 0,
  unanswerableAbstained: 0,
  confidenceSum: 0,
  escalated: 0,
});

export function tallyOf(
  golden: GoldenQuestion[],
  results: EvaluationQuestionResult[],
  threshold: number,
): EvaluationTally {
  const t = emptyTally();
  results.forEach((r, i) => {
    t.questions += 1;
    if (r.retrievalHit !== null) {
      t.retrievalScored += 1;
      if (r.retrievalHit) t.retrievalHits += 1;
    }
    if (r.correct) t.correct += 1;
    if (golden[i]?.expectAnswer === false) {
      t.unanswerable += 1;
      if (abstained(r.status)) t.unanswerableAbstained += 1;
    }
    t.confidenceSum += r.confidence;
    if (r.confidence < threshold) t.escalated += 1;
  });
  return t;
}

export function addTallies(a: EvaluationTally, b: EvaluationTally): EvaluationTally {
  const out = { ...a };
  for (const k of Object.keys(out) as (keyof EvaluationTally)[]) out[k] += b[k];
  return out;
}

const rate = (num: number, den: number): number | null => (den === 0 ? null : num / den);

export function metricsOf(t: EvaluationTally): EvaluationMetrics {
  return {
    questions: t.questions,
    retrievalHitRate: rate(t.retrievalHits, t.retrievalScored),
    answerAccuracy: rate(t.correct, t.questions) ?? 0,
    abstentionAccuracy: rate(t.unanswerableAbstained, t.unanswerable),
    meanConfidence: t.questions === 0 ? 0 : t.confidenceSum / t.questions,
    escalationRate: rate(t.escalated, t.questions) ?? 0,
  };
}

export function computeMetrics(
  golden: GoldenQuestion[],
  results: EvaluationQuestionResult[],
  threshold: number,
): EvaluationMetrics {
  return metricsOf(tallyOf(golden, results, threshold));
}

export function detectDrift(
  metrics: EvaluationMetrics,
  baseline: EvaluationMetrics | undefined,
  tolerance: number,
): EvaluationReport['drift'] {
  if (!baseline) return { detected: false, reasons: [] };
  const reasons: string[] = [];
  const drop = (name: keyof EvaluationMetrics, higherIsBetter = true): void => {
    const now = metrics[name];
    const then = baseline[name];
    if (typeof now !== 'number' || typeof then !== 'number') return;
    const delta = higherIsBetter ? then - now : now - then;
    if (delta > tolerance)
      reasons.push(`${name} ${higherIsBetter ? 'fell' : 'rose'} from ${then.toFixed(2)} to ${now.toFixed(2)}`);
  };
  drop('retrievalHitRate');
  drop('answerAccuracy');
  drop('abstentionAccuracy');
  drop('escalationRate', false);
  return { detected: reasons.length > 0, reasons };
}
