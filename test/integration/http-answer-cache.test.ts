// The HTTP API's served-answer cache on the real stack: a repeated question is answered by the API itself (cached:
// true, the first run's workflow id) — even with no worker running — until the tenant's documents change.
import { KeyStore } from '../../client/auth/key-store';
import { startHttpApi } from '../../client/http';
import type { HttpApi } from '../../client/http';
import { makeTextPdf } from '../support/documents';
import { startHarness, writeTemp } from './harness';
import type { Harness } from './harness';

let h: Harness;
let api: HttpApi;
let reader: string;

beforeAll(async () => {
  h = await startHarness();
  api = await startHttpApi(h.config, { port: 0 });
  reader = (await KeyStore.forDataDir(h.dataDir).create({ tenant: 'cacheco', role: 'reader', name: 'svc' })).key;
});
afterAll(async () => {
  await api?.close();
  await h?.stop();
});

type Answer = { status: string; answer?: string; cached?: boolean; workflowId: string };

const ask = async (question: string, timeoutMs = 20_000): Promise<{ status: number; body: Answer }> => {
  const res = await fetch(`${api.url}/v1/tenants/cacheco/questions?wait=true`, {
    method: 'POST',
    headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/json' },
    body: JSON.stringify({ question }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, body: (await res.json()) as Answer };
};

async function ingest(name: string, content: Uint8Array | string) {
  const file = await writeTemp(h.dataDir, `cacheco/${name}`, content);
  return h.client.ingest({ tenantId: 'cacheco', documentId: name, source: { kind: 'path', path: file } });
}

test('a repeated question is served by the API until the documents change', async () => {
  await ingest('handbook.pdf', await makeTextPdf([['Handbook', 'Every employee receives 31 vacation days per year.']]));
  const first = await ask('How many vacation days does every employee receive?');
  expect(first.status).toBe(200);
  expect(first.body.status).toBe('answered');
  expect(first.body.cached).toBeUndefined();

  const again = await ask('  how many vacation days does every employee receive ');
  expect(again.body).toMatchObject({ status: 'answered', cached: true, workflowId: first.body.workflowId });
  expect(again.body.answer).toBe(first.body.answer);

  // A new document changes the tenant's generation: the next ask runs a workflow again.
  await ingest('policy.md', '# Leave\n\nContractors receive 9 vacation days.\n');
  const afterIngest = await ask('How many vacation days does every employee receive?');
  expect(afterIngest.body.status).toBe('answered');
  expect(afterIngest.body.cached).toBeUndefined();

  // With no worker at all, the answer the API served last is still served; a new question is not.
  await h.worker.shutdown();
  const served = await ask('How many vacation days does every employee receive?');
  expect(served.body).toMatchObject({ cached: true, workflowId: afterIngest.body.workflowId });
  await expect(ask('Who approves travel?', 3000)).rejects.toMatchObject({ name: 'TimeoutError' });
});
