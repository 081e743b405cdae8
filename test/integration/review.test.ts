// Escalation: low-confidence answers become review tasks that reviewers decide with Workflow Updates.
import { approveUpdate } from '../../workflows/definitions';
import { eventually, startHarness, writeTemp } from './harness';
import type { Harness } from './harness';

let h: Harness;

beforeAll(async () => {
  // acme demands near-certainty, so its answers escalate; the review timeout is short to exercise expiry.
  h = await startHarness({ GROUNDWORK_TENANT_THRESHOLDS: 'acme=0.99,slowco=0.99', GROUNDWORK_REVIEW_TIMEOUT: '60s' });
  for (const tenant of ['acme', 'slowco']) {
    const file = await writeTemp(
      h.dataDir,
      `${tenant}/policy.md`,
      '# Policy\n\nParking spaces are assigned by the facilities team.\n\nThe office closes at 19:00 on Fridays.\n',
    );
    await h.client.ingest({ tenantId: tenant, documentId: 'policy.md', source: { kind: 'path', path: file } });
  }
});
afterAll(async () => h?.stop());

async function openTask(tenantId: string, question: string) {
  const handle = await h.client.startAsk({ tenantId, question });
  const taskId = await eventually(
    async () => {
      const tasks = await h.client.listReviews(tenantId, 'pending');
      return tasks.find((t) => t.taskId.startsWith(`review:${tenantId}:`) && t.status === 'open')?.taskId;
    },
    30_000,
    'a review task to be listed',
  );
  return { handle, taskId };
}

test('a low-confidence answer opens a review task that an edit Update completes', async () => {
  const { handle, taskId } = await openTask('acme', 'Who assigns parking spaces?');
  const state = await h.client.getReview('acme', taskId);
  expect(state.status).toBe('open');
  expect(state.question).toBe('Who assigns parking spaces?');
  expect(state.retrieved.length).toBeGreaterThan(0);

  // The workflow's validator refuses a citation of a chunk that was not retrieved, to the caller, at once.
  await expect(
    h.client.edit('acme', taskId, { reviewerId: 'rita', answer: 'x', citations: [{ chunkId: 'not-retrieved' }] }),
  ).rejects.toMatchObject({
    code: 'CITATION_NOT_RETRIEVED',
  });
  await expect(
    h.client.edit('acme', taskId, { reviewerId: 'rita', answer: '  ', citations: [] }),
  ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  // Refused updates leave no trace in the task: it is still open.
  expect((await h.client.getReview('acme', taskId)).status).toBe('open');

  const chunkId = state.retrieved[0]!.chunkId;
  const outcome = await h.client.edit('acme', taskId, {
    reviewerId: 'rita',
    answer: 'The facilities team assigns parking spaces.',
    citations: [{ chunkId }],
    note: 'clearer',
  });
  expect(outcome).toMatchObject({
    decision: 'edited',
    reviewerId: 'rita',
    answer: 'The facilities team assigns parking spaces.',
  });
  const result = await handle.result();
  expect(result.status).toBe('reviewed');
  expect(result.escalated).toBe(true);
  expect(result.answer).toBe('The facilities team assigns parking spaces.');
  expect(result.citations.map((c) => c.chunkId)).toEqual([chunkId]);
  expect(result.review).toMatchObject({ decision: 'edited', reviewerId: 'rita' });
  const done = await eventually(async () =>
    (await h.client.listReviews('acme', 'edited')).find((t) => t.taskId === taskId),
  );
  expect(done.status).toBe('edited');
});

test('approve returns the draft as reviewed, and a second decision is refused naming who decided', async () => {
  const { handle, taskId } = await openTask('acme', 'When does the office close on Fridays?');
  const draft = (await h.client.getReview('acme', taskId)).draft;
  await h.client.approve('acme', taskId, 'ravi');
  await expect(h.client.reject('acme', taskId, 'lee', 'too late')).rejects.toMatchObject({
    code: 'REVIEW_CLOSED',
    message: expect.stringContaining('already approved by ravi'),
  });
  const result = await handle.result();
  expect(result.status).toBe('reviewed');
  expect(result.answer).toBe(draft.answer);
  expect(result.review).toMatchObject({ decision: 'approved', reviewerId: 'ravi' });
});

test('two reviewers deciding at once: exactly one decision wins, the others are refused (claimed or closed)', async () => {
  const { handle, taskId } = await openTask('acme', 'Who assigns parking spaces in the garage?');
  const chunkId = (await h.client.getReview('acme', taskId)).retrieved[0]!.chunkId;
  const settled = await Promise.allSettled([
    h.client.edit('acme', taskId, { reviewerId: 'ann', answer: 'Facilities.', citations: [{ chunkId }] }),
    h.client.approve('acme', taskId, 'bob'),
    h.client.reject('acme', taskId, 'cy', 'wrong'),
  ]);
  const accepted = settled.filter((s) => s.status === 'fulfilled');
  const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  expect(accepted).toHaveLength(1);
  expect(refused).toHaveLength(2);
  for (const r of refused) expect(['REVIEW_CLAIMED', 'REVIEW_CLOSED']).toContain((r.reason as { code?: string }).code);
  const result = await handle.result();
  expect(result.review?.decision).toBe((accepted[0] as PromiseFulfilledResult<{ decision: string }>).value.decision);
});

test('reject returns no answer, and a reviewer of another tenant cannot see or decide the task', async () => {
  const { handle, taskId } = await openTask('slowco', 'Who assigns parking spaces at slowco?');
  await expect(h.client.getReview('acme', taskId)).rejects.toMatchObject({ code: 'REVIEW_NOT_FOUND' });
  await expect(h.client.approve('acme', taskId, 'intruder')).rejects.toMatchObject({ code: 'REVIEW_NOT_FOUND' });
  // Even a raw Update that names the other tenant is refused by the workflow's validator.
  await expect(
    h.client.temporal.workflow
      .getHandle(taskId)
      .executeUpdate(approveUpdate, { args: [{ tenantId: 'acme', reviewerId: 'intruder' }] }),
  ).rejects.toMatchObject({ cause: { type: 'REVIEW_NOT_FOUND' } });
  await expect(h.client.reject('slowco', taskId, 'sam', ' ')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  await h.client.reject('slowco', taskId, 'sam', 'The draft cites the wrong policy.');
  const result = await handle.result();
  expect(result.status).toBe('rejected');
  expect(result.citations).toEqual([]);
  expect(result.review).toMatchObject({
    decision: 'rejected',
    reviewerId: 'sam',
    note: 'The draft cites the wrong policy.',
  });
});

test('confident answers are returned without a review task', async () => {
  const r = await h.client.ask({ tenantId: 'acme', question: 'Who assigns parking spaces?', threshold: 0.1 });
  expect(r.escalated).toBe(false);
  expect(r.status).toBe('answered');
});
