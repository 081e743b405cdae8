// The answer cache on the real dev server: a served answer is served again (cached: true) without retrieval or a
// model call, per tenant, until the tenant's corpus changes (an ingestion, a deletion).
import type { WorkflowHandle } from '@temporalio/client';
import { makeTextPdf } from '../support/documents';
import { startHarness, writeTemp } from './harness';
import type { Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.stop());

const QUESTION = 'How many vacation days do full-time employees receive?';

async function ingest(tenantId: string, name: string, content: Uint8Array | string) {
  const file = await writeTemp(h.dataDir, `${tenantId}/${name}`, content);
  return h.client.ingest({ tenantId, documentId: name, source: { kind: 'path', path: file } });
}

/** The answer and how many activities (regular) its run scheduled. */
async function ask(tenantId: string, question: string) {
  const handle: WorkflowHandle = await h.client.startAsk({ tenantId, question });
  const result = (await handle.result()) as Awaited<ReturnType<typeof h.client.ask>>;
  const history = await handle.fetchHistory();
  const scheduled = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length;
  return { result, scheduled };
}

test('a served answer is served again from the cache until the corpus changes', async () => {
  await ingest(
    'acme',
    'handbook.pdf',
    await makeTextPdf([['Acme handbook', 'Full-time employees receive 25 vacation days per calendar year.']]),
  );
  const first = await ask('acme', QUESTION);
  expect(first.result.status).toBe('answered');
  expect(first.result.escalated).toBe(false);
  expect(first.result.cached).toBeUndefined();
  expect(first.scheduled).toBeGreaterThanOrEqual(1); // the draft (retrieval and verification are local activities)

  // The same question, cased and punctuated differently: no retrieval, no model call.
  const again = await ask('acme', '  how many vacation days do full-time employees receive ');
  expect(again.result.cached).toBe(true);
  expect(again.result.answer).toBe(first.result.answer);
  expect(again.result.citations).toEqual(first.result.citations);
  expect(again.scheduled).toBe(0);

  // Another tenant asking the same question never gets acme's cached answer.
  const other = await ask('globex', QUESTION);
  expect(other.result.cached).toBeUndefined();
  expect(other.result.status).toBe('no_documents');

  // A new document changes the corpus: the next ask is answered afresh.
  await ingest('acme', 'policy.md', '# Leave\n\nPart-time staff receive 12 vacation days.\n');
  const afterIngest = await ask('acme', QUESTION);
  expect(afterIngest.result.cached).toBeUndefined();
  expect(afterIngest.scheduled).toBeGreaterThanOrEqual(1);
  expect((await ask('acme', QUESTION)).result.cached).toBe(true);

  // Deleting the document that held the answer: never served from the cache again.
  await h.client.deleteDocument('acme', 'handbook.pdf');
  const afterDelete = await ask('acme', QUESTION);
  expect(afterDelete.result.cached).toBeUndefined();
  expect(afterDelete.result.answer).not.toContain('25 vacation days');
});
