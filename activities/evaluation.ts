// Evaluation state: reviewer corrections (which become golden questions), the drift baseline and saved reports.
import { log } from '@temporalio/activity';
import { assertTenantId } from '../common/ids';
import type { EvaluationMetrics, EvaluationReport, GoldenQuestion, ReviewOutcome } from '../workflows/definitions';
import type { EvaluationStore } from './evaluation-store';

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

    async saveEvaluation(input: { report: EvaluationReport; setBaseline: boolean }): Promise<void> {
      assertTenantId(input.report.tenantId);
      await store.saveReport(input.report, input.setBaseline);
      log.info('evaluation saved', { tenantId: input.report.tenantId, drift: input.report.drift.detected });
    },
  };
}
