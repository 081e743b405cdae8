// The service boundary for documents, as a backend service meets it over HTTP: a path outside the tenant's ingest
// root is refused, a 5 MB PDF sent as the raw request body (curl --data-binary) becomes answerable with page
// citations, and deleting it makes the same question "not in the documents".
import { randomBytes } from 'node:crypto';
import { PDFDocument } from 'pdf-lib';
import { KeyStore } from '../../client/auth/key-store';
import { startHttpApi } from '../../client/http';
import type { HttpApi } from '../../client/http';
import { makeTextPdf } from '../support/documents';
import { startHarness } from './harness';
import type { Harness } from './harness';

let h: Harness;
let api: HttpApi;
let writer: string;

beforeAll(async () => {
  h = await startHarness();
  api = await startHttpApi(h.config, { port: 0 });
  writer = (await KeyStore.forDataDir(h.dataDir).create({ tenant: 'bigco', role: 'writer', name: 'uploader' })).key;
});
afterAll(async () => {
  await api?.close();
  await h?.stop();
});

const request = (method: string, path: string, init: { body?: string | Buffer; type?: string } = {}) =>
  fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${writer}`, ...(init.type ? { 'content-type': init.type } : {}) },
    body: init.body,
  });

const ask = async (question: string) =>
  (await (
    await request('POST', '/v1/tenants/bigco/questions?wait=true', {
      body: JSON.stringify({ question }),
      type: 'application/json',
    })
  ).json()) as { status: string; citations: { documentId: string; locator: string }[] };

test('a path outside the tenant root is PATH_NOT_ALLOWED, whether or not the file exists', async () => {
  for (const path of ['/etc/passwd', '/etc/no-such-file', `${h.dataDir}/keys/keys.json`]) {
    const res = await request('POST', '/v1/tenants/bigco/documents', {
      body: JSON.stringify({ path }),
      type: 'application/json',
    });
    expect([path, res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([
      path,
      400,
      'PATH_NOT_ALLOWED',
    ]);
  }
});

test('a 5 MB PDF uploaded as the raw body is answerable with page citations; deleting it makes the answer no_documents', async () => {
  const text = await makeTextPdf([
    ['Bigco facilities handbook', 'The cafeteria serves breakfast from seven to nine.'],
    ['Security', 'Visitor badges must be returned to the front desk by six in the evening.'],
  ]);
  const pdf = await PDFDocument.load(text);
  // An attached file of random bytes (incompressible) brings the PDF to about 5 MB, as a scanned annex would.
  await pdf.attach(randomBytes(5 * 1024 * 1024), 'annex.bin', { mimeType: 'application/octet-stream' });
  const bytes = await pdf.save();
  expect(bytes.byteLength).toBeGreaterThan(5 * 1024 * 1024);

  const res = await request('POST', '/v1/tenants/bigco/documents?wait=true&name=handbook.pdf', {
    body: Buffer.from(bytes),
    type: 'application/pdf',
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ status: 'ingested', documentId: 'handbook.pdf', pages: 2 });

  const question = 'By when must visitor badges be returned to the front desk?';
  const answer = await ask(question);
  expect(answer.status).toBe('answered');
  expect(answer.citations[0]).toMatchObject({ documentId: 'handbook.pdf', locator: 'p. 2' });

  const removed = await request('DELETE', '/v1/tenants/bigco/documents/handbook.pdf');
  expect([removed.status, ((await removed.json()) as { found: boolean }).found]).toEqual([200, true]);
  expect((await ask(question)).status).toBe('no_documents');
  expect((await request('GET', '/v1/tenants/bigco/documents/handbook.pdf')).status).toBe(404);
});
