// The typed client's ingestion and document calls against a Temporal double: a running ingestion of the same document
// with other bytes is INGEST_RUNNING, with the very same request it is joined; deletions wait for ingestions.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { DocumentRegistry } from '../../activities/documents';
import { GroundworkClient } from '../../client/groundwork-client';
import type { DocumentStores } from '../../client/groundwork-client';
import { LocalBlobStore } from '../../common/blob-store';
import type { IngestDocumentInput } from '../../workflows/definitions';

const REF_A = `blob:acme/${'a'.repeat(64)}`;
const REF_B = `blob:acme/${'b'.repeat(64)}`;

interface Double {
  start?: jest.Mock;
  describe?: jest.Mock;
  running?: IngestDocumentInput;
}

function clientWith(double: Double, documents?: DocumentStores) {
  const handle = {
    workflowId: 'ingest:acme:doc.pdf',
    describe: double.describe ?? jest.fn(async () => ({ status: { name: 'COMPLETED' } })),
    fetchHistory: jest.fn(async () => ({
      events: [
        {
          workflowExecutionStartedEventAttributes: {
            input: { payloads: [defaultPayloadConverter.toPayload(double.running)] },
          },
        },
      ],
    })),
  };
  const temporal = {
    options: { loadedDataConverter: loadDataConverter() },
    workflow: {
      start: double.start ?? jest.fn(async (_t: string, o: { workflowId: string }) => ({ workflowId: o.workflowId })),
      getHandle: jest.fn(() => handle),
    },
  };
  const Ctor = GroundworkClient as unknown as new (...args: unknown[]) => GroundworkClient;
  return new Ctor(temporal, {}, 'q', 4, undefined, documents);
}

const alreadyStarted = () =>
  jest.fn(async () => Promise.reject(new WorkflowExecutionAlreadyStartedError('running', 'x', 'ingestDocument')));
const input = (ref: string): IngestDocumentInput => ({
  tenantId: 'acme',
  documentId: 'doc.pdf',
  source: { kind: 'blob', ref, name: 'doc.pdf' },
});

test('starting an ingestion refuses to join a running one silently: conflict policy FAIL', async () => {
  const start = jest.fn(async (_t: string, o: { workflowId: string }) => ({ workflowId: o.workflowId }));
  await clientWith({ start }).startIngest(input(REF_A));
  expect(start.mock.calls[0]![1]).toMatchObject({
    workflowId: 'ingest:acme:doc.pdf',
    workflowIdConflictPolicy: 'FAIL',
  });
});

test('a running ingestion of the document with other bytes is INGEST_RUNNING', async () => {
  const client = clientWith({ start: alreadyStarted(), running: input(REF_B) });
  await expect(client.startIngest(input(REF_A))).rejects.toMatchObject({ code: 'INGEST_RUNNING' });
});

test('a running ingestion with the very same source and options is joined', async () => {
  const client = clientWith({ start: alreadyStarted(), running: input(REF_A) });
  await expect(client.startIngest(input(REF_A))).resolves.toMatchObject({ workflowId: 'ingest:acme:doc.pdf' });
  const other = clientWith({ start: alreadyStarted(), running: { ...input(REF_A), chunkAcrossPages: true } });
  await expect(other.startIngest(input(REF_A))).rejects.toMatchObject({ code: 'INGEST_RUNNING' });
});

test('a blob reference of another tenant is refused before anything starts', async () => {
  const start = jest.fn();
  await expect(
    clientWith({ start }).startIngest({
      ...input(REF_A),
      source: { kind: 'blob', ref: REF_A.replace('acme', 'globex'), name: 'x' },
    }),
  ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  expect(start).not.toHaveBeenCalled();
});

test('deleting a document while its ingestion runs is INGEST_RUNNING; otherwise the delete workflow starts', async () => {
  const start = jest.fn(async (_t: string, o: { workflowId: string }) => ({ workflowId: o.workflowId }));
  const running = clientWith({ start, describe: jest.fn(async () => ({ status: { name: 'RUNNING' } })) });
  await expect(running.startDeleteDocument('acme', 'doc.pdf')).rejects.toMatchObject({ code: 'INGEST_RUNNING' });
  expect(start).not.toHaveBeenCalled();
  const idle = clientWith({
    start,
    describe: jest.fn(async () => Promise.reject(new WorkflowNotFoundError('none', 'x', undefined))),
  });
  await idle.startDeleteDocument('acme', '報告.pdf');
  expect(start).toHaveBeenCalledWith('deleteDocument', expect.objectContaining({ workflowId: 'delete:acme:報告.pdf' }));
});

describe('uploads and listings', () => {
  let dir: string;
  let stores: DocumentStores;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-client-docs-'));
    stores = {
      blobs: new LocalBlobStore(path.join(dir, 'blobs')),
      registry: DocumentRegistry.inDataDir(dir),
      maxUploadBytes: 100,
    };
  });
  afterAll(async () => fs.rm(dir, { recursive: true, force: true }));

  test('uploadFile streams a local file into the blob store and returns a blob source', async () => {
    const file = path.join(dir, 'Q3 report.md');
    await fs.writeFile(file, '# Q3\n');
    const source = await clientWith({}, stores).uploadFile('acme', file);
    expect(source).toMatchObject({ kind: 'blob', name: 'Q3 report.md', bytes: 5 });
    expect(source.ref).toMatch(/^blob:acme\/[0-9a-f]{64}$/);
    const [doc] = await clientWith({}, stores).uploadFiles('acme', [file]);
    expect(doc).toEqual({
      documentId: expect.stringMatching(/^Q3-report~[0-9a-f]{8}\.md$/),
      source: { kind: 'blob', ref: source.ref, name: 'Q3 report.md' },
    });
  });

  test('uploadFile refuses a file over the limit with FILE_TOO_LARGE, and a folder with SOURCE_NOT_FOUND', async () => {
    const file = path.join(dir, 'big.md');
    await fs.writeFile(file, 'x'.repeat(101));
    await expect(clientWith({}, stores).uploadFile('acme', file)).rejects.toMatchObject({ code: 'FILE_TOO_LARGE' });
    await expect(clientWith({}, stores).uploadFile('acme', dir)).rejects.toMatchObject({ code: 'SOURCE_NOT_FOUND' });
  });

  test('getDocument of an unknown document is DOCUMENT_NOT_FOUND; listDocuments reads the registry', async () => {
    await stores.registry.recordFailure('acme', 'x.pdf', { code: 'NO_TEXT', message: 'No text.' });
    const client = clientWith({}, stores);
    await expect(client.getDocument('acme', 'nope.pdf')).rejects.toMatchObject({ code: 'DOCUMENT_NOT_FOUND' });
    expect(await client.listDocuments('acme')).toEqual([
      expect.objectContaining({
        documentId: 'x.pdf',
        status: 'failed',
        lastError: expect.objectContaining({ code: 'NO_TEXT' }),
      }),
    ]);
  });

  test('without document stores, uploads are refused with a clear code', async () => {
    await expect(clientWith({}).listDocuments('acme')).rejects.toMatchObject({ code: 'DOCUMENT_STORES_MISSING' });
  });
});
