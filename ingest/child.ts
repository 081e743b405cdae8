// The extraction pipeline after sniffing (parse, check limits, chunk), and the entry of the child process that runs it
// in isolation (see isolate.ts): one job per process; the intrinsics are hardened before any untrusted byte is parsed.
import { readFile, writeFile } from 'node:fs/promises';
import { serialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { createInflateRaw } from 'node:zlib';
import { chunkBlocks } from './chunk';
import { IngestError } from './errors';
import { CHILD_DEADLINE_MESSAGE } from './isolate';
import { DEFAULT_LIMITS } from './limits';
import { localDataOffset, readZipDirectory, ZipFormatError } from './sniff';
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
    Object.freeze(ctor.prototype);
  }
  for (const ctor of [Object, Array, Function, String, Number, Boolean, Symbol, Date, Promise, Map, Set])
    Object.freeze(ctor);
  Object.freeze(JSON);
  Object.freeze(Math);
  Object.freeze(Reflect);
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

// ---------- zip bomb check ----------

/**
 * Inflates every entry once, counting bytes and keeping none, and stops as soon as the total passes the limit. The
 * central directory's declared sizes were checked in the parent, but they are written by the attacker; this is the
 * real size the spreadsheet parser would produce.
 */
export async function checkInflatedSize(bytes: Uint8Array, limit: number): Promise<void> {
  let entries;
  try {
    entries = readZipDirectory(bytes);
  } catch (err) {
    if (err instanceof ZipFormatError)
      throw new IngestError('SHEET_CORRUPT', 'The workbook is damaged: its zip directory cannot be read.');
    throw err;
  }
  let total = 0;
  for (const entry of entries) {
    const start = localDataOffset(bytes, entry);
    if (start === undefined) continue; // the parser reports the damage in its own words
    const end = Math.min(bytes.length, start + entry.compressedSize);
    if (entry.method === 0) total += end - start;
    else if (entry.method === 8) total += await inflatedSize(bytes.subarray(start, end), limit - total);
    if (total > limit) {
      throw new IngestError(
        'DECOMPRESSED_TOO_LARGE',
        `The workbook expands to more than ${Math.round(limit / 1048576)} MB when decompressed.`,
      );
    }
  }
}

/** Bytes a raw-deflate stream inflates to, stopping early once past `remaining`. Corrupt data counts what it gave. */
function inflatedSize(data: Uint8Array, remaining: number): Promise<number> {
  return new Promise((resolve) => {
    const inflate = createInflateRaw({ chunkSize: 64 * 1024 });
    let count = 0;
    let done = false;
    const settle = (): void => {
      if (done) return;
      done = true;
      resolve(count);
    };
    inflate.on('data', (chunk: Buffer) => {
      count += chunk.length;
      if (count > remaining) {
        inflate.destroy();
        settle();
      }
    });
    inflate.on('end', settle);
    inflate.on('error', settle);
    inflate.on('close', settle);
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
      if (harden) await pdf.parsePdf(warmUpPdf(), { maxPages: 1, ocr: false }).catch(() => undefined);
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

async function runTestHook(hook: TestHook): Promise<void> {
  switch (hook) {
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
 * The guard thread, plain JavaScript in its own V8 isolate and event loop. It runs while the main thread is stuck in a
 * synchronous parse, when neither the 'disconnect' event nor a timer of the main thread can fire, and SIGKILLs the
 * whole process once the parent is gone (the child was re-parented, so its parent pid changed) or the deadline passed.
 * The line goes straight to file descriptor 2 because the main thread, which owns process.stderr, may be busy.
 */
const GUARD_SOURCE = `
const { writeSync } = require('node:fs');
const { workerData } = require('node:worker_threads');
setInterval(() => {
  const orphaned = process.ppid !== workerData.parentPid;
  if (!orphaned && Date.now() < workerData.deadline) return;
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
function startGuard(timeoutMs: number): void {
  const guard = new Worker(GUARD_SOURCE, {
    eval: true,
    execArgv: [], // not the child's --require tsx/cjs and heap cap: the guard is plain JavaScript
    workerData: {
      parentPid: process.ppid,
      deadline: Date.now() + timeoutMs + SELF_DEADLINE_GRACE_MS,
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

async function handle(message: ParentMessage): Promise<void> {
  const format = message.job?.sniffed?.format;
  const hook = process.env.GROUNDWORK_INGEST_TEST_HOOKS === '1' ? message.testHook : undefined;
  try {
    startGuard(message.job?.limits?.timeoutMs ?? DEFAULT_LIMITS.timeoutMs);
    if (hook) await runTestHook(hook);
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
  // One job per process: a second message, if any, is ignored.
  process.once('message', (message: ParentMessage) => void handle(message));
  // The parent is gone (worker shut down or crashed): nothing is waiting for us. This needs a free event loop; the
  // guard thread (startGuard) covers a parse that never yields.
  process.on('disconnect', () => process.exit(0));
}
