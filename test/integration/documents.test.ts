// The document lifecycle end to end on the real dev server: upload through the blob store, ingest, answer with page
// citations, delete (the question is then no_documents and the registry forgets the document), purge one tenant and
// nothing of another, INGEST_RUNNING while an ingestion runs, failures in the registry.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { LocalBlobStore } from '../../common/blob-store';
import { receiveUpload } from '../../common/uploads';
import type { ReceivedUpload } from '../../common/uploads';
import { makeTextPdf } from '../support/documents';
import { eventually, startHarness } from './harness';
import type { Harness } from './harness';

const bin = path.resolve(__dirname, '..', '..', 'bin', 'groundwork.js');
const execFileAsync = promisify(execFile);

let h: Harness;
/** Documents whose prepareDocument waits (heartbeating) until released. */
const held = new Map<string, { release: () => void; released: Promise<void> }>();

function hold(documentId: string): () => void {
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  held.set(documentId, { release, released });
  return () => {
    held.delete(documentId);
    release();
  };
}

beforeAll(async () => {
  // purgeco demands near-certainty, so its questions open review tasks that a purge must end.
  h = await startHarness({ GROUNDWORK_TENANT_THRESHOLDS: 'purgeco=0.99' }, (acts) => ({
    ...acts,
    prepareDocument: async (input: Parameters<typeof acts.prepareDocument>[0]) => {
      const wait = held.get(input.documentId);
      if (wait) {
        const ctx = Context.current();
        const beat = setInterval(() => ctx.heartbeat({ stage: 'held' }), 1000);
        await wait.released.finally(() => clearInterval(beat));
      }
      return acts.prepareDocument(input);
    },
  }));
});
afterAll(async () => h?.stop());

const HANDBOOK = [
  ['Acme handbook', 'Full-time employees receive 25 vacation days per calendar year.'],
  ['The cafeteria serves lunch from noon until two in the afternoon.'],
];

async function localFile(name: string, content: Uint8Array | string): Promise<string> {
  const file = path.join(h.dataDir, 'local', name);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content);
  return file;
}

/** Uploads through receiveUpload behind a tiny HTTP server, as the HTTP API does, into the workers' blob store. */
async function uploadOverHttp(tenantId: string, name: string, content: Uint8Array): Promise<ReceivedUpload> {
  const store = new LocalBlobStore(h.config.blobDir);
  const server = http.createServer((req, res) => {
    receiveUpload(req, { tenantId, store, maxBytes: h.config.ingest.maxFileBytes }).then(
      (upload) => res.end(JSON.stringify(upload)),
      (err: unknown) => {
        res.statusCode = 400;
        res.end(JSON.stringify({ error: String(err) }));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const form = new FormData();
    form.append('documentId', name);
    form.append('file', new Blob([content]), name);
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
      method: 'POST',
      body: form,
    });
    expect(res.status).toBe(200);
    return (await res.json()) as ReceivedUpload;
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

test('upload → ingest → cited answer → deleteDocument → the question is no_documents and the registry forgets it', async () => {
  const upload = await uploadOverHttp('lifeco', 'handbook.pdf', await makeTextPdf(HANDBOOK));
  expect(upload.blob.ref).toMatch(/^blob:lifeco\/[0-9a-f]{64}$/);
  const ingested = await h.client.ingest({
    tenantId: 'lifeco',
    documentId: upload.fields.documentId ?? upload.name,
    source: { kind: 'blob', ref: upload.blob.ref, name: upload.name },
  });
  expect(ingested).toMatchObject({ status: 'ingested', pages: 2 });
  // The workflow history carries the reference, never the bytes.
  const history = await h.client.temporal.workflow.getHandle('ingest:lifeco:handbook.pdf').fetchHistory();
  expect(JSON.stringify(history).length).toBeLessThan(60_000);

  const question = 'How many vacation days do full-time employees receive?';
  const answer = await h.client.ask({ tenantId: 'lifeco', question, escalate: false });
  expect(answer.status).toBe('answered');
  expect(answer.citations[0]).toMatchObject({ documentId: 'handbook.pdf', locator: 'p. 1' });
  expect(await h.client.listDocuments('lifeco')).toEqual([
    expect.objectContaining({ documentId: 'handbook.pdf', status: 'live', pages: 2, chunks: ingested.chunks }),
  ]);

  const deleted = await h.client.deleteDocument('lifeco', 'handbook.pdf');
  expect(deleted).toMatchObject({ found: true, points: ingested.chunks, blobs: 1, registry: 1 });
  const after = await h.client.ask({ tenantId: 'lifeco', question: `${question} Please`, escalate: false });
  // Its only document is gone: the tenant has no documents, which is not "the documents do not say".
  expect(after).toMatchObject({ status: 'no_documents', confidence: 0, escalated: false });
  expect(await h.client.listDocuments('lifeco')).toEqual([]);
  await expect(h.client.getDocument('lifeco', 'handbook.pdf')).rejects.toMatchObject({ code: 'DOCUMENT_NOT_FOUND' });
  await expect(fs.stat(path.join(h.config.blobDir, 'lifeco', upload.blob.sha256))).rejects.toThrow();
  // Deleting it again finds nothing.
  await expect(h.client.deleteDocument('lifeco', 'handbook.pdf')).rejects.toMatchObject({
    code: 'DOCUMENT_NOT_FOUND',
  });
});

test('a Unicode document id works end to end, and the CLI lists and deletes documents as JSON', async () => {
  const file = await localFile('報告.md', '# 報告\n\nThe quarterly bonus is paid in March.\n');
  const source = await h.client.uploadFile('unico', file);
  await h.client.ingest({
    tenantId: 'unico',
    documentId: '報告.md',
    source: { kind: 'blob', ref: source.ref, name: source.name },
  });
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: h.config.temporal.address,
    TEMPORAL_TASK_QUEUE: h.taskQueue,
    GROUNDWORK_DATA_DIR: h.dataDir,
  };
  const cli = async (args: string[]) =>
    JSON.parse((await execFileAsync(process.execPath, [bin, '--json', ...args], { env, timeout: 60_000 })).stdout);
  expect(await cli(['documents', 'list', '--tenant', 'unico'])).toEqual([
    expect.objectContaining({ documentId: '報告.md', status: 'live', name: '報告.md' }),
  ]);
  expect(await cli(['documents', 'show', '--tenant', 'unico', '報告.md'])).toMatchObject({ status: 'live' });
  expect(await cli(['documents', 'delete', '--tenant', 'unico', '報告.md'])).toMatchObject({ found: true });
  expect(await cli(['documents', 'list', '--tenant', 'unico'])).toEqual([]);
  await expect(cli(['tenant', 'purge', '--tenant', 'unico'])).rejects.toMatchObject({
    stdout: expect.stringContaining('CONFIRMATION_REQUIRED'),
  });
});

test('purgeTenant removes everything of one tenant and nothing of another', async () => {
  const handbook = await makeTextPdf(HANDBOOK);
  for (const tenantId of ['purgeco', 'keepco']) {
    const source = await h.client.uploadFile(tenantId, await localFile(`${tenantId}/handbook.pdf`, handbook));
    await h.client.ingest({
      tenantId,
      documentId: 'handbook.pdf',
      source: { kind: 'blob', ref: source.ref, name: source.name },
    });
  }
  await h.client.scheduleEvaluation({
    tenantId: 'purgeco',
    golden: [{ question: 'How many vacation days are there?' }],
    every: '1d',
    paused: true,
  });
  // A question below purgeco's threshold waits on a review task the purge must end.
  const asking = await h.client.startAsk({ tenantId: 'purgeco', question: 'When is lunch served in the cafeteria?' });
  const taskId = await eventually(
    async () => (await h.client.listReviews('purgeco', 'pending'))[0]?.taskId,
    30_000,
    'a review task',
  );
  await fs.mkdir(path.join(h.dataDir, 'evaluations', 'purgeco'), { recursive: true });
  await fs.writeFile(path.join(h.dataDir, 'evaluations', 'purgeco', 'baseline.json'), '{}');
  const keepPoints = await h.worker.vectors.count('keepco');

  const summary = await h.client.purgeTenant('purgeco');
  expect(summary).toMatchObject({
    tenantId: 'purgeco',
    points: expect.any(Number),
    blobs: 1,
    documents: 1,
    // The baseline, and the Schedule's golden set (kept in the evaluation store by its hash).
    evaluations: 2,
    reviewTasks: 1,
    schedule: true,
  });
  expect(summary.points).toBeGreaterThan(0);
  expect(await h.worker.vectors.count('purgeco')).toBe(0);
  expect(await h.client.listDocuments('purgeco')).toEqual([]);
  await expect(fs.stat(path.join(h.config.blobDir, 'purgeco'))).rejects.toThrow();
  await expect(fs.stat(path.join(h.dataDir, 'evaluations', 'purgeco'))).rejects.toThrow();
  await expect(h.client.temporal.schedule.getHandle('evaluate:purgeco').describe()).rejects.toThrow();
  expect((await h.client.temporal.workflow.getHandle(taskId).describe()).status.name).toBe('TERMINATED');
  await asking.result().catch(() => undefined);
  const gone = await h.client.ask({ tenantId: 'purgeco', question: 'How many vacation days?', escalate: false });
  expect(gone).toMatchObject({ status: 'no_documents', confidence: 0 });

  // The other tenant keeps everything.
  expect(await h.worker.vectors.count('keepco')).toBe(keepPoints);
  expect(await h.client.listDocuments('keepco')).toHaveLength(1);
  const kept = await h.client.ask({
    tenantId: 'keepco',
    question: 'How many vacation days do full-time employees receive?',
    escalate: false,
  });
  expect(kept.citations[0]).toMatchObject({ documentId: 'handbook.pdf', locator: 'p. 1' });
});

test('while a document is ingested, other bytes for it and its deletion are INGEST_RUNNING; the same upload joins', async () => {
  const first = await h.client.uploadFile('runco', await localFile('runco/a.md', '# A\n\nThe first version.\n'));
  const second = await h.client.uploadFile('runco', await localFile('runco/b.md', '# B\n\nThe second version.\n'));
  const release = hold('policy.md');
  const source = (s: typeof first) => ({ kind: 'blob' as const, ref: s.ref, name: 'policy.md' });
  try {
    const running = await h.client.startIngest({ tenantId: 'runco', documentId: 'policy.md', source: source(first) });
    await expect(
      h.client.startIngest({ tenantId: 'runco', documentId: 'policy.md', source: source(second) }),
    ).rejects.toMatchObject({ code: 'INGEST_RUNNING' });
    const joined = await h.client.startIngest({ tenantId: 'runco', documentId: 'policy.md', source: source(first) });
    expect(joined.workflowId).toBe(running.workflowId);
    await expect(h.client.deleteDocument('runco', 'policy.md')).rejects.toMatchObject({ code: 'INGEST_RUNNING' });
    await expect(h.client.purgeTenant('runco')).rejects.toMatchObject({ code: 'INGEST_RUNNING' });
    release();
    expect(await running.result()).toMatchObject({ status: 'ingested' });
    expect(await joined.result()).toMatchObject({ status: 'ingested' });
  } finally {
    release();
  }
  // Finished: the other bytes may now replace it.
  expect(await h.client.ingest({ tenantId: 'runco', documentId: 'policy.md', source: source(second) })).toMatchObject({
    status: 'ingested',
  });
});

test('a failed ingestion is in the registry with its code and sentence', async () => {
  const source = await h.client.uploadFile(
    'failco',
    await localFile('failco/x.bin', Buffer.from([0, 1, 2, 3, 0, 0, 255])),
  );
  const err = await h.client
    .ingest({ tenantId: 'failco', documentId: 'x.bin', source: { kind: 'blob', ref: source.ref, name: 'x.bin' } })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause).toBeInstanceOf(ApplicationFailure);
  expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('UNSUPPORTED_TYPE');
  expect(await h.client.getDocument('failco', 'x.bin')).toMatchObject({
    status: 'failed',
    lastError: { code: 'UNSUPPORTED_TYPE', message: expect.any(String) },
  });
  // Deleting a failed document removes its registry entry and its upload.
  expect(await h.client.deleteDocument('failco', 'x.bin')).toMatchObject({ found: true, points: 0, blobs: 1 });
});

test('a path source is refused with PATH_NOT_ALLOWED outside the tenant folder of the ingest root', async () => {
  const theirs = path.join(h.dataDir, 'sources', 'otherco', 'secret.md');
  await fs.mkdir(path.dirname(theirs), { recursive: true });
  await fs.writeFile(theirs, '# Secret\n\nNot for pathco.\n');
  const err = await h.client
    .ingest({ tenantId: 'pathco', documentId: 'secret.md', source: { kind: 'path', path: theirs } })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('PATH_NOT_ALLOWED');
  const mine = path.join(h.dataDir, 'sources', 'pathco', 'policy.md');
  await fs.mkdir(path.dirname(mine), { recursive: true });
  await fs.writeFile(mine, '# Policy\n\nVisitors sign in at reception.\n');
  expect(
    await h.client.ingest({ tenantId: 'pathco', documentId: 'policy.md', source: { kind: 'path', path: mine } }),
  ).toMatchObject({ status: 'ingested' });
});
