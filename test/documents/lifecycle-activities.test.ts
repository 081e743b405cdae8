// The document lifecycle's activities through MockActivityEnvironment and the failure-mapping interceptor, on real
// parts (LanceDB in a temp dir, the blob store, the isolated parser): blob sources, the registry, deletion and purge.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DocumentRegistry } from '../../activities/documents';
import { LocalBlobStore } from '../../common/blob-store';
import type { StoredBlob } from '../../common/blob-store';
import type { IngestDocumentInput } from '../../workflows/definitions';
import type { Harness } from '../activities/harness';
import { HANDBOOK_PAGES, applicationFailure, exists, makeHandbook, makeHarness, run } from '../activities/harness';

jest.setTimeout(90_000);

let h: Harness;
let blobs: LocalBlobStore;
let registry: DocumentRegistry;
beforeEach(async () => {
  h = await makeHarness();
  blobs = new LocalBlobStore(path.join(h.dataDir, 'blobs'));
  registry = DocumentRegistry.inDataDir(h.dataDir);
});
afterEach(async () => h.close());

async function* chunks(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += 4096) yield bytes.subarray(i, i + 4096);
}

const upload = async (tenantId: string, bytes: Uint8Array): Promise<StoredBlob> =>
  blobs.put(tenantId, chunks(bytes), { maxBytes: 10 * 1048576 });

const blobInput = (tenantId: string, documentId: string, ref: string, name = 'handbook.pdf'): IngestDocumentInput => ({
  tenantId,
  documentId,
  source: { kind: 'blob', ref, name },
});

/** prepare → embed → activate, as the ingest workflow runs them. */
async function ingestBlob(tenantId: string, documentId: string, ref: string, name?: string) {
  const prepared = await run(h.env(), h.activities.prepareDocument, blobInput(tenantId, documentId, ref, name));
  if (prepared.unchanged || !prepared.stagingRef) return prepared;
  const base = { tenantId, documentId, version: prepared.version, stagingRef: prepared.stagingRef };
  await run(h.env(), h.activities.embedAndUpsert, base);
  await run(h.env(), h.activities.activateDocument, base);
  return prepared;
}

describe('blob sources', () => {
  test('prepareDocument reads a blob of the tenant and cites it under its upload name', async () => {
    const blob = await upload('acme', await makeHandbook());
    const prepared = await ingestBlob('acme', 'handbook.pdf', blob.ref, 'Handbook 2024.pdf');
    expect(prepared).toMatchObject({ unchanged: false, chunks: HANDBOOK_PAGES.length, pages: HANDBOOK_PAGES.length });
    const [hit] = await h.vectors.search('acme', (await h.embedder.embed(['vacation days']))[0]!, { limit: 1 });
    expect(hit?.payload).toMatchObject({
      documentId: 'handbook.pdf',
      sourceName: 'Handbook 2024.pdf',
      locator: 'p. 1',
    });
  });

  test("a reference to another tenant's blob is refused with BLOB_TENANT_MISMATCH, never read", async () => {
    const theirs = await upload('globex', await makeHandbook());
    const failure = await applicationFailure(
      run(h.env(), h.activities.prepareDocument, blobInput('acme', 'stolen.pdf', theirs.ref)),
    );
    expect(failure).toMatchObject({ type: 'BLOB_TENANT_MISMATCH', nonRetryable: true });
  });

  test('a malformed or missing blob reference fails with its code', async () => {
    const bad = await applicationFailure(
      run(h.env(), h.activities.prepareDocument, blobInput('acme', 'x.pdf', 'blob:acme/../../etc/passwd')),
    );
    expect(bad).toMatchObject({ type: 'BLOB_INVALID_REF', nonRetryable: true });
    const gone = await applicationFailure(
      run(h.env(), h.activities.prepareDocument, blobInput('acme', 'x.pdf', `blob:acme/${'0'.repeat(64)}`)),
    );
    expect(gone).toMatchObject({ type: 'BLOB_NOT_FOUND', nonRetryable: true });
  });

  test('a blob over the size limit is FILE_TOO_LARGE before any parse', async () => {
    const small = await makeHarness({ parseLimits: { maxBytes: 1024, timeoutMs: 60_000, maxMemoryMb: 1024 } });
    try {
      const store = new LocalBlobStore(path.join(small.dataDir, 'blobs'));
      const blob = await store.put('acme', chunks(await makeHandbook()), { maxBytes: 1048576 });
      const failure = await applicationFailure(
        run(small.env(), small.activities.prepareDocument, blobInput('acme', 'big.pdf', blob.ref)),
      );
      expect(failure).toMatchObject({ type: 'FILE_TOO_LARGE', nonRetryable: true });
    } finally {
      await small.close();
    }
  });
});

describe('the document registry', () => {
  test('lists a live document with its name, version, chunks, pages and ingestion time', async () => {
    const blob = await upload('acme', await makeHandbook());
    const prepared = await ingestBlob('acme', 'handbook.pdf', blob.ref);
    expect(await registry.list('acme')).toEqual([
      {
        tenantId: 'acme',
        documentId: 'handbook.pdf',
        status: 'live',
        name: 'handbook.pdf',
        version: prepared.version,
        chunks: HANDBOOK_PAGES.length,
        pages: HANDBOOK_PAGES.length,
        ingestedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    ]);
    expect(await registry.list('globex')).toEqual([]);
  });

  test('records a failure with its code and sentence, and a later success clears it', async () => {
    await run(h.env(), h.activities.recordIngestFailure, {
      tenantId: 'acme',
      documentId: '報告.pdf',
      code: 'PDF_ENCRYPTED',
      message: 'The PDF is encrypted; pass its password.',
    });
    expect(await registry.get('acme', '報告.pdf')).toMatchObject({
      status: 'failed',
      lastError: { code: 'PDF_ENCRYPTED', message: 'The PDF is encrypted; pass its password.' },
    });
    const blob = await upload('acme', await makeHandbook());
    await ingestBlob('acme', '報告.pdf', blob.ref, '報告.pdf');
    const record = await registry.get('acme', '報告.pdf');
    expect(record).toMatchObject({ status: 'live', name: '報告.pdf' });
    expect(record?.lastError).toBeUndefined();
  });

  test('a failed re-ingestion keeps the live version and shows the error beside it', async () => {
    const blob = await upload('acme', await makeHandbook());
    const first = await ingestBlob('acme', 'handbook.pdf', blob.ref);
    await run(h.env(), h.activities.recordIngestFailure, {
      tenantId: 'acme',
      documentId: 'handbook.pdf',
      code: 'NO_TEXT',
      message: 'No text could be extracted from the document.',
    });
    expect(await registry.get('acme', 'handbook.pdf')).toMatchObject({
      status: 'live',
      version: first.version,
      lastError: { code: 'NO_TEXT' },
    });
  });
});

describe('deleting a document', () => {
  test('removes its points, staging, unshared blobs and registry entry, and nothing of other documents', async () => {
    const handbook = await makeHandbook();
    const mine = await upload('acme', handbook);
    const other = await upload('acme', await makeHandbook(HANDBOOK_PAGES.slice(0, 2)));
    await ingestBlob('acme', 'handbook.pdf', mine.ref);
    await ingestBlob('acme', 'short.pdf', other.ref);
    await ingestBlob('globex', 'handbook.pdf', (await upload('globex', handbook)).ref);
    // A staged leftover of a version that never went live.
    await fs.mkdir(path.join(h.dataDir, 'staging', 'acme', 'handbook.pdf'), { recursive: true });
    await fs.writeFile(path.join(h.dataDir, 'staging', 'acme', 'handbook.pdf', 'v0.json'), '{}');

    const part = (p: 'vectors' | 'staging' | 'blobs' | 'registry') =>
      run(h.env(), h.activities.deleteDocumentPart, { tenantId: 'acme', documentId: 'handbook.pdf', part: p });
    expect(await part('vectors')).toEqual({ removed: HANDBOOK_PAGES.length });
    expect(await part('staging')).toEqual({ removed: 1 });
    expect(await part('blobs')).toEqual({ removed: 1 });
    expect(await part('registry')).toEqual({ removed: 1 });
    // Idempotent: a retry finds nothing left.
    expect(await part('vectors')).toEqual({ removed: 0 });

    expect(await h.vectors.count('acme', { documentId: 'handbook.pdf' })).toBe(0);
    expect(await h.vectors.count('acme', { documentId: 'short.pdf' })).toBe(2);
    expect(await h.vectors.count('globex', { documentId: 'handbook.pdf' })).toBe(HANDBOOK_PAGES.length);
    expect(await exists(path.join(h.dataDir, 'blobs', 'acme', mine.sha256))).toBe(false);
    expect(await exists(path.join(h.dataDir, 'blobs', 'acme', other.sha256))).toBe(true);
    expect((await registry.list('acme')).map((d) => d.documentId)).toEqual(['short.pdf']);
  });

  test('a blob another document of the tenant also uses stays', async () => {
    const blob = await upload('acme', await makeHandbook());
    await ingestBlob('acme', 'a.pdf', blob.ref);
    await ingestBlob('acme', 'b.pdf', blob.ref);
    expect(
      await run(h.env(), h.activities.deleteDocumentPart, { tenantId: 'acme', documentId: 'a.pdf', part: 'blobs' }),
    ).toEqual({ removed: 0 });
    expect(await exists(path.join(h.dataDir, 'blobs', 'acme', blob.sha256))).toBe(true);
  });
});

describe('purging a tenant', () => {
  test('removes vectors, blobs, staging, evaluation state and registry of one tenant, and nothing of another', async () => {
    const handbook = await makeHandbook();
    await ingestBlob('acme', 'handbook.pdf', (await upload('acme', handbook)).ref);
    await ingestBlob('globex', 'handbook.pdf', (await upload('globex', handbook)).ref);
    await fs.mkdir(path.join(h.dataDir, 'evaluations', 'acme'), { recursive: true });
    await fs.writeFile(path.join(h.dataDir, 'evaluations', 'acme', 'baseline.json'), '{}');
    await fs.mkdir(path.join(h.dataDir, 'staging', 'acme', 'x'), { recursive: true });
    await fs.writeFile(path.join(h.dataDir, 'staging', 'acme', 'x', 'v.json'), '{}');

    const purge = (part: 'vectors' | 'blobs' | 'staging' | 'evaluations' | 'registry') =>
      run(h.env(), h.activities.purgeTenantPart, { tenantId: 'acme', part });
    expect(await purge('vectors')).toEqual({ removed: HANDBOOK_PAGES.length });
    expect(await purge('blobs')).toEqual({ removed: 1 });
    expect(await purge('staging')).toEqual({ removed: 1 });
    expect(await purge('evaluations')).toEqual({ removed: 1 });
    expect(await purge('registry')).toEqual({ removed: 1 });

    expect(await h.vectors.count('acme')).toBe(0);
    expect(await registry.list('acme')).toEqual([]);
    expect(await exists(path.join(h.dataDir, 'blobs', 'acme'))).toBe(false);
    expect(await exists(path.join(h.dataDir, 'evaluations', 'acme'))).toBe(false);
    expect(await h.vectors.count('globex')).toBe(HANDBOOK_PAGES.length);
    expect(await registry.list('globex')).toHaveLength(1);
    expect(await exists(path.join(h.dataDir, 'blobs', 'globex'))).toBe(true);
  });

  test('an invalid tenant id is refused before anything is removed', async () => {
    const failure = await applicationFailure(
      run(h.env(), h.activities.purgeTenantPart, { tenantId: '../acme', part: 'blobs' }),
    );
    expect(failure).toMatchObject({ type: 'INVALID_TENANT', nonRetryable: true });
  });
});
