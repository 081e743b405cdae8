// Escalation: low-confidence answers become review tasks that reviewers complete with signals.
import { reviewStateQuery } from '../../workflows/definitions';
import { eventually, startHarness, writeTemp } from './harness';
import type { Harness } from './harness';

let h: Harness;

beforeAll(async () => {
  // acme demands near-certainty, so its answers escalate; the review timeout is short to exercise expiry.
  h = await startHarness({ GROUNDWORK_TENANT_THRESHOLDS: 'acme=0.99,slowco=0.99', GROUNDWORK_REVIEW_TIMEOUT: '60s' });
  for (const tenant of ['acme', 'slowco']) {
    const file = await writeTemp(h.dataDir, `${tenant}/policy.md`, '# Policy\n\nParking spaces are assigned by the facilities team.\n\nThe office closes at 19:00 on Fridays.\n');
    await h.client.ingest({ tenantId: tenant, documentId: 'policy.md', source: { kind: 'path', path: file } });
  }
});
afterAll(async () => h?.stop());

async function openTask(tenantId: string, question: string) {
  const handle = await h.client.startAsk({ tenantId, question });
  const taskId = await eventually(async () => {
    const tasks = await h.client.listReviews(tenantId, 'pending');
    return tasks.find((t) => t.taskId.startsWith(`review:${tenantId}:`) && t.status === 'open')?.taskId;
  }, 30_000, 'a review task to be listed');
  return { handle, taskId };
}

test('a low-confidence answer opens a review task that an edit signal completes', async () => {
  const { handle, taskId } = await openTask('acme', 'Who assigns parking spaces?');
  const state = await h.client.getReview('acme', taskId);
  expect(state.status).toBe('open');
  expect(state.question).toBe('Who assigns parking spaces?');
  expect(state.retrieved.length).toBeGreaterThan(0);

  // A citation to a chunk that was not retrieved is refused by the client and by the workflow.
  await expect(h.client.edit('acme', taskId, { reviewerId: 'rita', answer: 'x', citations: [{ chunkId: 'not-retrieved' }] })).rejects.toMatchObject({
    code: 'CITATION_NOT_RETRIEVED',
  });
  await h.client.temporal.workflow.getHandle(taskId).signal('edit', { tenantId: 'acme', reviewerId: 'mallory', answer: 'forged', citations: [{ chunkId: 'forged' }] });
  const refused = await eventually(async () => {
    const s = await h.client.temporal.workflow.getHandle(taskId).query(reviewStateQuery);
    return s.refused.length > 0 ? s : undefined;
  });
  expect(refused.refused[0]!.reason).toMatch(/retrieved/);
  expect(refused.status).toBe('open');

  const chunkId = state.retrieved[0]!.chunkId;
  await h.client.edit('acme', taskId, { reviewerId: 'rita', answer: 'The facilities team assigns parking spaces.', citations: [{ chunkId }], note: 'clearer' });
  const result = await handle.result();
  expect(result.status).toBe('reviewed');
  expect(result.escalated).toBe(true);
  expect(result.answer).toBe('The facilities team assigns parking spaces.');
  expect(result.citations.map((c) => c.chunkId)).toEqual([chunkId]);
  expect(result.review).toMatchObject({ decision: 'edited', reviewerId: 'rita' });
  const done = await eventually(async () => (await h.client.listReviews('acme', 'edited')).find((t) => t.taskId === taskId));
  expect(done.status).toBe('edited');
});

test('approve returns the draft as reviewed and records the reviewer', async () => {
  const { handle, taskId } = await openTask('acme', 'When does the office close on Fridays?');
  const draft = (await h.client.getReview('acme', taskId)).draft;
  await h.client.approve('acme', taskId, 'ravi');
  const result = await handle.result();
  expect(result.status).toBe('reviewed');
  expect(result.answer).toBe(draft.answer);
  expect(result.review).toMatchObject({ decision: 'approved', reviewerId: 'ravi' });
});

test('reject returns no answer, and a reviewer of another tenant cannot see or decide the task', async () => {
  const { handle, taskId } = await openTask('slowco', 'Who assigns parking spaces at slowco?');
  await expect(h.client.getReview('acme', taskId)).rejects.toMatchObject({ code: 'REVIEW_NOT_FOUND' });
  await h.client.temporal.workflow.getHandle(taskId).signal('approve', { tenantId: 'acme', reviewerId: 'intruder' });
  await eventually(async () => ((await h.client.getReview('slowco', taskId)).refused.length > 0 ? true : undefined));
  await h.client.reject('slowco', taskId, 'sam', 'The draft cites the wrong policy.');
  const result = await handle.result();
  expect(result.status).toBe('rejected');
  expect(result.citations).toEqual([]);
  expect(result.review).toMatchObject({ decision: 'rejected', reviewerId: 'sam', note: 'The draft cites the wrong policy.' });
});

test('confident answers are returned without a review task', async () => {
  const r = await h.client.ask({ tenantId: 'acme', question: 'Who assigns parking spaces?', threshold: 0.1 });
  expect(r.escalated).toBe(false);
  expect(r.status).toBe('answered');
});
