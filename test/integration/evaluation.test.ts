// Re-evaluation: a Temporal Schedule per tenant starts evaluateTenant runs; metrics are compared with the
// baseline and a quality drop is flagged as drift.
import path from 'node:path';
import { LocalObjectStore } from '../../common/object-store';
import { evaluationScheduleId } from '../../workflows/definitions';
import type { EvaluationQuestionResult } from '../../workflows/definitions';
import type { EvaluationReport, GoldenQuestion } from '../../workflows/definitions';
import { eventually, startHarness, writeTemp } from './harness';
import type { Harness } from './harness';

let h: Harness;

/** Every result of the tenant's evaluation runs, as the evaluation store keeps them (reports list failures only). */
async function storedResults(dataDir: string, tenantId: string): Promise<EvaluationQuestionResult[]> {
  const objects = new LocalObjectStore(path.join(dataDir, 'evaluations'));
  const keys = await objects.list(`${tenantId}/runs`);
  const lines = (await Promise.all(keys.map(async (k) => (await objects.get(k))?.toString('utf8') ?? '')))
    .join('')
    .split('\n');
  return lines.filter(Boolean).map((l) => JSON.parse(l) as EvaluationQuestionResult);
}

const golden: GoldenQuestion[] = [
  {
    question: 'How many days do employees have to submit expense reports?',
    expectedDocuments: ['expenses.md'],
    expectedAnswerContains: '30 days',
  },
  { question: 'What colour are the meeting room chairs?', expectAnswer: false },
];

beforeAll(async () => {
  h = await startHarness();
  const file = await writeTemp(
    h.dataDir,
    'hooli/expenses.md',
    '# Expenses\n\nExpense reports must be submitted within 30 days of purchase.\n',
  );
  await h.client.ingest({ tenantId: 'hooli', documentId: 'expenses.md', source: { kind: 'path', path: file } });
});
afterAll(async () => h?.stop());

test('an on-demand evaluation scores retrieval and answers and sets the first baseline', async () => {
  const report = await h.client.runEvaluation({ tenantId: 'hooli', golden });
  expect(report.metrics.questions).toBe(2);
  expect(report.metrics.retrievalHitRate).toBe(1);
  // The report lists the wrong answers (none); the store keeps every result.
  expect(report.resultsScope).toBe('failures');
  expect(report.results).toEqual([]);
  const stored = await storedResults(h.dataDir, 'hooli');
  expect(stored[0]).toMatchObject({ status: 'answered', retrievalHit: true, correct: true });
  expect(stored[1]).toMatchObject({ status: 'not_found', correct: true });
  expect(report.metrics.answerAccuracy).toBe(1);
  expect(report.drift.detected).toBe(false);
});

test('the schedule starts evaluation runs, and a quality drop is flagged as drift', async () => {
  // Quality drops: the source document is replaced by one that no longer answers the golden question.
  const file = await writeTemp(h.dataDir, 'hooli/expenses.md', '# Expenses\n\nThe kitchen is cleaned every evening.\n');
  await h.client.ingest({ tenantId: 'hooli', documentId: 'expenses.md', source: { kind: 'path', path: file } });

  const scheduleId = await h.client.scheduleEvaluation({ tenantId: 'hooli', golden, every: '1h' });
  expect(scheduleId).toBe(evaluationScheduleId('hooli'));
  try {
    await h.client.triggerEvaluation('hooli');
    const run = await eventually(
      async () => {
        for await (const wf of h.client.temporal.workflow.list({
          query: `WorkflowType = 'evaluateTenant' AND TenantId = 'hooli' AND ExecutionStatus = 'Completed'`,
        })) {
          if (wf.workflowId.startsWith('evaluate:hooli:scheduled')) return wf;
        }
        return undefined;
      },
      60_000,
      'a scheduled evaluation run to complete',
    );
    const report = (await h.client.temporal.workflow.getHandle(run.workflowId).result()) as EvaluationReport;
    expect(report.drift.detected).toBe(true);
    expect(report.drift.reasons.join(' ')).toMatch(/answerAccuracy fell/);
    expect(report.results.map((r) => r.question)).toEqual([golden[0]?.question]);
    const desc = await h.client.temporal.schedule.getHandle(scheduleId).describe();
    expect(desc.info.recentActions.length).toBeGreaterThan(0);
  } finally {
    await h.client.deleteEvaluationSchedule('hooli');
  }
});

test('reviewer corrections become golden questions', async () => {
  const h2 = await startHarness({ GROUNDWORK_TENANT_THRESHOLDS: 'wayne=0.99' });
  try {
    const file = await writeTemp(h2.dataDir, 'wayne/cave.md', '# Cave\n\nThe cave entrance is behind the waterfall.\n');
    await h2.client.ingest({ tenantId: 'wayne', documentId: 'cave.md', source: { kind: 'path', path: file } });
    const handle = await h2.client.startAsk({ tenantId: 'wayne', question: 'Where is the secret cave entrance?' });
    const taskId = await eventually(
      async () => (await h2.client.listReviews('wayne')).at(0)?.taskId,
      30_000,
      'review task',
    );
    await h2.client.approve('wayne', taskId, 'alfred');
    await handle.result();
    const report = await h2.client.runEvaluation({ tenantId: 'wayne', golden: [] });
    expect(report.metrics.questions).toBe(1);
    const stored = await storedResults(h2.dataDir, 'wayne');
    expect(stored.map((r) => r.question)).toEqual(['Where is the secret cave entrance?']);
    expect(stored[0]!.retrievalHit).toBe(true);
  } finally {
    await h2.stop();
  }
});
