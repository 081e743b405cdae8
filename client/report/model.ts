// What an evaluation report is drawn from: one record per evaluation run (kept by the evaluation store under
// history/), made from the run's report and every result of the run. Pure functions, no I/O.
import { riskCoverage } from '../../activities/answer/calibration';
import type { CurvePoint } from '../../activities/answer/calibration';
import type { EvaluationMetrics, EvaluationQuestionResult, EvaluationReport } from '../../workflows/definitions';
import { detectDrift } from '../../workflows/evaluation-scoring';

/** Wrong answers a run record keeps for the "worst questions" table. */
export const WORST_KEPT = 25;

/** How the run was scored, as the workflow knew it (absent for runs started before reports). */
export interface EvaluationRunContext {
  /** The evaluation run's key (its first run id): the name of its results file and of its HTML report. */
  runKey: string;
  /** The tenant's threshold for the run: an answer at or above it is served, below it escalated. */
  threshold: number;
  driftTolerance: number;
}

export interface WorstQuestion extends EvaluationQuestionResult {
  /** Served to the asker (confidence at or above the threshold): wrong and not caught by review. */
  served: boolean | null;
}

export interface EvaluationRunRecord {
  runId: string;
  tenantId: string;
  runAt: string;
  metrics: EvaluationMetrics;
  /** The baseline the run was compared with; absent when the run set the first baseline. */
  baseline?: EvaluationMetrics;
  drift: EvaluationReport['drift'];
  threshold: number | null;
  driftTolerance: number | null;
  /** Wrong answers served (confidence ≥ threshold) over all questions; null when the threshold is unknown. */
  servedWrongRate: number | null;
  /** (confidence, correct) per question, compact: [confidence, 1 | 0]; null when the run's results are incomplete. */
  outcomes: [number, 0 | 1][] | null;
  /** The wrong answers, most confident first (at most WORST_KEPT). */
  worst: WorstQuestion[];
}

/**
 * A run's record from its report and the results at hand: every result of the run, or only its failures when that
 * is all there is (then the outcomes and the served-wrong rate are not known).
 */
export function runRecordOf(
  report: EvaluationReport,
  results: EvaluationQuestionResult[],
  runId: string,
  context?: EvaluationRunContext,
): EvaluationRunRecord {
  // A retried page may have appended its results twice: questions are unique in a run, the latest wins.
  const byQuestion = new Map<string, EvaluationQuestionResult>();
  for (const r of results) byQuestion.set(r.question, r);
  const items = [...byQuestion.values()];
  const threshold = context?.threshold ?? null;
  const servedOf = (r: EvaluationQuestionResult): boolean | null =>
    threshold === null ? null : r.confidence >= threshold;
  // Every question has its result (a failures-only list is complete only when every answer was wrong).
  const complete = items.length > 0 && items.length === report.metrics.questions;
  const worst = items
    .filter((r) => !r.correct)
    .sort((a, b) => b.confidence - a.confidence)
    .slice(0, WORST_KEPT)
    .map((r) => ({ ...r, served: servedOf(r) }));
  return {
    runId,
    tenantId: report.tenantId,
    runAt: report.runAt,
    metrics: report.metrics,
    ...(report.baseline ? { baseline: report.baseline } : {}),
    drift: report.drift,
    threshold,
    driftTolerance: context?.driftTolerance ?? null,
    servedWrongRate:
      complete && threshold !== null ? items.filter((r) => servedOf(r) && !r.correct).length / items.length : null,
    outcomes: complete ? items.map((r) => [round4(r.confidence), r.correct ? 1 : 0]) : null,
    worst,
  };
}

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

/** The metrics a report charts over time, in order; `better` says which direction is good. */
export const TRACKED_METRICS = [
  { key: 'answerAccuracy', title: 'Accuracy', better: 'higher' },
  { key: 'abstentionAccuracy', title: 'Not-found accuracy', better: 'higher' },
  { key: 'servedWrongRate', title: 'Served-wrong rate', better: 'lower' },
  { key: 'escalationRate', title: 'Escalation rate', better: 'lower' },
  { key: 'meanConfidence', title: 'Mean confidence', better: 'higher' },
] as const;

export type TrackedMetric = (typeof TRACKED_METRICS)[number]['key'];

export function metricValue(run: EvaluationRunRecord, key: TrackedMetric): number | null {
  return key === 'servedWrongRate' ? run.servedWrongRate : run.metrics[key];
}

/** The metrics compared with the baseline (the drift check's metrics and mean confidence). */
export const BASELINE_METRICS: { key: keyof EvaluationMetrics; title: string; checked: boolean }[] = [
  { key: 'retrievalHitRate', title: 'Retrieval hit rate', checked: true },
  { key: 'answerAccuracy', title: 'Accuracy', checked: true },
  { key: 'abstentionAccuracy', title: 'Not-found accuracy', checked: true },
  { key: 'escalationRate', title: 'Escalation rate', checked: true },
  { key: 'meanConfidence', title: 'Mean confidence', checked: false },
];

export interface BaselineRow {
  title: string;
  baseline: number | null;
  last: number | null;
  delta: number | null;
  /** Flagged exactly as the evaluation flags drift: a move the wrong way by more than the tolerance. */
  drift: boolean;
}

/** The last run against its baseline, row per metric; drift per metric by the evaluation's own check. */
export function baselineRows(run: EvaluationRunRecord, fallbackTolerance: number): BaselineRow[] {
  const baseline = run.baseline;
  if (!baseline) return [];
  const tolerance = run.driftTolerance ?? fallbackTolerance;
  const reasons = detectDrift(run.metrics, baseline, tolerance).reasons;
  return BASELINE_METRICS.map(({ key, title, checked }) => {
    const last = run.metrics[key] ?? null;
    const then = baseline[key] ?? null;
    return {
      title,
      baseline: then,
      last,
      delta: typeof last === 'number' && typeof then === 'number' ? last - then : null,
      drift: checked && reasons.some((r) => r.startsWith(`${key} `)),
    };
  });
}

export interface RiskCoveragePoint {
  /** Share of questions served at this threshold. */
  coverage: number;
  /** Share of the served answers that are wrong. */
  risk: number;
  confidence: number;
}

/** The risk–coverage curve of a run: one point per distinct confidence, highest first. */
export function riskCoverageOf(outcomes: [number, 0 | 1][]): RiskCoveragePoint[] {
  const n = outcomes.length;
  if (n === 0) return [];
  return riskCoverage(outcomes.map(([confidence, correct]) => ({ confidence, correct: correct === 1 }))).map(
    (p: CurvePoint) => ({ coverage: p.served / n, risk: p.wrong / p.served, confidence: p.confidence }),
  );
}

/** Spend per answer over a window, from the usage ledger; absent when nothing is recorded. */
export interface CostSummary {
  from: string;
  to: string;
  /** Every model call of the tenant in the window (answers, ingestion, evaluations). */
  costUsd: number;
  /** Answer runs with model calls in the window. */
  answers: number;
  /** Cost of the answer runs over their number; null without answers. */
  costPerAnswerUsd: number | null;
}

export interface EvaluationReportData {
  tenantId: string;
  generatedAt: string;
  /** Oldest first. */
  runs: EvaluationRunRecord[];
  /** The configured drift tolerance, for runs that did not record theirs. */
  driftTolerance: number;
  cost: CostSummary | null;
  /** Why cost is absent, in a sentence (no ledger, nothing recorded). */
  costNote?: string;
}
