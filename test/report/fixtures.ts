// Run records and reports for the report tests, made by code.
import type { EvaluationMetrics, EvaluationQuestionResult, EvaluationReport } from '../../workflows/definitions';
import { runRecordOf } from '../../client/report/model';
import type { EvaluationRunRecord } from '../../client/report/model';

export const metrics = (over: Partial<EvaluationMetrics> = {}): EvaluationMetrics => ({
  questions: 4,
  retrievalHitRate: 1,
  answerAccuracy: 0.75,
  abstentionAccuracy: 1,
  meanConfidence: 0.7,
  escalationRate: 0.25,
  ...over,
});

export const result = (question: string, confidence: number, correct: boolean): EvaluationQuestionResult => ({
  question,
  status: 'answered',
  confidence,
  retrievalHit: true,
  correct,
});

export function report(over: Partial<EvaluationReport> = {}): EvaluationReport {
  return {
    tenantId: 'acme',
    runAt: '2026-01-01T00:00:00.000Z',
    metrics: metrics(),
    drift: { detected: false, reasons: [] },
    results: [],
    resultsScope: 'failures',
    ...over,
  };
}

/** A run of `results` on `day` (1-based, January 2026) with the given accuracy and its baseline. */
export function run(
  day: number,
  results: EvaluationQuestionResult[],
  over: Partial<EvaluationReport> = {},
  threshold = 0.5,
): EvaluationRunRecord {
  const correct = results.filter((r) => r.correct).length;
  const m = metrics({
    questions: results.length,
    answerAccuracy: results.length ? correct / results.length : 0,
    meanConfidence: results.length ? results.reduce((s, r) => s + r.confidence, 0) / results.length : 0,
    escalationRate: results.length ? results.filter((r) => r.confidence < threshold).length / results.length : 0,
  });
  return runRecordOf(
    report({ runAt: `2026-01-${String(day).padStart(2, '0')}T06:00:00.000Z`, metrics: m, ...over }),
    results,
    `run-${day}`,
    { runKey: `run-${day}`, threshold, driftTolerance: 0.1 },
  );
}
