// Re-evaluation: golden questions (given plus reviewer corrections) run through the answering path without
// escalation; metrics are compared with the tenant's baseline and drift is flagged.
import { log, patched, upsertSearchAttributes } from '@temporalio/workflow';
import type {
  EvaluateTenantInput,
  EvaluationMetrics,
  EvaluationQuestionResult,
  EvaluationReport,
  GoldenQuestion,
} from './definitions';
import { normalizeQuestion } from '../common/ids';
import type { AnswerSignals } from '../activities/answer/signals';
import { EvalDriftKey } from './definitions';
import { answering, evaluationStore } from './proxies';
import { runAnswerPipeline } from './pipeline';

const LABELS_PER_CALL = 200;

export async function evaluateTenant(input: EvaluateTenantInput & { tolerance?: number }): Promise<EvaluationReport> {
  const corrections =
    input.includeCorrections === false ? [] : await evaluationStore.loadCorrections({ tenantId: input.tenantId });
  const golden = dedupe([...input.golden, ...corrections]);
  const policy = await answering.tenantPolicy({ tenantId: input.tenantId });

  const results: EvaluationQuestionResult[] = [];
  const labels: { key: string; kind: 'answered' | 'not_found'; signals: AnswerSignals; correct: boolean }[] = [];
  for (const g of golden) {
    const r = await runAnswerPipeline(input.tenantId, g.question, policy.topK);
    const expected = g.expectedDocuments ?? [];
    const retrievalHit = expected.length === 0 ? null : r.retrieved.some((c) => expected.includes(c.documentId));
    const expectAnswer = g.expectAnswer !== false;
    let correct = expectAnswer ? r.status === 'answered' : abstained(r.status);
    if (correct && expectAnswer && expected.length > 0)
      correct = r.citations.some((c) => expected.includes(c.documentId));
    if (correct && expectAnswer && g.expectedAnswerContains) {
      correct = r.answer.toLowerCase().includes(g.expectedAnswerContains.toLowerCase());
    }
    results.push({ question: g.question, status: r.status, confidence: r.confidence, retrievalHit, correct });
    if (r.signals && (r.status === 'answered' || r.status === 'not_found'))
      labels.push({ key: `golden:${normalizeQuestion(g.question)}`, kind: r.status, signals: r.signals, correct });
  }
  // Golden outcomes label the tenant's calibration; with enough labels (golden plus reviewer decisions) it is refit,
  // and the tenant's threshold follows from the new fit.
  let calibration: { version: string; labels: number; refitted: boolean } | undefined;
  if (patched('calibration-refit')) {
    // In pages, so no payload grows with the golden set.
    for (let i = 0; i < labels.length; i += LABELS_PER_CALL)
      await answering.recordLabels({ tenantId: input.tenantId, labels: labels.slice(i, i + LABELS_PER_CALL) });
    const fit = await answering.refitCalibration({ tenantId: input.tenantId });
    calibration = { version: fit.version, labels: fit.labels, refitted: fit.refitted };
  }

  const metrics = computeMetrics(golden, results, policy.threshold);
  const baseline = (await evaluationStore.loadBaseline({ tenantId: input.tenantId })) ?? undefined;
  const drift = detectDrift(metrics, baseline, input.tolerance ?? policy.driftTolerance);
  const report: EvaluationReport = {
    tenantId: input.tenantId,
    runAt: new Date().toISOString(),
    metrics,
    baseline,
    drift,
    results,
    ...(calibration ? { calibration } : {}),
  };
  await evaluationStore.saveEvaluation({ report, setBaseline: input.setBaseline === true || baseline === undefined });
  upsertSearchAttributes([{ key: EvalDriftKey, value: drift.detected }]);
  if (drift.detected) log.warn('quality drift detected', { tenantId: input.tenantId, reasons: drift.reasons });
  return report;
}

function dedupe(golden: GoldenQuestion[]): GoldenQuestion[] {
  // Runs started before the one question rule keep the rule they began with.
  const key = patched('one-question-rule') ? normalizeQuestion : (q: string) => q.trim().toLowerCase();
  const seen = new Map<string, GoldenQuestion>();
  for (const g of golden) seen.set(key(g.question), g);
  return [...seen.values()];
}

/** "Not in the documents" and "no documents at all" are both abstentions: neither answers the question. */
const abstained = (status: EvaluationQuestionResult['status']): boolean =>
  status === 'not_found' || status === 'no_documents';

const rate = (num: number, den: number): number | null => (den === 0 ? null : num / den);

export function computeMetrics(
  golden: GoldenQuestion[],
  results: EvaluationQuestionResult[],
  threshold: number,
): EvaluationMetrics {
  const scored = results.filter((r) => r.retrievalHit !== null);
  const unanswerable = results.filter((_, i) => golden[i]?.expectAnswer === false);
  const n = results.length;
  return {
    questions: n,
    retrievalHitRate: rate(scored.filter((r) => r.retrievalHit).length, scored.length),
    answerAccuracy: rate(results.filter((r) => r.correct).length, n) ?? 0,
    abstentionAccuracy: rate(unanswerable.filter((r) => abstained(r.status)).length, unanswerable.length),
    meanConfidence: n === 0 ? 0 : results.reduce((s, r) => s + r.confidence, 0) / n,
    escalationRate: rate(results.filter((r) => r.confidence < threshold).length, n) ?? 0,
  };
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
