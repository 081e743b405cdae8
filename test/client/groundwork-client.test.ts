// The client's review calls against a Temporal double: decisions are Updates whose refusals come back as
// ClientInputErrors, and a task's tenant is the one the task itself records.
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ClientInputError, GroundworkClient } from '../../client/groundwork-client';
import { GroundworkError } from '../../common/errors';
import type { ReviewOutcome, ReviewTaskState } from '../../workflows/definitions';

interface FakeHandle {
  query?: jest.Mock;
  executeUpdate?: jest.Mock;
  describe?: jest.Mock;
}

/** A GroundworkClient over a fake Temporal client whose every workflow handle is `handle`. */
function clientWith(handle: FakeHandle, concurrency = 4) {
  const getHandle = jest.fn(() => handle);
  const start = jest.fn(async (_type: string, options: { workflowId: string }) => ({ workflowId: options.workflowId }));
  const temporal = { workflow: { getHandle, start } };
  const Ctor = GroundworkClient as unknown as new (
    temporal: unknown,
    connection: unknown,
    taskQueue: string,
    ingestConcurrency: number,
  ) => GroundworkClient;
  return { client: new Ctor(temporal, {}, 'q', concurrency), getHandle, start };
}

const outcome: ReviewOutcome = {
  decision: 'approved',
  reviewerId: 'dana',
  answer: 'Yes.',
  citations: [],
  decidedAt: '2026-01-01T00:00:00.000Z',
};
const updateFailed = (type: string, message: string) =>
  new WorkflowUpdateFailedError(
    'Workflow Update failed',
    ApplicationFailure.create({ type, message, nonRetryable: true }),
  );

test('ClientInputError is a GroundworkError with a code', () => {
  const err = new ClientInputError('REVIEW_CLOSED', 'closed');
  expect(err).toBeInstanceOf(GroundworkError);
  expect(err).toMatchObject({ code: 'REVIEW_CLOSED', retryable: false, name: 'ClientInputError' });
});

test('approve sends the approve Update with the tenant and reviewer and returns the outcome', async () => {
  const executeUpdate = jest.fn(async () => outcome);
  const { client } = clientWith({ executeUpdate });
  await expect(client.approve('acme', 'review:acme:k', 'dana', 'ok')).resolves.toEqual(outcome);
  expect(executeUpdate).toHaveBeenCalledWith(expect.objectContaining({ name: 'approveReview' }), {
    args: [{ tenantId: 'acme', reviewerId: 'dana', note: 'ok' }],
  });
});

test('edit and reject send their Updates; the client does no checks of its own', async () => {
  const executeUpdate = jest.fn(async () => outcome);
  const { client } = clientWith({ executeUpdate });
  await client.edit('acme', 't', { reviewerId: 'dana', answer: 'A.', citations: [{ chunkId: 'anything' }] });
  await client.reject('acme', 't', 'dana', 'wrong');
  expect(
    executeUpdate.mock.calls.map((c) => [(c as unknown[] as [{ name: string }])[0].name, (c as unknown[])[1]]),
  ).toEqual([
    [
      'editReview',
      { args: [{ tenantId: 'acme', reviewerId: 'dana', answer: 'A.', citations: [{ chunkId: 'anything' }] }] },
    ],
    ['rejectReview', { args: [{ tenantId: 'acme', reviewerId: 'dana', reason: 'wrong' }] }],
  ]);
});

test.each(['REVIEW_CLOSED', 'REVIEW_NOT_FOUND', 'CITATION_NOT_RETRIEVED', 'INVALID_INPUT'])(
  'a validator refusal of type %s becomes a ClientInputError with that code',
  async (type) => {
    const { client } = clientWith({
      executeUpdate: jest.fn(async () => Promise.reject(updateFailed(type, 'refused'))),
    });
    await expect(client.approve('acme', 't', 'dana')).rejects.toEqual(
      expect.objectContaining({ code: type, message: 'refused' }),
    );
    await expect(client.approve('acme', 't', 'dana')).rejects.toBeInstanceOf(ClientInputError);
  },
);

test('a workflow that is not a review task (no Update handler) is not found', async () => {
  const { client } = clientWith({
    executeUpdate: jest.fn(async () =>
      Promise.reject(updateFailed('Error', 'No registered handler for update: approveReview')),
    ),
  });
  await expect(client.approve('acme', 'answer:acme:x', 'dana')).rejects.toMatchObject({ code: 'REVIEW_NOT_FOUND' });
});

test("an unknown task is REVIEW_NOT_FOUND; a finished task of the tenant's is REVIEW_CLOSED", async () => {
  const notFound = () => Promise.reject(new WorkflowNotFoundError('not found', 't', undefined));
  const gone = clientWith({ executeUpdate: jest.fn(notFound), describe: jest.fn(notFound) });
  await expect(gone.client.approve('acme', 't', 'dana')).rejects.toMatchObject({ code: 'REVIEW_NOT_FOUND' });

  const attrs = (tenant: string) => ({
    get: (key: { name: string }) => (key.name === 'TenantId' ? tenant : 'approved'),
  });
  const closed = (tenant: string) =>
    jest.fn(async () => ({ type: 'reviewTask', status: { name: 'COMPLETED' }, typedSearchAttributes: attrs(tenant) }));
  const mine = clientWith({ executeUpdate: jest.fn(notFound), describe: closed('acme') });
  await expect(mine.client.approve('acme', 't', 'dana')).rejects.toMatchObject({
    code: 'REVIEW_CLOSED',
    message: 'The review task is already approved.',
  });
  const theirs = clientWith({ executeUpdate: jest.fn(notFound), describe: closed('globex') });
  await expect(theirs.client.approve('acme', 't', 'dana')).rejects.toMatchObject({ code: 'REVIEW_NOT_FOUND' });
});

test('getReview refuses a task whose recorded tenant is another, whatever its id says', async () => {
  const state = { taskId: 'review:acme:forged', tenantId: 'globex' } as ReviewTaskState;
  const { client } = clientWith({ query: jest.fn(async () => state) });
  await expect(client.getReview('acme', 'review:acme:forged')).rejects.toMatchObject({ code: 'REVIEW_NOT_FOUND' });
  await expect(client.getReview('globex', 'review:acme:forged')).resolves.toBe(state);
});

test('a malformed tenant is refused before anything reaches Temporal', async () => {
  const executeUpdate = jest.fn();
  const { client } = clientWith({ executeUpdate });
  await expect(client.approve("a'b", 't', 'dana')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  expect(executeUpdate).not.toHaveBeenCalled();
});

test('folder batches default to the configured ingest concurrency', async () => {
  const { client, start } = clientWith({}, 7);
  await client.startIngestBatch('acme', ['/docs/a.md', '/docs/b.md']);
  expect(start.mock.calls[0]![1]).toMatchObject({
    args: [{ tenantId: 'acme', concurrency: 7, documents: [{ documentId: 'a.md' }, { documentId: 'b.md' }] }],
  });
  await client.startIngestBatch('acme', ['/docs/a.md'], 2);
  expect(start.mock.calls[1]![1]).toMatchObject({ args: [{ concurrency: 2 }] });
  await expect(client.startIngestBatch('acme', ['/docs/a.md'], 0)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
});

test('fromConfig connects with the configured connection settings, defaulting the address', async () => {
  const { Connection } = await import('@temporalio/client');
  const { loadConfig } = await import('../../common/config');
  const connect = jest
    .spyOn(Connection, 'connect')
    .mockResolvedValue({ close: async () => undefined } as unknown as Awaited<ReturnType<typeof Connection.connect>>);
  try {
    const config = loadConfig({
      TEMPORAL_NAMESPACE: 'prod',
      TEMPORAL_API_KEY: 'key',
      TEMPORAL_TASK_QUEUE: 'tq',
      GROUNDWORK_INGEST_CONCURRENCY: '9',
    });
    const client = await GroundworkClient.fromConfig(config);
    expect(connect).toHaveBeenCalledWith(expect.objectContaining({ address: '127.0.0.1:7233', apiKey: 'key' }));
    expect(client.taskQueue).toBe('tq');
    expect(client.ingestConcurrency).toBe(9);
    expect(client.temporal.options.namespace).toBe('prod');
    await GroundworkClient.fromConfig(loadConfig({ TEMPORAL_ADDRESS: 'temporal.example:7233' }));
    expect(connect).toHaveBeenLastCalledWith(expect.objectContaining({ address: 'temporal.example:7233' }));
  } finally {
    connect.mockRestore();
  }
});
