// Bounded history: an evaluation of 2,000 golden questions answers them in pages inside activities and continues as
// new, so every run of it stays far below 10k events and every payload below 256 KB, with no chunk text in history.
import { WorkflowIdReusePolicy } from '@temporalio/client';
import { TenantIdKey, evaluationWorkflowId } from '../../workflows/definitions';
import type { EvaluationReport, GoldenQuestion } from '../../workflows/definitions';
import { startHarness, writeTemp } from './harness';
import type { Harness } from './harness';

jest.setTimeout(600_000);

let h: Harness;

/** Every byte array (payload data) inside a history object. */
function bytesIn(value: unknown, out: Uint8Array[] = []): Uint8Array[] {
  if (value instanceof Uint8Array) out.push(value);
  else if (Array.isArray(value)) for (const v of value) bytesIn(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) bytesIn(v, out);
  return out;
}
const TENANT = 'scaleco';
const SECRET_WORDS = 'quartz-flamingo';

beforeAll(async () => {
  h = await startHarness();
  const file = await writeTemp(
    h.dataDir,
    `${TENANT}/handbook.md`,
    `# Handbook\n\nEmployees get 25 vacation days per year.\n\nThe ${SECRET_WORDS} room is on the third floor.\n`,
  );
  await h.client.ingest({ tenantId: TENANT, documentId: 'handbook.md', source: { kind: 'path', path: file } });
});
afterAll(async () => h?.stop());

test('2,000 golden questions: every run under 10k events and 256 KB per payload, chunk text never in history', async () => {
  const golden: GoldenQuestion[] = Array.from({ length: 2000 }, (_, i) =>
    i % 2 === 0
      ? { question: `How many vacation days do employees get? (${i})`, expectAnswer: true }
      : { question: `What colour is the roof of building ${i}?`, expectAnswer: false },
  );
  const workflowId = evaluationWorkflowId(TENANT, 'scale-test');
  const handle = await h.client.temporal.workflow.start('evaluateTenant', {
    taskQueue: h.taskQueue,
    workflowId,
    args: [{ tenantId: TENANT, golden }],
    typedSearchAttributes: [{ key: TenantIdKey, value: TENANT }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
  const report = (await handle.result()) as EvaluationReport;
  expect(report.metrics.questions).toBe(2000);
  expect(report.resultsScope).toBe('failures');
  expect(report.results.length).toBeLessThanOrEqual(200);

  // Every run of the chain: the first, and each one it continued as.
  let runs = 0;
  for await (const wf of h.client.temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    runs += 1;
    const history = await h.client.temporal.workflow.getHandle(workflowId, wf.runId).fetchHistory();
    const events = history.events ?? [];
    expect(events.length).toBeLessThan(10_000);
    for (const e of events) expect(bytesIn(e).reduce((n, b) => n + b.length, 0)).toBeLessThan(256 * 1024);
    // The chunk's own words never reach the evaluation's history (retrieval happens inside the page activity).
    const text = bytesIn(history)
      .map((b) => Buffer.from(b).toString('utf8'))
      .join('\n');
    expect(text).toContain('vacation days');
    expect(text).not.toContain(SECRET_WORDS);
  }
  // It continued as new on the way.
  expect(runs).toBeGreaterThanOrEqual(2);
});
