// Evaluation state: reviewer corrections (which become golden questions), the drift baseline and saved reports.
import { Context, log } from '@temporalio/activity';
import { assertTenantId } from '../common/ids';
import type { EvaluationMetrics, EvaluationReport, GoldenQuestion, ReviewOutcome } from '../workflows/definitions';
import { renderReportPage } from '../client/report/load';
import { runRecordOf } from '../client/report/model';
import type { EvaluationRunContext } from '../client/report/model';
import type { EvaluationStore } from './evaluation-store';

/** The drift tolerance a report assumes for runs that did not record theirs (GROUNDWORK_DRIFT_TOLERANCE's default). */
const DEFAULT_DRIFT_TOLERANCE = 0.1;

/**
 * Keeps the run's record (metrics, compact outcomes, worst questions) and writes its HTML report. Runs started before
 * reports carry no run context: the activity's own run id names them and only the report's results are at hand.
 */
async function keepRunReport(
  store: EvaluationStore,
  input: { report: EvaluationReport; run?: EvaluationRunContext },
): Promise<void> {
  const { report, run } = input;
  const runId = run?.runKey ?? Context.current().info.workflowExecution?.runId ?? `at-${report.runAt}`;
  const results =
    run && report.resultsScope === 'failures' ? await store.runResults(report.tenantId, run.runKey) : report.results;
  await store.saveRunRecord(runRecordOf(report, results, runId, run));
  try {
    const { html } = await renderReportPage(store, report.tenantId, {
      driftTolerance: run?.driftTolerance ?? DEFAULT_DRIFT_TOLERANCE,
      now: new Date(report.runAt),
    });
    await store.saveReportPage(report.tenantId, runId, html);
  } catch (err) {
    // The evaluation is saved; a page that cannot be written is reported, not retried over the run's result.
    log.warn('evaluation report not written', {
      tenantId: report.tenantId,
      error: err instanceof Error ? err.name : 'unknown',
    });
  }
}

export function createEvaluationActivities({ store }: { store: EvaluationStore }) {
  return {
    async recordCorrection(input: { tenantId: string; question: string; outcome: ReviewOutcome }): Promise<void> {
      assertTenantId(input.tenantId);
      if (input.outcome.decision === 'expired') return;
      await store.addCorrection(input.tenantId, {
        question: input.question,
        decision: input.outcome.decision,
        documentIds: [...new Set(input.outcome.citations.map((c) => c.documentId))],
        reviewerId: input.outcome.reviewerId ?? 'unknown',
        recordedAt: input.outcome.decidedAt,
      });
    },

    async loadCorrections(input: { tenantId: string }): Promise<GoldenQuestion[]> {
      assertTenantId(input.tenantId);
      return store.correctionsAsGolden(input.tenantId);
    },

    async loadBaseline(input: { tenantId: string }): Promise<EvaluationMetrics | null> {
      assertTenantId(input.tenantId);
      return (await store.baseline(input.tenantId)) ?? null;
    },

    async saveEvaluation(input: {
      report: EvaluationReport;
      setBaseline: boolean;
      /** How the run was scored (runs started before reports leave it out). */
      run?: EvaluationRunContext;
    }): Promise<void> {
      assertTenantId(input.report.tenantId);
      await store.saveReport(input.report, input.setBaseline);
      await keepRunReport(store, input);
      log.info('evaluation saved', { tenantId: input.report.tenantId, drift: input.report.drift.detected });
    },
  };
}
