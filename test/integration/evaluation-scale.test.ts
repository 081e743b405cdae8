// Bounded history: an evaluation of 2,000 golden questions answers them in pages inside activities and continues as
// new, so every run of it stays far below 10k events and every payload below 256 KB, with no chunk text in history.
import { WorkflowIdReusePolicy } from '@temporalio/client';
import { TenantIdKey, evaluationWorkflowId } from '../../workflows/definitions';
import type { EvaluationReport, GoldenQuestion } from '../../workflows/definitions';
import { GroundworkClient } from '../../client/groundwork-client';
import { eventually, startHarness, writeTemp } from './harness';
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
    // The chunk's own words never reach the evaluation's history (retrieval happens inside the page activity), and
    // the questions, given inline here, are in the first run's input only: pages read them from the store, and a
    // continued run carries where the run stands, not the set.
    const text = bytesIn(history)
      .map((b) => Buffer.from(b).toString('utf8'))
      .join('\n');
    expect(text).not.toContain(SECRET_WORDS);
    const started = Buffer.concat(bytesIn(events[0])).toString('utf8');
    if (started.includes('"resume"')) expect(text).not.toContain('vacation days');
    else expect(started).toContain('vacation days');
  }
  // It continued as new on the way.
  expect(runs).toBeGreaterThanOrEqual(2);
});

test('a golden set larger than a history payload goes by reference, on demand and on the schedule', async () => {
  // 600 questions of about 500 bytes: some 300 KB of questions, more than one payload may hold inline.
  const padding = 'about the quarterly maintenance schedule of the north plant'.repeat(7);
  const golden: GoldenQuestion[] = Array.from({ length: 600 }, (_, i) => ({
    question: `How many vacation days do employees get, asked ${i} times ${padding}?`,
    expectAnswer: true,
  }));
  expect(Buffer.byteLength(JSON.stringify(golden))).toBeGreaterThan(256 * 1024);

  const report = await h.client.runEvaluation({ tenantId: TENANT, golden });
  expect(report.metrics.questions).toBe(600);

  // Every run of the evaluation: none carries the questions (its input holds the reference, pages read the store).
  const runs = await eventually(async () => {
    const found: { workflowId: string; runId: string }[] = [];
    for await (const wf of h.client.temporal.workflow.list({
      query: `WorkflowType = 'evaluateTenant' AND TenantId = '${TENANT}' AND ExecutionStatus = 'Completed'`,
    }))
      if (wf.workflowId.includes('manual')) found.push({ workflowId: wf.workflowId, runId: wf.runId });
    return found.length > 0 ? found : undefined;
  });
  const { workflowId, runId } = runs[runs.length - 1]!;
  const history = await h.client.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
  for (const e of history.events ?? []) expect(bytesIn(e).reduce((n, b) => n + b.length, 0)).toBeLessThan(256 * 1024);
  const started = Buffer.concat(bytesIn(history.events?.[0])).toString('utf8');
  expect(started.length).toBeLessThan(4096);
  expect(started).toMatch(/"goldenRef":"[0-9a-f]{64}"/);
  expect(started).not.toContain('asked 7 times');

  // The Schedule's action holds the reference too, and a run it starts evaluates the whole set.
  const scheduleId = await h.client.scheduleEvaluation({ tenantId: TENANT, golden, every: '1d', paused: true });
  const action = (await h.client.temporal.schedule.getHandle(scheduleId).describe()).action;
  const args = (action as { args?: { golden: GoldenQuestion[]; goldenRef?: string }[] }).args?.[0];
  expect(args?.golden).toEqual([]);
  expect(args?.goldenRef).toMatch(/^[0-9a-f]{64}$/);
  await h.client.deleteEvaluationSchedule(TENANT);

  // A client without the deployment's evaluation store cannot pass such a set inline: a typed refusal, nothing started.
  const bare = await GroundworkClient.connect({ address: h.config.temporal.address as string, taskQueue: h.taskQueue });
  try {
    await expect(bare.runEvaluation({ tenantId: TENANT, golden })).rejects.toMatchObject({
      code: 'GOLDEN_SET_TOO_LARGE',
    });
  } finally {
    await bare.close();
  }
});
