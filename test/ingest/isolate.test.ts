// Isolation of parsing: time and memory limits, crashes, zip bombs, hardened intrinsics, cancellation. A hostile file
// may take down its child process, never the test process (which stands in for the Temporal worker).
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { extractChunks, IngestError } from '../../ingest';
import { checkInflatedSize } from '../../ingest/child';
import { disposeWarmPool, extractIsolated } from '../../ingest/isolate';
import type { ExtractJob, IsolationReport, TestHook } from '../../ingest/isolate';
import { DEFAULT_CHUNKING } from '../../ingest/chunk';
import { resolveLimits } from '../../ingest/limits';
import { packageDirs, permissionFlag } from '../../ingest/sandbox';
import { sniff } from '../../ingest/sniff';
import type { IngestLimits } from '../../ingest/types';
import { makeTextPdf } from '../support/documents';
import { makeZip, POLLUTING_CSV, zipBombLying, zipBombStream } from '../fixtures/hostile-fixtures';
import { childPidsOf, isRunning, killQuietly, waitFor } from '../support/processes';

jest.setTimeout(30_000);

afterAll(() => disposeWarmPool());

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

function runHook(
  hook: TestHook,
  limits: Partial<IngestLimits> = {},
  onReport?: (r: IsolationReport) => void,
): Promise<unknown> {
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
    // Large enough that even a pre-spawned child, booted before the job, cannot chunk it within the limit.
    const line = 'The filter is cleaned monthly and the valve is checked every quarter.\n';
    const bytes = new Uint8Array(Buffer.from(line.repeat(Math.ceil(2e6 / line.length))));
    expect((await failure(extractChunks({ bytes, limits: { timeoutMs: 20 } }))).code).toBe('PARSE_TIMEOUT');
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
    const job: ExtractJob = {
      ...textJob(),
      sniffed: { kind: 'text', format: 'text', mediaType: 'text/plain', encoding: 'utf-8' },
    };
    const err = await failure(extractIsolated(notUtf8, job));
    expect(err.code).toBe('TEXT_ENCODING');
  });

  it('keeps a pollution attempt in the child from sticking there or reaching the parent', async () => {
    const result = (await runHook('pollute')) as { document: { warnings: { code: string; message: string }[] } };
    expect(result.document.warnings).toContainEqual({ code: 'TEST_POLLUTION', message: 'undefined' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('parses a CSV full of __proto__ keys without polluting the parent', async () => {
    await extractChunks({ bytes: new Uint8Array(Buffer.from(POLLUTING_CSV)), fileName: 'evil.csv' }).catch(
      () => undefined,
    );
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
    const err = await failure(
      extractChunks({ bytes: bomb, fileName: 'bomb.xlsx', limits: { maxDecompressedBytes: 1024 * 1024 } }),
    );
    expect(err.code).toBe('DECOMPRESSED_TOO_LARGE');
  });

  it('counts inflated bytes without keeping them and stops at the limit', async () => {
    await expect(checkInflatedSize(zipBombLying(2 * 1024 * 1024), 1024 * 1024)).rejects.toMatchObject({
      code: 'DECOMPRESSED_TOO_LARGE',
    });
    const honest = makeZip([
      { name: '[Content_Types].xml', data: '<Types/>' },
      { name: 'xl/worksheets/sheet1.xml', data: Buffer.alloc(512 * 1024, 0x20) },
    ]);
    await expect(checkInflatedSize(honest, 1024 * 1024)).resolves.toBeUndefined();
  });

  it('refuses an entry once its stream inflates past its declared size, even under the limit', async () => {
    // Headers that all agree on 100 bytes in front of a 2 GB stream: counting up to a generous limit would take
    // seconds and then let it through; the declared size is where the lie shows.
    const bomb = zipBombStream(2 * 1024 * 1024 * 1024);
    const started = Date.now();
    await expect(checkInflatedSize(bomb, 4 * 1024 * 1024 * 1024)).rejects.toMatchObject({
      code: 'DECOMPRESSED_TOO_LARGE',
    });
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(checkInflatedSize(zipBombLying(512 * 1024), 1024 * 1024)).rejects.toMatchObject({
      code: 'DECOMPRESSED_TOO_LARGE',
    });
  });

  it('refuses quickly a 600 MB bomb whose every header declares 100 bytes, with DECOMPRESSED_TOO_LARGE', async () => {
    const bomb = zipBombStream(600 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const started = Date.now();
    const err = await failure(extractChunks({ bytes: bomb, fileName: 'bomb.xlsx' }));
    expect(err.code).toBe('DECOMPRESSED_TOO_LARGE');
    expect(Date.now() - started).toBeLessThan(5000); // a child's start, then milliseconds of inflating
  });

  it('refuses a stream running past its declared compressed size with SHEET_CORRUPT', async () => {
    // Both headers declare 1 compressed byte in front of a real (small) deflate stream, which SheetJS reads whole.
    const sheet = Buffer.from('<row/>'.repeat(100));
    const bomb = makeZip([
      { name: '[Content_Types].xml', data: '<Types/>' },
      { name: 'xl/worksheets/sheet1.xml', data: sheet, centralCompressedSize: 1, local: { compressedSize: 1 } },
    ]);
    await expect(checkInflatedSize(bomb, 1024 * 1024)).rejects.toMatchObject({ code: 'SHEET_CORRUPT' });
  });
});

describe('the permission model around the child', () => {
  const outsideDir = mkdtempSync(path.join(os.tmpdir(), 'groundwork-outside-'));
  const outside = path.join(outsideDir, 'secret.txt');
  writeFileSync(outside, 'OPENAI_API_KEY=sk-not-for-the-parser');
  afterAll(() => rmSync(outsideDir, { recursive: true, force: true }));

  /** What the child's read of `file` (from its main thread or from a worker thread it starts) came to. */
  async function childRead(file: string, hook: 'readFile' | 'readFileInWorker', job = textJob()): Promise<string> {
    try {
      await extractIsolated(TEXT, job, { testHook: hook, testHookPath: file });
      return 'readable';
    } catch (err) {
      if (err instanceof IngestError) return err.message;
      throw err;
    }
  }

  it('lets the child read what it needs but no file outside its job folder, code and parser packages', async () => {
    expect(await childRead(outside, 'readFile')).toBe('Test hook readFile: ERR_ACCESS_DENIED.');
    expect(await childRead(path.join(__dirname, '../../package.json'), 'readFile')).toContain('ERR_ACCESS_DENIED');
    expect(await childRead(__filename, 'readFile')).toContain('ERR_ACCESS_DENIED');
    // The tokenizer chunking needs is granted; the parse goes on.
    const tokenizer = packageDirs(['gpt-tokenizer'])[0] as string;
    expect(await childRead(path.join(tokenizer, 'package.json'), 'readFile')).toBe('readable');
  });

  (process.platform === 'linux' ? it : it.skip)(
    "cannot read the parent's environment through /proc/<ppid>/environ, where the API keys are",
    async () => {
      expect(await childRead(`/proc/${process.pid}/environ`, 'readFile')).toBe(
        'Test hook readFile: ERR_ACCESS_DENIED.',
      );
    },
  );

  it('keeps a worker thread the child starts with execArgv: [] under the same permissions', async () => {
    // On Node 20 such a worker would run without the permission model; the child seals the Worker constructor.
    expect(await childRead(outside, 'readFileInWorker')).toBe('Test hook readFileInWorker: ERR_ACCESS_DENIED.');
    if (process.platform === 'linux') {
      expect(await childRead(`/proc/${process.pid}/environ`, 'readFileInWorker')).toContain('ERR_ACCESS_DENIED');
    }
  });

  it('holds for PDF jobs too, which also load the canvas addon and may start the OCR worker', async () => {
    const bytes = await makeTextPdf([['A page of text for the permission test.']]);
    const job: ExtractJob = { ...textJob(), sniffed: sniff(bytes) };
    expect(await childRead(outside, 'readFile', job)).toContain('ERR_ACCESS_DENIED');
    expect(await childRead(outside, 'readFileInWorker', job)).toContain('ERR_ACCESS_DENIED');
  });

  it('chooses the permission flag by Node version', () => {
    expect(permissionFlag('20.20.2')).toBe('--experimental-permission');
    const major = Number(process.versions.node.split('.')[0]);
    if (major >= 22 && process.allowedNodeEnvironmentFlags.has('--permission')) {
      expect(permissionFlag(process.versions.node)).toBe('--permission');
    }
  });
});

/**
 * The parse child among the children of `parentPid`, by its command line (ingest/child.js, compiled or bundled):
 * from the TypeScript sources the parent also runs esbuild, which bundles the child's code, as a child process.
 */
function parseChildOf(parentPid: number): number | undefined {
  return childPidsOf(parentPid).find((pid) =>
    /child\.js/.test(spawnSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).stdout),
  );
}

describe('a child whose parent cannot stop it', () => {
  /**
   * Starts a stand-in for the worker in its own process: it runs one extraction whose child hangs in a busy loop
   * (no event loop turn, so no 'disconnect' event or timer of the child's main thread can run) and returns the ids
   * of both processes once the child has had time to read its job.
   */
  async function startHangingExtraction(timeoutMs: number): Promise<{ parent: ChildProcess; child: number }> {
    const ingest = (name: string): string => JSON.stringify(path.join(__dirname, '../../ingest', name));
    const script = `
      const { extractIsolated } = require(${ingest('isolate.ts')});
      const { sniff } = require(${ingest('sniff.ts')});
      const { resolveLimits } = require(${ingest('limits.ts')});
      const { DEFAULT_CHUNKING } = require(${ingest('chunk.ts')});
      const bytes = new Uint8Array(Buffer.from('# Note\\n'));
      const job = { sniffed: sniff(bytes), limits: resolveLimits({ timeoutMs: ${timeoutMs} }), chunking: { ...DEFAULT_CHUNKING } };
      extractIsolated(bytes, job, { testHook: 'hang' }).catch(() => undefined);
    `;
    const parent = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script], {
      stdio: 'ignore',
    });
    const parentPid = parent.pid as number;
    const child = await waitFor('the parser child', 10_000, () => parseChildOf(parentPid));
    await new Promise((resolve) => setTimeout(resolve, 1500)); // loading tsx, reading the job, entering the loop
    return { parent, child };
  }

  it('stops by itself in the middle of a synchronous parse when its parent was SIGKILLed', async () => {
    const { parent, child } = await startHangingExtraction(60_000);
    try {
      expect(isRunning(child)).toBe(true);
      parent.kill('SIGKILL');
      await waitFor('the orphaned child to stop', 5000, () => (isRunning(child) ? undefined : true));
    } finally {
      killQuietly(child);
      killQuietly(parent.pid);
    }
  });

  it('stops by itself a little after its own deadline when its parent is alive but frozen', async () => {
    const { parent, child } = await startHangingExtraction(2500);
    try {
      parent.kill('SIGSTOP'); // the parent's own 2.5 s timer cannot fire now
      expect(isRunning(child)).toBe(true);
      // The child's deadline: 2.5 s plus a 5 s grace from when it read its job.
      await waitFor('the child to stop at its own deadline', 12_000, () => (isRunning(child) ? undefined : true));
    } finally {
      killQuietly(child);
      killQuietly(parent.pid);
    }
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
      // Frozen in effect, whichever way it was done (hardenIntrinsics avoids Object.freeze for speed).
      out.frozen = [Object.prototype, Array.prototype, Function.prototype, Uint8Array.prototype,
        Object.getPrototypeOf(Uint8Array).prototype, Error.prototype, Object, JSON, Math].every((o) => Object.isFrozen(o));
      process.stdout.write(JSON.stringify(out));
    `;
    const run = spawnSync(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
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
      frozen: true,
    });
  });
});
