// The extraction pipeline after sniffing (parse, check limits, chunk), and the entry of the child process that runs it
// in isolation (see isolate.ts): one job per process; the intrinsics are hardened before any untrusted byte is parsed.
import { readFile, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { serialize } from 'node:v8';
import type * as WorkerThreadsModule from 'node:worker_threads';
import type { WorkerOptions } from 'node:worker_threads';
import { createInflateRaw } from 'node:zlib';
import { chunkBlocks } from './chunk';
import { IngestError } from './errors';
import { CHILD_DEADLINE_MESSAGE } from './isolate';
import { DEFAULT_LIMITS } from './limits';
import { isLaunchProfile, launchProfile } from './sandbox';
import type { LaunchProfile } from './sandbox';
import { localDataOffset, readZipDirectory, verifyZipEntries, ZipFormatError } from './sniff';
import { decodeText, parseText } from './text';
import type { ChildMessage, ExtractJob, ParentMessage, TestHook, WireError } from './isolate';
import type * as PdfParsers from './pdf';
import type * as SheetParsers from './sheet';
import type { ExtractResult, ParsedDocument } from './types';

// The format parsers are loaded lazily (xlsx only after the intrinsics are frozen); their types come from the modules.
type PdfModule = typeof PdfParsers;
type SheetModule = typeof SheetParsers;

function loadPdf(): PdfModule {
  return require('./pdf') as PdfModule;
}
function loadSheet(): SheetModule {
  return require('./sheet') as SheetModule;
}

// ---------- intrinsic hardening ----------

/**
 * Properties that code routinely assigns on its own objects (`this.name = ...`, `Foo.prototype.toString = ...`).
 * With the intrinsic prototypes frozen, such an assignment would fail (the "override mistake"), so these become
 * accessors whose setter defines an own property on the receiver, as SES's lockdown does.
 */
const OVERRIDABLE = new Set<PropertyKey>([
  'constructor',
  'toString',
  'toLocaleString',
  'valueOf',
  'name',
  'message',
  'stack',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toJSON',
  Symbol.toStringTag,
]);

let hardened = false;

/**
 * Freezes the prototypes of the built-ins and the built-in constructors, so that parsing a hostile file cannot add
 * or replace properties on them (prototype pollution, e.g. CVE-2023-30533 in xlsx <= 0.19.2). New properties on
 * Object.prototype are then impossible: `obj.__proto__.x = 1` is ignored (sloppy code) or throws (strict code).
 * RegExp.prototype stays unfrozen on purpose: V8 drops its regular-expression fast paths once that prototype is
 * modified, which made text parsing ten times slower; pollution payloads target Object.prototype, not regexps.
 */
export function hardenIntrinsics(): void {
  hardenOnce();
}

function hardenOnce(): void {
  if (hardened) return;
  hardened = true;
  const typedArray = Object.getPrototypeOf(Uint8Array) as { prototype: object };
  const constructors: { prototype: object }[] = [
    Object,
    Array,
    Function,
    String,
    Number,
    Boolean,
    Symbol,
    BigInt,
    Date,
    Promise,
    Map,
    Set,
    WeakMap,
    WeakSet,
    ArrayBuffer,
    DataView,
    typedArray,
    Uint8Array,
    Int8Array,
    Uint16Array,
    Int16Array,
    Uint32Array,
    Int32Array,
    Float32Array,
    Float64Array,
    Uint8ClampedArray,
    BigInt64Array,
    BigUint64Array,
    Error,
    TypeError,
    RangeError,
    SyntaxError,
    ReferenceError,
    EvalError,
    URIError,
  ];
  for (const ctor of constructors) {
    makeOverridable(ctor.prototype);
    lock(ctor.prototype);
  }
  for (const ctor of [Object, Array, Function, String, Number, Boolean, Symbol, Date, Promise, Map, Set]) lock(ctor);
  lock(JSON);
  lock(Math);
  lock(Reflect);
}

/**
 * What Object.freeze does to an object without calling it: every own property non-configurable (and read-only when
 * it holds a value), then no new property; Object.isFrozen is true afterwards. Object.freeze itself moves V8 off its
 * fast paths for code compiled later when it meets Object.prototype or the typed-array prototypes: parsing
 * large_strings.xlsx of ../shared/corpus took 8.3 s in a process hardened with it, 4.5 s unhardened and 5.9 s with
 * this (`npm run bench:ingest` shows the effect on the isolated ratios).
 */
function lock(target: object): void {
  for (const key of Reflect.ownKeys(target)) {
    const desc = Object.getOwnPropertyDescriptor(target, key);
    if (!desc) continue;
    const settled = !desc.configurable && !('value' in desc && desc.writable);
    if (!settled)
      Object.defineProperty(
        target,
        key,
        'value' in desc ? { writable: false, configurable: false } : { configurable: false },
      );
  }
  Object.preventExtensions(target);
}

function makeOverridable(proto: object): void {
  for (const key of Reflect.ownKeys(proto)) {
    if (!OVERRIDABLE.has(key)) continue;
    const desc = Object.getOwnPropertyDescriptor(proto, key);
    if (!desc || !('value' in desc) || !desc.writable || !desc.configurable) continue;
    const value: unknown = desc.value;
    Object.defineProperty(proto, key, {
      configurable: false,
      enumerable: desc.enumerable ?? false,
      get(): unknown {
        return value;
      },
      set(this: unknown, next: unknown): void {
        if (this === proto) throw new TypeError(`Cannot assign to ${String(key)} of a frozen intrinsic prototype`);
        Object.defineProperty(this, key, { value: next, writable: true, enumerable: true, configurable: true });
      },
    });
  }
}

// ---------- permission model seals ----------

type WorkerThreads = typeof WorkerThreadsModule;

/**
 * The worker_threads module object itself, which every require of it returns: an `import * as` namespace would be a
 * copy (esModuleInterop), and sealing a copy would seal nothing.
 */
function workerThreads(): WorkerThreads {
  return require('node:worker_threads') as WorkerThreads;
}

/** True when this process runs under Node's permission model (see sandbox.ts for the grants). */
function underPermissionModel(): boolean {
  return (process as { permission?: unknown }).permission !== undefined;
}

/** The permission options of this process without the grants a thread must not have (threads, addons). */
function threadExecArgv(): string[] {
  return process.execArgv.filter((arg) =>
    /^--(experimental-permission|permission|allow-fs-read=|allow-fs-write=)/.test(arg),
  );
}

/**
 * Makes every worker thread started from now on run under this process's file permissions, unable to start a thread
 * or load an addon of its own. On Node 20 a worker started with an explicit `execArgv` that leaves out the permission
 * flags runs without the permission model (`new Worker(code, { eval: true, execArgv: [] })` could read anything), and
 * the child needs `--allow-worker` for its guard thread and tesseract.js. The constructor is replaced on the module,
 * on its prototype and in the ES module view, before any input is read. JavaScript, not a Node-enforced boundary: see
 * sandbox.ts.
 */
function sealWorkerThreads(): void {
  const threads = workerThreads();
  const original = threads.Worker;
  const execArgv = threadExecArgv();
  const sealed = function Worker(this: unknown, filename: string | URL, options?: WorkerOptions): object {
    if (!new.target) throw new TypeError("Class constructor Worker cannot be invoked without 'new'");
    return new original(filename, { ...options, execArgv });
  } as unknown as WorkerThreads['Worker'];
  sealed.prototype = original.prototype;
  Object.defineProperty(original.prototype, 'constructor', { value: sealed, writable: false, configurable: false });
  Object.defineProperty(threads, 'Worker', { value: sealed, writable: false, configurable: false, enumerable: true });
  syncBuiltinESMExports();
}

/**
 * Closes native addon loading once the PDF stack has loaded @napi-rs/canvas (for OCR rendering): with
 * `--allow-addons`, hostile code could otherwise dlopen a shared object it wrote, or the input file itself, and run
 * native code outside the permission model.
 */
function closeAddons(): void {
  if (!underPermissionModel()) return;
  const refuse = (): never => {
    throw Object.assign(new Error('Loading native addons is closed in the parse child.'), {
      code: 'ERR_ACCESS_DENIED',
    });
  };
  Object.defineProperty(process, 'dlopen', { value: refuse, writable: false, configurable: false });
}

// ---------- zip bomb check ----------

/**
 * Inflates every entry once, counting bytes and keeping none, and stops as soon as an entry yields more than its
 * headers declare or the total passes the limit. The headers were checked against each other (verifyZipEntries, in
 * the parent and again here), but they are written by the attacker; this measures what the spreadsheet parser would
 * really produce. Like SheetJS, which inflates from the start of an entry's data until its deflate stream ends
 * whatever the declared compressed size, the stream is read from its start to its own end, not to the declared size.
 *
 * Decision: a stream that yields more than its entry declares is a decompression bomb (DECOMPRESSED_TOO_LARGE), found
 * after inflating at most the declared size plus one chunk, so a lying 600 MB bomb costs milliseconds, not the
 * second it takes to inflate up to the limit. A stream that ends anywhere but at the declared compressed size
 * (overlapping the next entry) is SHEET_CORRUPT; corrupt deflate data is left to the parser to report.
 */
export async function checkInflatedSize(bytes: Uint8Array, limit: number): Promise<void> {
  let entries;
  try {
    entries = readZipDirectory(bytes);
    verifyZipEntries(bytes, entries);
  } catch (err) {
    if (err instanceof ZipFormatError)
      throw new IngestError('SHEET_CORRUPT', 'The workbook is damaged: its zip structure cannot be read.');
    throw err;
  }
  const tooLarge = (): IngestError =>
    new IngestError(
      'DECOMPRESSED_TOO_LARGE',
      `The workbook expands to more than ${Math.round(limit / 1048576)} MB when decompressed.`,
    );
  let total = 0;
  for (const entry of entries) {
    const start = localDataOffset(bytes, entry);
    if (start === undefined) continue; // cannot happen after verifyZipEntries; the parser would report it
    if (entry.method === 0) total += entry.compressedSize;
    else if (entry.method === 8) {
      const budget = Math.min(limit - total, entry.uncompressedSize);
      const stream = await inflatedSize(bytes.subarray(start), budget);
      if (stream.bytes > limit - total) throw tooLarge();
      if (stream.bytes > entry.uncompressedSize) {
        throw new IngestError(
          'DECOMPRESSED_TOO_LARGE',
          'The workbook is a decompression bomb: an entry expands past the size its headers declare.',
        );
      }
      if (stream.ended && stream.consumed !== entry.compressedSize) {
        throw new IngestError('SHEET_CORRUPT', "The workbook is damaged: an entry's data does not end where declared.");
      }
      total += stream.bytes;
    }
    if (total > limit) throw tooLarge();
  }
}

/**
 * What a raw-deflate stream at the start of `data` inflates to, stopping early once past `budget` bytes: the bytes
 * counted, whether the stream reached its end, and how many input bytes that end took. Corrupt data counts what it
 * gave.
 */
function inflatedSize(data: Uint8Array, budget: number): Promise<{ bytes: number; ended: boolean; consumed: number }> {
  return new Promise((resolve) => {
    const inflate = createInflateRaw({ chunkSize: 64 * 1024 });
    let count = 0;
    let done = false;
    const settle = (ended: boolean): void => {
      if (done) return;
      done = true;
      resolve({ bytes: count, ended, consumed: inflate.bytesWritten });
    };
    inflate.on('data', (chunk: Buffer) => {
      count += chunk.length;
      if (count > budget) {
        settle(false);
        inflate.destroy();
      }
    });
    inflate.on('end', () => settle(true));
    inflate.on('error', () => settle(false));
    inflate.on('close', () => settle(false));
    inflate.end(data);
  });
}

// ---------- PDF warm-up ----------

/**
 * A one-page PDF with one word. pdf.js and its bundled polyfills patch built-in prototypes when they first load
 * (some only when the first document is opened), which would fail once the intrinsics are frozen; parsing this first
 * lets them finish loading before `hardenIntrinsics`.
 */
function warmUpPdf(): Uint8Array {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    '<< /Length 37 >>\nstream\nBT /F1 12 Tf 20 100 Td (warm) Tj ET\nendstream',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new Uint8Array(Buffer.from(out, 'latin1'));
}

let pdfStackReady = false;

/** Loads pdf.js through the warm-up document, then closes addon loading: once per process, before hardening. */
async function warmUpPdfStack(pdf: PdfModule): Promise<void> {
  if (pdfStackReady) return;
  pdfStackReady = true;
  await pdf.parsePdf(warmUpPdf(), { maxPages: 1, ocr: false }).catch(() => undefined);
  closeAddons(); // pdf-parse has loaded canvas by now
}

// ---------- boot ----------

/**
 * What a child of `profile` does before its job arrives (it may be started ahead of the job, isolate.ts): load its
 * parsers and harden the intrinsics, in the order parseDocument would. No input has been read yet. A failure here is
 * left for the job to meet again and report with its own error.
 */
async function preload(profile: LaunchProfile): Promise<void> {
  switch (profile) {
    case 'pdf':
      await warmUpPdfStack(loadPdf());
      hardenOnce();
      return;
    case 'sheet':
      hardenOnce(); // before xlsx is loaded
      loadSheet();
      return;
    case 'text':
      hardenOnce();
      return;
  }
}

// ---------- parse ----------

/**
 * Parses one job with the parser for its sniffed format. `harden` is true only in the child: freezing the intrinsics
 * of a long-lived process (the worker, a test runner) would break unrelated code there.
 */
async function parseDocument(bytes: Uint8Array, job: ExtractJob, harden: boolean): Promise<ParsedDocument> {
  const { sniffed, limits } = job;
  const hardenIntrinsics = harden ? hardenOnce : (): void => undefined;
  switch (sniffed.format) {
    case 'pdf': {
      const pdf = loadPdf();
      if (harden) await warmUpPdfStack(pdf);
      hardenIntrinsics();
      return pdf.parsePdf(bytes, { password: job.password, ocr: job.ocr, maxPages: limits.maxPages });
    }
    case 'xlsx':
    case 'xlsm':
    case 'xlsb':
    case 'ods':
      await checkInflatedSize(bytes, limits.maxDecompressedBytes);
      hardenIntrinsics(); // before xlsx is loaded
      return loadSheet().parseSpreadsheet(bytes, {
        includeHiddenSheets: job.includeHiddenSheets,
        maxCells: limits.maxCells,
        password: job.password,
      });
    case 'xls':
      hardenIntrinsics();
      return loadSheet().parseSpreadsheet(bytes, {
        includeHiddenSheets: job.includeHiddenSheets,
        maxCells: limits.maxCells,
        password: job.password,
      });
    case 'csv': {
      hardenIntrinsics();
      return loadSheet().parseCsv(decodeText(bytes, sniffed.encoding), {
        delimiter: sniffed.delimiter,
        maxCells: limits.maxCells,
      });
    }
    case 'text':
      hardenIntrinsics();
      return parseText(decodeText(bytes, sniffed.encoding), sniffed.mediaType);
  }
}

/**
 * Parse, re-check the totals the parsers enforce (costs nothing, trusts nothing), and chunk. Chunking runs here
 * rather than in the caller because it is CPU-bound (about 2.5 s per 10 MB of text): in the child it stays under
 * the time and memory limits and never blocks the worker's event loop (activity heartbeats).
 */
export async function runExtraction(bytes: Uint8Array, job: ExtractJob, harden: boolean): Promise<ExtractResult> {
  const document = await parseDocument(bytes, job, harden);
  const { limits } = job;
  if ((document.stats.pages ?? 0) > limits.maxPages) {
    throw new IngestError(
      'TOO_MANY_PAGES',
      `The document has ${document.stats.pages} pages; the limit is ${limits.maxPages}.`,
    );
  }
  if ((document.stats.cells ?? 0) > limits.maxCells) {
    throw new IngestError(
      'TOO_MANY_CELLS',
      `The workbook has ${document.stats.cells} cells; the limit is ${limits.maxCells}.`,
    );
  }
  const { blocks, ...rest } = document;
  return { document: rest, chunks: chunkBlocks(blocks, job.chunking) };
}

/** Unknown errors become the format's "corrupt" code; their messages are not forwarded (they may quote content). */
function toWireError(err: unknown, format: ExtractJob['sniffed']['format'] | undefined): WireError {
  if (err instanceof IngestError) return err.toJSON();
  const name = err instanceof Error ? err.name : typeof err;
  const message = err instanceof Error ? err.message : '';
  const errno = (err as { code?: unknown } | null)?.code;
  if (errno === 'ERR_ACCESS_DENIED') {
    // A parser reached for something the permission model does not grant: our sandbox, not the document, is at fault
    // (or the document subverted the parser, which the model just stopped).
    return {
      code: 'PARSE_CRASHED',
      message: 'The parser was refused access it needed in its sandbox.',
      retryable: false,
    };
  }
  if (errno === 'MODULE_NOT_FOUND' || errno === 'ERR_MODULE_NOT_FOUND') {
    // Our installation is broken, not the document: do not blame the file with a "corrupt" code.
    return {
      code: 'PARSE_CRASHED',
      message: 'The parser for this format is not available in this installation.',
      retryable: false,
    };
  }
  if (
    err instanceof RangeError &&
    /allocation failed|invalid (typed )?array length|invalid string length|out of memory/i.test(message)
  ) {
    return { code: 'PARSE_MEMORY', message: 'The document needs more memory than parsing allows.', retryable: false };
  }
  if (err instanceof RangeError && /call stack/i.test(message)) {
    return { code: 'PARSE_CRASHED', message: 'The document is nested too deeply to parse.', retryable: false };
  }
  if (format === 'pdf')
    return { code: 'PDF_CORRUPT', message: `The PDF could not be read (${name}).`, retryable: false };
  if (format === 'text')
    return { code: 'PARSE_CRASHED', message: `The text could not be parsed (${name}).`, retryable: false };
  if (format !== undefined)
    return { code: 'SHEET_CORRUPT', message: `The spreadsheet could not be read (${name}).`, retryable: false };
  return { code: 'PARSE_CRASHED', message: `The parser failed (${name}).`, retryable: false };
}

function peakRssMb(): number {
  return Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10; // maxRSS is in kilobytes
}

/** The error code of reading `file`, from this thread or from a worker thread started the way hostile code would. */
async function readAttempt(file: string, inWorker: boolean): Promise<string> {
  if (!inWorker) {
    return readFile(file).then(
      () => 'readable',
      (err: unknown) => String((err as { code?: unknown } | null)?.code ?? 'error'),
    );
  }
  const source = `
    const { readFileSync } = require('node:fs');
    const { parentPort, workerData } = require('node:worker_threads');
    let outcome = 'readable';
    try { readFileSync(workerData.file); } catch (err) { outcome = String(err.code || 'error'); }
    parentPort.postMessage(outcome);
  `;
  return new Promise<string>((resolve) => {
    try {
      const reader = new (workerThreads().Worker)(source, { eval: true, execArgv: [], workerData: { file } });
      reader.once('message', (outcome: string) => resolve(outcome));
      reader.once('error', (err: unknown) => resolve(String((err as { code?: unknown } | null)?.code ?? 'error')));
    } catch (err) {
      resolve(String((err as { code?: unknown } | null)?.code ?? 'error'));
    }
  });
}

async function runTestHook(hook: TestHook, file: string | undefined): Promise<void> {
  switch (hook) {
    case 'readFile':
    case 'readFileInWorker': {
      // A file the child could read goes unremarked (the parse goes on); a refusal comes back as a typed error.
      const outcome = await readAttempt(file ?? '', hook === 'readFileInWorker');
      if (outcome !== 'readable') throw new IngestError('PARSE_CRASHED', `Test hook ${hook}: ${outcome}.`);
      return;
    }
    case 'allocate': {
      const hoard: number[][] = [];
      for (;;) hoard.push(new Array<number>(1_000_000).fill(hoard.length));
    }
    case 'hang':
      for (;;); // a busy loop, like a parser stuck on a cyclic structure: only SIGKILL ends it
    case 'crash':
      process.exit(70);
      return;
    case 'pollute':
      return; // handled around the parse
  }
}

// ---------- orphan guard ----------

/** How often the guard thread looks at the parent and the clock. */
const GUARD_POLL_MS = 250;
/**
 * The child's own deadline is the parse time limit plus this, counted from when the job arrives (after the parent
 * started its own clock), so the parent's kill and its PARSE_TIMEOUT come first whenever the parent is responsive.
 */
const SELF_DEADLINE_GRACE_MS = 5000;
/**
 * The deadline in ms since the epoch, shared with the guard thread: 0 until the job arrives. The guard starts at boot,
 * so a pre-spawned child has it running before its job and the job does not wait for a thread to start.
 */
const guardDeadline = new BigInt64Array(new SharedArrayBuffer(8));

/**
 * The guard thread, plain JavaScript in its own V8 isolate and event loop. It runs while the main thread is stuck in a
 * synchronous parse, when neither the 'disconnect' event nor a timer of the main thread can fire, and SIGKILLs the
 * whole process once the parent is gone (the child was re-parented, so its parent pid changed) or the deadline passed.
 * The line goes straight to file descriptor 2 because the main thread, which owns process.stderr, may be busy.
 */
const GUARD_SOURCE = `
const { writeSync } = require('node:fs');
const { workerData } = require('node:worker_threads');
const deadline = new BigInt64Array(workerData.deadline);
setInterval(() => {
  const orphaned = process.ppid !== workerData.parentPid;
  const at = Number(Atomics.load(deadline, 0));
  if (!orphaned && (at === 0 || Date.now() < at)) return;
  try {
    writeSync(2, orphaned ? 'ingest child: the parent process is gone; stopping.\\n' : workerData.deadlineMessage + '\\n');
  } finally {
    process.kill(process.pid, 'SIGKILL');
  }
}, workerData.pollMs);
`;

/**
 * A second line behind the parent's time limit and behind 'disconnect': a child stuck in a synchronous loop must not
 * outlive a parent that was SIGKILLed, nor run forever when the parent cannot kill it. Costs one small thread (about
 * 10 MB of RSS) per child.
 */
function startGuard(): void {
  const guard = new (workerThreads().Worker)(GUARD_SOURCE, {
    eval: true,
    execArgv: [], // not the child's heap cap; under the permission model the seal gives it the child's permissions
    workerData: {
      parentPid: process.ppid,
      deadline: guardDeadline.buffer,
      pollMs: GUARD_POLL_MS,
      deadlineMessage: CHILD_DEADLINE_MESSAGE,
    },
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 2 },
  });
  guard.unref(); // it never keeps the child alive
}

function send(message: ChildMessage): void {
  process.send?.(message, () => process.exit(0));
}

/** Resolves once `message` is written to the parent's channel (or the channel is gone). */
function sendNow(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) resolve();
    else process.send(message, () => resolve());
  });
}

async function handle(message: ParentMessage, profile: LaunchProfile | undefined): Promise<void> {
  const format = message.job?.sniffed?.format;
  const hook = process.env.GROUNDWORK_INGEST_TEST_HOOKS === '1' ? message.testHook : undefined;
  try {
    const timeoutMs = message.job?.limits?.timeoutMs ?? DEFAULT_LIMITS.timeoutMs;
    Atomics.store(guardDeadline, 0, BigInt(Date.now() + timeoutMs + SELF_DEADLINE_GRACE_MS));
    if (profile !== undefined && format !== undefined && launchProfile(format) !== profile) {
      // The parent matches jobs to profiles; a mismatch is our bug, and this child's grants may not fit the job.
      throw new IngestError('PARSE_CRASHED', 'The parser process was started for another kind of document.');
    }
    if (hook) await runTestHook(hook, message.testHookPath);
    const bytes = new Uint8Array(await readFile(message.inputPath));
    const result = await runExtraction(bytes, message.job, true);
    if (hook === 'pollute') {
      // What a hostile parser input would try: with the intrinsics hardened the assignment does not stick.
      try {
        (Object.prototype as Record<string, unknown>).polluted = 'yes';
      } catch {
        // strict mode: the frozen prototype throws, which is the point
      }
      result.document.warnings.push({
        code: 'TEST_POLLUTION',
        message: String(({} as Record<string, unknown>).polluted),
      });
    }
    // The result goes through a file: Node's IPC channel reassembles large messages quadratically (a 50 MB text took
    // 12 s and 2 GB of RSS that way), while a file is written once and read once.
    await writeFile(message.outputPath, serialize(result));
    send({ type: 'done', peakRssMb: peakRssMb() });
  } catch (err) {
    send({ type: 'error', error: toWireError(err, format), peakRssMb: peakRssMb() });
  }
}

if (process.env.GROUNDWORK_INGEST_CHILD === '1' && process.send) {
  const argument = process.argv[2];
  const profile = isLaunchProfile(argument) ? argument : undefined;
  // Sealed before any thread starts (pdf.js may start one while loading) and before any input is read.
  if (underPermissionModel()) sealWorkerThreads();
  startGuard(); // watches for an orphaned child from boot, and for the deadline once the job has come
  const booted = (profile ? preload(profile) : Promise.resolve()).catch(() => undefined);
  void booted.then(() => sendNow({ type: 'ready' }));
  // One job per process: a second message, if any, is ignored. The job is acknowledged before any input is read, so
  // the parent knows that a child which ended without the acknowledgement never saw the job (isolate.ts).
  process.once('message', (message: ParentMessage) => {
    void booted.then(() => sendNow({ type: 'started' })).then(() => handle(message, profile));
  });
  // The parent is gone (worker shut down or crashed): nothing is waiting for us. This needs a free event loop; the
  // guard thread (startGuard) covers a parse that never yields.
  process.on('disconnect', () => process.exit(0));
}
