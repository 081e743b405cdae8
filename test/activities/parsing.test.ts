// prepareDocument through MockActivityEnvironment and the failure-mapping interceptor: real generated documents,
// the real isolated parse child, a real LanceDB store.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import type { PreparedDocument } from '../../activities';
import { makeWorkbook } from '../support/documents';
import type { Harness } from './harness';
import { warmChildPids } from '../../ingest/isolate';
import {
  applicationFailure,
  exists,
  HANDBOOK_PAGES,
  makeHandbook,
  makeHarness,
  PARSE_LIMITS,
  pathInput,
  rejection,
  run,
} from './harness';

jest.setTimeout(60_000);

let h: Harness;
beforeEach(async () => {
  h = await makeHarness();
});
afterEach(async () => h.close());

describe('prepareDocument', () => {
  test('parses a generated PDF and stages its chunks, returning a manifest without chunk text', async () => {
    const file = await h.file('handbook.pdf', await makeHandbook());
    const prepared = await run(h.env(), h.activities.prepareDocument, pathInput('acme', 'handbook', file));

    expect(prepared).toMatchObject({
      unchanged: false,
      chunks: HANDBOOK_PAGES.length,
      pages: HANDBOOK_PAGES.length,
      warnings: [],
    });
    expect(prepared.version).toMatch(/^[0-9a-f]{20}$/);
    expect(prepared.stagingRef).toBe(`acme/handbook/${prepared.version}.json`);
    // The manifest travels through workflow history: no document text in it.
    const manifest = JSON.stringify(prepared);
    expect(manifest).not.toContain('vacation');
    expect(manifest).not.toContain('Laptops');

    const staged = JSON.parse(await fs.readFile(h.stagingFile(prepared.stagingRef as string), 'utf8')) as {
      tenantId: string;
      documentId: string;
      version: string;
      sourceName: string;
      chunks: { index: number; text: string; locator: string }[];
    };
    expect(staged).toMatchObject({
      tenantId: 'acme',
      documentId: 'handbook',
      version: prepared.version,
      sourceName: 'handbook.pdf',
    });
    expect(staged.chunks.map((c) => c.locator)).toEqual(['p. 1', 'p. 2', 'p. 3', 'p. 4', 'p. 5']);
    expect(staged.chunks[0]?.text).toContain('25 vacation days');
    // Staging alone writes nothing to the vector store.
    expect(await h.vectors.count('acme')).toBe(0);
  });

  test('stages inline content under the given source name, and the same bytes give the same version', async () => {
    const bytes = await makeHandbook();
    const inline = {
      kind: 'inline' as const,
      name: 'upload.pdf',
      contentBase64: Buffer.from(bytes).toString('base64'),
    };
    const a = await run(h.env(), h.activities.prepareDocument, {
      tenantId: 'acme',
      documentId: 'handbook',
      source: inline,
      sourceName: 'Handbook 2024',
    });
    const staged = JSON.parse(await fs.readFile(h.stagingFile(a.stagingRef as string), 'utf8')) as {
      sourceName: string;
    };
    expect(staged.sourceName).toBe('Handbook 2024');
    const b = await run(
      h.env(),
      h.activities.prepareDocument,
      pathInput('acme', 'handbook', await h.file('other-name.pdf', bytes)),
    );
    expect(b.version).toBe(a.version);
    expect(b.stagingRef).toBe(a.stagingRef);
  });

  test('the same bytes after activation are reported unchanged, without staging anything', async () => {
    const file = await h.file('handbook.pdf', await makeHandbook());
    const input = pathInput('acme', 'handbook', file);
    const first = await run(h.env(), h.activities.prepareDocument, input);
    const base = {
      tenantId: 'acme',
      documentId: 'handbook',
      version: first.version,
      stagingRef: first.stagingRef as string,
    };
    await run(h.env(), h.activities.embedAndUpsert, base);
    await run(h.env(), h.activities.activateDocument, base);
    expect(await exists(h.stagingFile(base.stagingRef))).toBe(false);

    const again = await run(h.env(), h.activities.prepareDocument, input);
    expect(again).toEqual<PreparedDocument>({
      unchanged: true,
      version: first.version,
      chunks: first.chunks,
      warnings: [],
    });
    expect(await exists(h.stagingFile(base.stagingRef))).toBe(false);

    // Other options are another version even for the same bytes.
    const across = await run(h.env(), h.activities.prepareDocument, { ...input, chunkAcrossPages: true });
    expect(across.unchanged).toBe(false);
    expect(across.version).not.toBe(first.version);
  });

  test('an invalid tenant id is a non-retryable INVALID_TENANT failure', async () => {
    const file = await h.file('handbook.pdf', await makeHandbook());
    const failure = await applicationFailure(
      run(h.env(), h.activities.prepareDocument, pathInput('../acme', 'handbook', file)),
    );
    expect(failure).toMatchObject({ type: 'INVALID_TENANT', nonRetryable: true });
  });

  test('an invalid document id is a non-retryable INVALID_DOCUMENT_ID failure', async () => {
    const file = await h.file('handbook.pdf', await makeHandbook());
    const failure = await applicationFailure(
      run(h.env(), h.activities.prepareDocument, pathInput('acme', '../../etc/passwd', file)),
    );
    expect(failure).toMatchObject({ type: 'INVALID_DOCUMENT_ID', nonRetryable: true });
  });

  test('a missing source file or a directory is a non-retryable SOURCE_NOT_FOUND failure', async () => {
    const folder = path.join(h.sources, 'acme', 'folder');
    await fs.mkdir(folder, { recursive: true });
    for (const source of [path.join(h.sources, 'acme', 'nope.pdf'), folder]) {
      const failure = await applicationFailure(
        run(h.env(), h.activities.prepareDocument, pathInput('acme', 'doc', source)),
      );
      expect(failure).toMatchObject({ type: 'SOURCE_NOT_FOUND', nonRetryable: true });
    }
  });

  test('a file over the size limit is a non-retryable FILE_TOO_LARGE failure before any parse', async () => {
    const small = await makeHarness({ parseLimits: { ...PARSE_LIMITS, maxBytes: 1024 } });
    try {
      const file = await small.file('handbook.pdf', await makeHandbook());
      const failure = await applicationFailure(
        run(small.env(), small.activities.prepareDocument, pathInput('acme', 'handbook', file)),
      );
      expect(failure).toMatchObject({ type: 'FILE_TOO_LARGE', nonRetryable: true });
    } finally {
      await small.close();
    }
  });

  test('a document without any text is a non-retryable NO_TEXT failure and stages nothing', async () => {
    const file = await h.file('blank.txt', '   \n\n \t \n');
    const failure = await applicationFailure(
      run(h.env(), h.activities.prepareDocument, pathInput('acme', 'blank', file)),
    );
    expect(failure).toMatchObject({ type: 'NO_TEXT', nonRetryable: true });
    expect(await exists(path.join(h.dataDir, 'staging', 'acme', 'blank'))).toBe(false);
  });

  test('an empty file is a non-retryable EMPTY_FILE failure', async () => {
    const file = await h.file('empty.pdf', '');
    const failure = await applicationFailure(
      run(h.env(), h.activities.prepareDocument, pathInput('acme', 'empty', file)),
    );
    expect(failure).toMatchObject({ type: 'EMPTY_FILE', nonRetryable: true });
  });

  test('bytes of an unsupported type are a non-retryable UNSUPPORTED_TYPE failure', async () => {
    const file = await h.file('blob.pdf', new Uint8Array([0, 1, 2, 3, 255, 254, 0, 0, 7, 8, 9]));
    const failure = await applicationFailure(
      run(h.env(), h.activities.prepareDocument, pathInput('acme', 'blob', file)),
    );
    expect(failure).toMatchObject({ type: 'UNSUPPORTED_TYPE', nonRetryable: true });
  });

  test('heartbeats when the parse starts, before the document is staged', async () => {
    const file = await h.file(
      'book.xlsx',
      makeWorkbook({
        Budget: [
          ['Item', 'Amount'],
          ['Rent', 1200],
          ['Power', 300],
        ],
      }),
    );
    const env = h.env();
    const stagingDir = path.join(h.dataDir, 'staging', 'acme', 'book');
    const beats: { details: unknown; settled: boolean; staged: boolean }[] = [];
    let settled = false;
    env.on('heartbeat', (details: unknown) => beats.push({ details, settled, staged: existsSync(stagingDir) }));
    const prepared = await run(env, h.activities.prepareDocument, pathInput('acme', 'book', file)).finally(
      () => (settled = true),
    );
    expect(prepared).toMatchObject({ unchanged: false, sheets: 1 });
    expect(existsSync(stagingDir)).toBe(true);
    expect(beats.length).toBeGreaterThanOrEqual(1);
    expect(beats[0]).toEqual({ details: { stage: 'parsing' }, settled: false, staged: false });
  });
});

/** Children of this process running the parse child entry (Linux /proc); undefined elsewhere. */
const withoutWarm = (pids: number[] | undefined): number[] | undefined =>
  pids?.filter((pid) => !warmChildPids().includes(pid));

async function parseChildren(): Promise<number[] | undefined> {
  if (process.platform !== 'linux') return undefined;
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(path.join('ingest', 'child'))) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

describe('prepareDocument cancellation', () => {
  test('heartbeats every few seconds while a large CSV parses; cancelling then rejects promptly with a CancelledFailure, kills the parse child and stages nothing', async () => {
    // 390 000 rows of five cells, about 30 MB: just under the default limit of 2 M cells, and the parse takes far
    // longer than the five seconds to the second heartbeat (about 13 s for 350 000 rows on a two-core machine).
    const rows = ['id,name,region,amount,notes'];
    for (let i = 0; i < 390_000; i++)
      rows.push(`${i},Item ${i},Region ${i % 7},${i * 3},Notes about item number ${i} in the ledger`);
    const file = await h.file('ledger.csv', rows.join('\n'));

    const env = h.env();
    const beats: { details: unknown; at: number; children?: number[] }[] = [];
    let secondBeat!: () => void;
    const twoBeats = new Promise<void>((resolve) => (secondBeat = resolve));
    env.on('heartbeat', (details: unknown) => {
      const beat: (typeof beats)[number] = { details, at: Date.now() };
      beats.push(beat);
      if (beats.length === 2) {
        void parseChildren().then((children) => {
          beat.children = children;
          secondBeat();
        });
      }
    });
    let settled = false;
    const started = Date.now();
    const running = run(env, h.activities.prepareDocument, pathInput('acme', 'ledger', file, { sourceName: 'Ledger' }));
    void running.then(
      () => (settled = true),
      () => (settled = true),
    );

    await Promise.race([twoBeats, running]);
    // Still parsing at the second heartbeat, with the isolated child running: the cancel below lands mid-parse.
    expect(settled).toBe(false);
    expect(beats.map((b) => b.details)).toEqual([{ stage: 'parsing' }, { stage: 'parsing' }]);
    expect((beats[1] as { at: number }).at - (beats[0] as { at: number }).at).toBeGreaterThanOrEqual(4000);
    // The child parsing this file; the pool's idle pre-spawned children wait for later files.
    if (process.platform === 'linux') expect(withoutWarm(beats[1]?.children)).toHaveLength(1);

    const cancelledAt = Date.now();
    env.cancel();
    const err = await rejection(running);
    const cancelMs = Date.now() - cancelledAt;

    expect(err).toBeInstanceOf(CancelledFailure);
    expect(cancelMs).toBeLessThan(2000);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await exists(path.join(h.dataDir, 'staging', 'acme'))).toBe(false);
    if (process.platform === 'linux') expect(withoutWarm(await parseChildren())).toEqual([]);
  });
});
