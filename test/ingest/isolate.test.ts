// Isolation of parsing: time and memory limits, crashes, zip bombs, hardened intrinsics, cancellation. A hostile file
// may take down its child process, never the test process (which stands in for the Temporal worker).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { extractChunks, IngestError } from '../../ingest';
import { checkInflatedSize } from '../../ingest/child';
import { extractIsolated } from '../../ingest/isolate';
import type { ExtractJob, IsolationReport, TestHook } from '../../ingest/isolate';
import { DEFAULT_CHUNKING } from '../../ingest/chunk';
import { resolveLimits } from '../../ingest/limits';
import { sniff } from '../../ingest/sniff';
import type { IngestLimits } from '../../ingest/types';
import { POLLUTING_CSV, zipBombLying } from '../fixtures/hostile-fixtures';

jest.setTimeout(30_000);

const hasSheetParser = existsSync(path.join(__dirname, '../../ingest/sheet'));
const itWithSheetParser = hasSheetParser ? it : it.skip;

const TEXT = new Uint8Array(Buffer.from('# Note\n\nThe filter is cleaned monthly.\n'));

function textJob(limits: Partial<IngestLimits> = {}, bytes = TEXT): ExtractJob {
  return { sniffed: sniff(bytes), limits: resolveLimits(limits), chunking: { ...DEFAULT_CHUNKING } };
}

async function failure(promise: Promise<unknown>): Promise<IngestError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof IngestError) return err;
    throw err;
  }
  throw new Error('expected an IngestError');
}

function runHook(hook: TestHook, limits: Partial<IngestLimits> = {}, onReport?: (r: IsolationReport) => void): Promise<unknown> {
  return extractIsolated(TEXT, textJob(limits), { testHook: hook, onReport });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('isolated extraction', () => {
  it('parses in a child process and reports its peak memory', async () => {
    let report: IsolationReport | undefined;
    const result = await extractChunks({ bytes: TEXT, fileName: 'note.md' }, { onReport: (r) => (report = r) });
    expect(result.chunks[0]?.text).toBe('Note\n\nThe filter is cleaned monthly.');
    expect(report).toMatchObject({ exitCode: 0, signal: null });
    expect(report?.peakRssMb).toBeGreaterThan(10);
  });

  it('stops a parse that exceeds the time limit with PARSE_TIMEOUT and kills the child', async () => {
    const started = Date.now();
    let report: IsolationReport | undefined;
    const err = await failure(runHook('hang', { timeoutMs: 1500 }, (r) => (report = r)));
    expect(err.code).toBe('PARSE_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(report?.signal).toBe('SIGKILL');
  });

  it('gives PARSE_TIMEOUT for a real input when the limit is shorter than the parse', async () => {
    expect((await failure(extractChunks({ bytes: TEXT, limits: { timeoutMs: 20 } }))).code).toBe('PARSE_TIMEOUT');
  });

  it('stops a parse that exceeds the memory cap with PARSE_MEMORY', async () => {
    expect((await failure(runHook('allocate', { maxMemoryMb: 64 }))).code).toBe('PARSE_MEMORY');
  });

  it('gives PARSE_MEMORY for a real input too large for a tiny memory cap', async () => {
    const line = 'The quick brown fox jumps over the lazy dog and keeps running far away.\n';
    const bytes = new Uint8Array(Buffer.from(line.repeat(Math.ceil(20e6 / line.length))));
    expect((await failure(extractChunks({ bytes, limits: { maxMemoryMb: 32 } }))).code).toBe('PARSE_MEMORY');
  });

  it('reports a child that dies without an answer as PARSE_CRASHED', async () => {
    const err = await failure(runHook('crash'));
    expect(err.code).toBe('PARSE_CRASHED');
    expect(err.message).toContain('exit code 70');
  });

  it('returns an IngestError raised in the child with its code', async () => {
    const notUtf8 = new Uint8Array([0x61, 0xff, 0x62]);
    const job: ExtractJob = { ...textJob(), sniffed: { kind: 'text', format: 'text', mediaType: 'text/plain', encoding: 'utf-8' } };
    const err = await failure(extractIsolated(notUtf8, job));
    expect(err.code).toBe('TEXT_ENCODING');
  });

  it('keeps a pollution attempt in the child from sticking there or reaching the parent', async () => {
    const result = (await runHook('pollute')) as { document: { warnings: { code: string; message: string }[] } };
    expect(result.document.warnings).toContainEqual({ code: 'TEST_POLLUTION', message: 'undefined' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  itWithSheetParser('parses a CSV full of __proto__ keys without polluting the parent', async () => {
    await extractChunks({ bytes: new Uint8Array(Buffer.from(POLLUTING_CSV)), fileName: 'evil.csv' }).catch(() => undefined);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });

  it('kills the child and rejects with the reason when the caller aborts', async () => {
    const controller = new AbortController();
    let pid = 0;
    const pending = extractIsolated(TEXT, textJob({ timeoutMs: 20_000 }), {
      testHook: 'hang',
      signal: controller.signal,
      onReport: (r) => (pid = r.pid ?? 0),
    });
    setTimeout(() => controller.abort(new Error('activity cancelled')), 500);
    await expect(pending).rejects.toThrow('activity cancelled');
    expect(pid).toBeGreaterThan(0);
    expect(isAlive(pid)).toBe(false);
  });

  it('rejects a zip whose entries really inflate past the limit, even when its headers lie', async () => {
    const bomb = zipBombLying(3 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(20_000);
    const declared = sniff(bomb);
    expect('zip' in declared && declared.zip.declaredUncompressedBytes).toBeLessThan(1024);
    const err = await failure(extractChunks({ bytes: bomb, fileName: 'bomb.xlsx', limits: { maxDecompressedBytes: 1024 * 1024 } }));
    expect(err.code).toBe('DECOMPRESSED_TOO_LARGE');
  });

  it('counts inflated bytes without keeping them and stops at the limit', async () => {
    await expect(checkInflatedSize(zipBombLying(2 * 1024 * 1024), 1024 * 1024)).rejects.toMatchObject({ code: 'DECOMPRESSED_TOO_LARGE' });
    await expect(checkInflatedSize(zipBombLying(512 * 1024), 1024 * 1024)).resolves.toBeUndefined();
  });
});

describe('hardenIntrinsics', () => {
  // Run in a separate process: hardening the test runner itself would break jest.
  it('blocks new properties on Object.prototype while ordinary overriding keeps working', () => {
    const script = `
      'use strict';
      const { hardenIntrinsics } = require(${JSON.stringify(path.join(__dirname, '../../ingest/child.ts'))});
      hardenIntrinsics();
      const out = {};
      try { ({}).__proto__.polluted = 1; out.strictAssign = 'allowed'; } catch (e) { out.strictAssign = e.constructor.name; }
      try { Object.defineProperty(Object.prototype, 'polluted2', { value: 1 }); out.define = 'allowed'; } catch (e) { out.define = e.constructor.name; }
      try { Array.prototype.evil = 1; out.array = 'allowed'; } catch (e) { out.array = e.constructor.name; }
      try { Object.prototype.toString = () => 'evil'; out.replace = 'allowed'; } catch (e) { out.replace = e.constructor.name; }
      out.polluted = ({}).polluted === undefined && ({}).polluted2 === undefined && [].evil === undefined;
      class MyError extends Error { constructor() { super('m'); this.name = 'MyError'; } }
      out.errorName = new MyError().name;
      function Legacy() {}
      Legacy.prototype.toString = function () { return 'legacy'; };
      out.legacyToString = String(new Legacy());
      out.plainToString = String({});
      process.stdout.write(JSON.stringify(out));
    `;
    const run = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      strictAssign: 'TypeError',
      define: 'TypeError',
      array: 'TypeError',
      replace: 'TypeError',
      polluted: true,
      errorName: 'MyError',
      legacyToString: 'legacy',
      plainToString: '[object Object]',
    });
  });
});
