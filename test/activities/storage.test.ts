// embedAndUpsert, activateDocument and discardStagedDocument through MockActivityEnvironment and the failure-mapping
// interceptor, against a real LanceDB store and real staged documents.
import path from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { pointId } from '../../activities/vectors/ids';
import type { Harness } from './harness';
import { applicationFailure, exists, HANDBOOK_PAGES, ingest, makeHarness, rejection, run, stage } from './harness';

jest.setTimeout(30_000);

let h: Harness;
beforeEach(async () => {
  h = await makeHarness({ embedBatch: 2 });
});
afterEach(async () => h.close());

const CHUNKS = HANDBOOK_PAGES.length; // 5: batches of 2 give 2 + 2 + 1

const prepare = (tenantId: string, documentId: string, pages = HANDBOOK_PAGES): ReturnType<typeof stage> =>
  stage(h, tenantId, documentId, pages);

const ids = (tenantId: string, documentId: string, version: string, n: number): string[] =>
  Array.from({ length: n }, (_, i) => pointId(tenantId, documentId, version, i));

describe('embedAndUpsert', () => {
  test('upserts every staged chunk as a staged point, heartbeating { next } after each batch', async () => {
    const p = await prepare('acme', 'handbook');
    expect(p.chunks).toBe(CHUNKS);
    const env = h.env();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));

    const result = await run(env, h.activities.embedAndUpsert, {
      tenantId: 'acme',
      documentId: 'handbook',
      version: p.version,
      stagingRef: p.stagingRef,
    });

    expect(result).toEqual({ upserted: CHUNKS });
    expect(beats).toEqual([{ next: 2 }, { next: 4 }, { next: 5 }]);
    expect(await h.vectors.count('acme', { documentId: 'handbook', state: 'staged' })).toBe(CHUNKS);
    expect(await h.vectors.count('acme', { state: 'active' })).toBe(0);
    const stored = await h.vectors.getChunks('acme', ids('acme', 'handbook', p.version, CHUNKS));
    expect(stored.map((c) => c.payload.chunkIndex).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(
      stored.every(
        (c) => c.payload.state === 'staged' && c.payload.version === p.version && c.payload.sourceName.endsWith('.pdf'),
      ),
    ).toBe(true);
    expect(stored.find((c) => c.payload.chunkIndex === 0)?.payload).toMatchObject({
      locator: 'p. 1',
      text: expect.stringContaining('25 vacation days'),
    });
    // Staged points are not searchable yet.
    expect(
      await run(h.env(), h.activities.retrieveChunks, { tenantId: 'acme', question: 'vacation days', topK: 5 }),
    ).toEqual({ chunks: [], tenantChunks: 0 }); // staged points are not active chunks
  });

  test('running it again writes the same point ids, never duplicates', async () => {
    const p = await prepare('acme', 'handbook');
    const input = { tenantId: 'acme', documentId: 'handbook', version: p.version, stagingRef: p.stagingRef };
    await run(h.env(), h.activities.embedAndUpsert, input);
    await run(h.env(), h.activities.embedAndUpsert, input);
    expect(await h.vectors.count('acme')).toBe(CHUNKS);
  });

  test('resumes from heartbeatDetails.next after a retry: only chunks from that index on are upserted', async () => {
    const p = await prepare('acme', 'handbook');
    const env = h.env({ attempt: 2, heartbeatDetails: { next: 3 } });
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));

    const result = await run(env, h.activities.embedAndUpsert, {
      tenantId: 'acme',
      documentId: 'handbook',
      version: p.version,
      stagingRef: p.stagingRef,
    });

    expect(result).toEqual({ upserted: 2 });
    expect(beats).toEqual([{ next: 5 }]);
    const all = ids('acme', 'handbook', p.version, CHUNKS);
    const present = (await h.vectors.getChunks('acme', all)).map((c) => c.id).sort();
    expect(present).toEqual([all[3], all[4]].sort());
  });

  test('resuming past the last chunk upserts nothing', async () => {
    const p = await prepare('acme', 'handbook');
    const result = await run(h.env({ heartbeatDetails: { next: CHUNKS } }), h.activities.embedAndUpsert, {
      tenantId: 'acme',
      documentId: 'handbook',
      version: p.version,
      stagingRef: p.stagingRef,
    });
    expect(result).toEqual({ upserted: 0 });
    expect(await h.vectors.count('acme')).toBe(0);
  });

  test('stops between batches when cancelled, with a CancelledFailure and the batches so far upserted', async () => {
    const p = await prepare('acme', 'handbook');
    const env = h.env();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => {
      beats.push(d);
      if (beats.length === 1) env.cancel(); // the workflow cancels while the first batch is being reported
    });
    const err = await rejection(
      run(env, h.activities.embedAndUpsert, {
        tenantId: 'acme',
        documentId: 'handbook',
        version: p.version,
        stagingRef: p.stagingRef,
      }),
    );
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(beats).toEqual([{ next: 2 }]);
    expect(await h.vectors.count('acme', { documentId: 'handbook', state: 'staged' })).toBe(2);
  });

  test('a staging ref of another tenant, document or version is a non-retryable STAGING_MISMATCH and writes nothing', async () => {
    const p = await prepare('acme', 'handbook');
    const good = { tenantId: 'acme', documentId: 'handbook', version: p.version, stagingRef: p.stagingRef };
    for (const input of [
      { ...good, tenantId: 'beta' },
      { ...good, documentId: 'other' },
      { ...good, version: '0123456789abcdef0123' },
    ]) {
      const failure = await applicationFailure(run(h.env(), h.activities.embedAndUpsert, input));
      expect(failure).toMatchObject({ type: 'STAGING_MISMATCH', nonRetryable: true });
    }
    expect(await h.vectors.count('acme')).toBe(0);
    expect(await h.vectors.count('beta')).toBe(0);
  });

  test('a staging file that is gone is a non-retryable STAGING_MISSING', async () => {
    const failure = await applicationFailure(
      run(h.env(), h.activities.embedAndUpsert, {
        tenantId: 'acme',
        documentId: 'handbook',
        version: 'v1',
        stagingRef: 'acme/handbook/v1.json',
      }),
    );
    expect(failure).toMatchObject({ type: 'STAGING_MISSING', nonRetryable: true });
  });

  test('a staging ref leading out of the staging area is a non-retryable STAGING_INVALID_REF', async () => {
    const failure = await applicationFailure(
      run(h.env(), h.activities.embedAndUpsert, {
        tenantId: 'acme',
        documentId: 'handbook',
        version: 'v1',
        stagingRef: '../../../etc/passwd',
      }),
    );
    expect(failure).toMatchObject({ type: 'STAGING_INVALID_REF', nonRetryable: true });
  });

  test('an invalid tenant id is a non-retryable INVALID_TENANT', async () => {
    const p = await prepare('acme', 'handbook');
    const failure = await applicationFailure(
      run(h.env(), h.activities.embedAndUpsert, {
        tenantId: "acme' OR '1'='1",
        documentId: 'handbook',
        version: p.version,
        stagingRef: p.stagingRef,
      }),
    );
    expect(failure).toMatchObject({ type: 'INVALID_TENANT', nonRetryable: true });
  });
});

describe('activateDocument', () => {
  test('makes the staged points active, retires the older version and removes the staging file', async () => {
    const v1 = await ingest(h, 'acme', 'handbook', HANDBOOK_PAGES.slice(0, 3));
    expect(await h.vectors.activeVersion('acme', 'handbook')).toBe(v1.version);
    expect(v1.chunks).toBe(3);

    const p2 = await prepare('acme', 'handbook');
    const base = { tenantId: 'acme', documentId: 'handbook', version: p2.version };
    await run(h.env(), h.activities.embedAndUpsert, { ...base, stagingRef: p2.stagingRef });
    // Until activation the old version stays the live one.
    expect(await h.vectors.activeVersion('acme', 'handbook')).toBe(v1.version);

    const counts = await run(h.env(), h.activities.activateDocument, { ...base, stagingRef: p2.stagingRef });

    expect(counts).toEqual({ activated: CHUNKS, retired: 3 });
    expect(await h.vectors.activeVersion('acme', 'handbook')).toBe(p2.version);
    expect(await h.vectors.count('acme', { documentId: 'handbook', state: 'active' })).toBe(CHUNKS);
    expect(await h.vectors.count('acme', { documentId: 'handbook', state: 'staged' })).toBe(0);
    expect(await h.vectors.getChunks('acme', ids('acme', 'handbook', v1.version, 3))).toEqual([]);
    expect(await exists(h.stagingFile(p2.stagingRef))).toBe(false);

    // Activating again is a no-op: the workflow may retry it.
    expect(await run(h.env(), h.activities.activateDocument, { ...base, stagingRef: p2.stagingRef })).toEqual({
      activated: 0,
      retired: 0,
    });
  });

  test('leaves other documents and other tenants alone', async () => {
    const other = await ingest(h, 'acme', 'other', HANDBOOK_PAGES.slice(0, 2));
    const beta = await ingest(h, 'beta', 'handbook', HANDBOOK_PAGES.slice(0, 2));
    await ingest(h, 'acme', 'handbook', HANDBOOK_PAGES.slice(0, 1));
    const p2 = await prepare('acme', 'handbook');
    const base = { tenantId: 'acme', documentId: 'handbook', version: p2.version };
    await run(h.env(), h.activities.embedAndUpsert, { ...base, stagingRef: p2.stagingRef });
    expect(await run(h.env(), h.activities.activateDocument, base)).toEqual({ activated: CHUNKS, retired: 1 });
    expect(await h.vectors.activeVersion('acme', 'other')).toBe(other.version);
    expect(await h.vectors.activeVersion('beta', 'handbook')).toBe(beta.version);
    expect(await h.vectors.count('beta')).toBe(2);
  });

  test("refuses a staging ref that is not this document version's own, and removes nothing", async () => {
    const beta = await prepare('beta', 'handbook');
    const failure = await applicationFailure(
      run(h.env(), h.activities.activateDocument, {
        tenantId: 'acme',
        documentId: 'handbook',
        version: beta.version,
        stagingRef: beta.stagingRef,
      }),
    );
    expect(failure).toMatchObject({ type: 'STAGING_MISMATCH', nonRetryable: true });
    expect(await exists(h.stagingFile(beta.stagingRef))).toBe(true);
  });

  test('refuses to activate a version with nothing staged: the live version stays', async () => {
    const live = await ingest(h, 'acme', 'handbook', HANDBOOK_PAGES.slice(0, 2));
    const failure = await applicationFailure(
      run(h.env(), h.activities.activateDocument, { tenantId: 'acme', documentId: 'handbook', version: 'bogus' }),
    );
    expect(failure).toMatchObject({ type: 'VERSION_NOT_STAGED', nonRetryable: true });
    expect(await h.vectors.activeVersion('acme', 'handbook')).toBe(live.version);
    expect(await h.vectors.count('acme', { documentId: 'handbook', state: 'active' })).toBe(2);
  });

  test('an invalid tenant id is a non-retryable INVALID_TENANT', async () => {
    const failure = await applicationFailure(
      run(h.env(), h.activities.activateDocument, { tenantId: 'a b', documentId: 'handbook', version: 'v1' }),
    );
    expect(failure).toMatchObject({ type: 'INVALID_TENANT', nonRetryable: true });
  });
});

describe('discardStagedDocument', () => {
  test('removes the staged points and staging files of the document but leaves its active version', async () => {
    const v1 = await ingest(h, 'acme', 'handbook', HANDBOOK_PAGES.slice(0, 3));
    // A second run got as far as embedding; a third only staged its file.
    const p2 = await prepare('acme', 'handbook');
    await run(h.env(), h.activities.embedAndUpsert, {
      tenantId: 'acme',
      documentId: 'handbook',
      version: p2.version,
      stagingRef: p2.stagingRef,
    });
    const p3 = await prepare('acme', 'handbook', HANDBOOK_PAGES.slice(0, 4));
    // Another document of the tenant and the same document of another tenant have staged work too.
    const otherDoc = await prepare('acme', 'other');
    const otherTenant = await prepare('beta', 'handbook');
    await run(h.env(), h.activities.embedAndUpsert, {
      tenantId: 'beta',
      documentId: 'handbook',
      version: otherTenant.version,
      stagingRef: otherTenant.stagingRef,
    });

    const result = await run(h.env(), h.activities.discardStagedDocument, {
      tenantId: 'acme',
      documentId: 'handbook',
      stagingRef: p2.stagingRef,
    });

    expect(result).toEqual({ discarded: CHUNKS });
    expect(await h.vectors.count('acme', { documentId: 'handbook', state: 'staged' })).toBe(0);
    expect(await h.vectors.activeVersion('acme', 'handbook')).toBe(v1.version);
    expect(await h.vectors.count('acme', { documentId: 'handbook', state: 'active' })).toBe(3);
    expect(await exists(h.stagingFile(p2.stagingRef))).toBe(false);
    expect(await exists(h.stagingFile(p3.stagingRef))).toBe(false);
    expect(await exists(path.join(h.dataDir, 'staging', 'acme', 'handbook'))).toBe(false);
    expect(await exists(h.stagingFile(otherDoc.stagingRef))).toBe(true);
    expect(await exists(h.stagingFile(otherTenant.stagingRef))).toBe(true);
    expect(await h.vectors.count('beta', { documentId: 'handbook', state: 'staged' })).toBe(CHUNKS);

    // Discarding twice is harmless (the workflow's clean-up may be retried).
    expect(
      await run(h.env(), h.activities.discardStagedDocument, { tenantId: 'acme', documentId: 'handbook' }),
    ).toEqual({ discarded: 0 });
  });

  test('invalid ids are non-retryable failures before anything is removed', async () => {
    const p = await prepare('acme', 'handbook');
    const tenant = await applicationFailure(
      run(h.env(), h.activities.discardStagedDocument, { tenantId: '..', documentId: 'handbook' }),
    );
    expect(tenant).toMatchObject({ type: 'INVALID_TENANT', nonRetryable: true });
    const doc = await applicationFailure(
      run(h.env(), h.activities.discardStagedDocument, { tenantId: 'acme', documentId: '../acme' }),
    );
    expect(doc).toMatchObject({ type: 'INVALID_DOCUMENT_ID', nonRetryable: true });
    expect(await exists(h.stagingFile(p.stagingRef))).toBe(true);
  });
});
