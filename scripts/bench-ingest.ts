// Ingestion throughput: text PDFs through our pipeline vs raw pdf-parse, OCR seconds per page, spreadsheet cells per
// second, plain text MB per second, peak memory; isolated (a parse child per file) against in process. Prints numbers
// and ratios; asserts nothing. Beside each isolated/in-process ratio it prints the ceiling a fresh process per file
// allows: the in-process time against the same time plus one bare Node process (spawn, one IPC message, exit) per file.
// Usage: npm run bench:ingest [-- <folder>] [--json] [--no-warm] [--per-profile N]
//   without a folder: generated documents, plus ../shared/corpus if present; --json: one JSON object on stdout (the
//   text goes to stderr); --no-warm: no pre-spawned parse child (every parse forks its own after the job arrives);
//   --per-profile N: pre-spawned children kept per launch profile (ingest/isolate.ts WarmPoolSettings).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PDFParse } from 'pdf-parse';
import { extractChunks, extractInProcess } from '../ingest';
import type { ExtractResult, IsolationReport } from '../ingest';
import { configureWarmPool, disposeWarmPool } from '../ingest/isolate';
import { makeScannedPdf, makeTextPdf, makeWorkbook } from '../test/support/documents';

interface Doc {
  name: string;
  bytes: Uint8Array;
}

const REPEATS = 3;
const childPeaks: number[] = [];
let warmRuns = 0;
let isolatedRuns = 0;

const args = process.argv.slice(2);
const json = args.includes('--json');
const noWarm = args.includes('--no-warm');
const perProfileAt = args.indexOf('--per-profile');
const perProfile = perProfileAt >= 0 ? Number(args[perProfileAt + 1]) : undefined;
const folderArg = args.find((a, i) => !a.startsWith('--') && (perProfileAt < 0 || i !== perProfileAt + 1));
/** Every figure printed, by section, for --json. */
const figures: Record<string, Record<string, number | string>> = {};

/** The human-readable lines: stdout, or stderr when stdout carries the JSON. */
function log(text: string): void {
  if (json) process.stderr.write(`${text}\n`);
  else process.stdout.write(`${text}\n`);
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Number.isFinite(n) ? Math.round(n * f) / f : Number.NaN;
}

function mb(bytes: number): number {
  return Math.round((bytes / 1048576) * 10) / 10;
}

function fmt(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
}

/** Best of REPEATS runs, after one warm-up: steadier than a mean on a shared machine. */
async function best<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  await fn();
  let result = await timed(fn);
  for (let i = 1; i < REPEATS; i++) {
    const next = await timed(fn);
    if (next.ms < result.ms) result = next;
  }
  return result;
}

async function rawPdfParse(bytes: Uint8Array): Promise<number> {
  const parser = new PDFParse({ data: new Uint8Array(bytes) });
  try {
    const text = await parser.getText();
    return text.total;
  } finally {
    await parser.destroy();
  }
}

const isolated = (doc: Doc, extra: { ocr?: boolean } = {}): Promise<ExtractResult> =>
  extractChunks(
    { bytes: doc.bytes, fileName: doc.name, ...extra },
    {
      onReport: (r: IsolationReport) => {
        isolatedRuns++;
        if (r.warm) warmRuns++;
        if (r.peakRssMb) childPeaks.push(r.peakRssMb);
      },
    },
  );

/**
 * The floor of any one-process-per-file design on this machine: spawn a bare Node process (no parser, no permission
 * flags), exchange one IPC message with it and see it exit. Best of REPEATS after a warm-up, in ms.
 */
let floorMs: number | undefined;
async function processFloorMs(): Promise<number> {
  const once = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['-e', "process.once('message', (m) => process.send(m, () => process.exit(0)))"],
        { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: {} },
      );
      child.once('error', reject);
      child.once('exit', () => resolve());
      child.send('job');
    });
  floorMs ??= (await best(once)).ms;
  return floorMs;
}

/**
 * The best isolated/in-process ratio a fresh process per file allows for `files` files that take `inMs` in all in
 * process, even with free parsers: the process floor is paid once per file.
 */
async function ceilingRatio(inMs: number, files: number): Promise<number> {
  return round(inMs / (inMs + files * (await processFloorMs())), 3);
}

// ---------- generated documents ----------

const WORDS =
  'pump valve pressure inspection quarterly filter seal gasket torque maintenance operator manual safety cleaning schedule warranty supplier delivery invoice'.split(
    ' ',
  );

function prose(seed: number, sentences: number): string {
  let x = seed;
  const out: string[] = [];
  for (let s = 0; s < sentences; s++) {
    const words: string[] = [];
    const n = 8 + (s % 9);
    for (let w = 0; w < n; w++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      words.push(WORDS[x % WORDS.length] as string);
    }
    const sentence = words.join(' ');
    out.push(`${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}.`);
  }
  return out.join(' ');
}

async function generatedPdfs(): Promise<Doc[]> {
  const docs: Doc[] = [];
  for (const pages of [10, 50]) {
    const content = Array.from({ length: pages }, (_, p) => Array.from({ length: 5 }, (_, q) => prose(p * 10 + q, 5)));
    docs.push({ name: `generated-${pages}p.pdf`, bytes: await makeTextPdf(content, `Bench ${pages} pages`) });
  }
  return docs;
}

function generatedWorkbook(rows: number, cols: number): Doc {
  const header = Array.from({ length: cols }, (_, c) => `Column ${c + 1}`);
  const data = Array.from({ length: rows }, (_, r) =>
    Array.from({ length: cols }, (_, c) => (c % 2 === 0 ? `item ${r}-${c}` : r * c)),
  );
  return { name: `generated-${rows}x${cols}.xlsx`, bytes: makeWorkbook({ Data: [header, ...data] }) };
}

function generatedText(megabytes: number): Doc {
  const paragraphs: string[] = [];
  let size = 0;
  for (let i = 0; size < megabytes * 1048576; i++) {
    const p = i % 20 === 0 ? `## Section ${i / 20 + 1}` : prose(i, 6);
    paragraphs.push(p);
    size += p.length + 2;
  }
  return { name: `generated-${megabytes}mb.md`, bytes: new Uint8Array(Buffer.from(paragraphs.join('\n\n'))) };
}

// ---------- folders ----------

async function filesIn(folder: string): Promise<Doc[]> {
  const docs: Doc[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile())
        docs.push({ name: path.relative(folder, full), bytes: new Uint8Array(await readFile(full)) });
    }
  };
  await walk(folder);
  return docs.sort((a, b) => a.name.localeCompare(b.name));
}

const isPdf = (d: Doc): boolean => Buffer.from(d.bytes.subarray(0, 1024)).includes('%PDF-');
const isSheet = (d: Doc): boolean => /\.(xlsx|xlsm|xlsb|xls|ods|csv)$/i.test(d.name);

// ---------- benchmarks ----------

async function benchPdfs(label: string, docs: Doc[]): Promise<void> {
  let pages = 0;
  let rawMs = 0;
  let oursMs = 0;
  let isolatedMs = 0;
  let skipped = 0;
  for (const doc of docs) {
    try {
      const raw = await best(() => rawPdfParse(doc.bytes));
      const ours = await best(() => extractInProcess({ bytes: doc.bytes, fileName: doc.name, ocr: false }));
      const iso = await best(() => isolated(doc, { ocr: false }));
      pages += raw.value;
      rawMs += raw.ms;
      oursMs += ours.ms;
      isolatedMs += iso.ms;
    } catch {
      skipped++; // unreadable by one of the two: not comparable
    }
  }
  if (pages === 0) {
    log(`${label}: no comparable PDFs (${skipped} failed)`);
    return;
  }
  const rate = (ms: number): number => (pages / ms) * 1000;
  figures[label] = {
    pdfs: docs.length - skipped,
    pages,
    rawPagesPerS: round(rate(rawMs), 1),
    inProcessPagesPerS: round(rate(oursMs), 1),
    isolatedPagesPerS: round(rate(isolatedMs), 1),
    isolatedToInProcess: round(oursMs / isolatedMs, 3),
    processPerFileCeiling: await ceilingRatio(oursMs, docs.length - skipped),
  };
  log(
    `${label}: ${docs.length - skipped} PDFs, ${pages} pages${skipped ? ` (${skipped} skipped)` : ''}\n` +
      `  raw pdf-parse getText : ${fmt(rate(rawMs))} pages/s\n` +
      `  ours, in process      : ${fmt(rate(oursMs))} pages/s   (time ratio ours/raw ${fmt(oursMs / rawMs, 2)}, overhead ${fmt((oursMs / rawMs - 1) * 100, 0)}%, target <= 25%)\n` +
      `  ours, isolated child  : ${fmt(rate(isolatedMs))} pages/s   (time ratio isolated/raw ${fmt(isolatedMs / rawMs, 2)}; isolated/in-process throughput ${fmt(oursMs / isolatedMs, 2)}, target >= 0.5)\n` +
      `  ceiling of one process per file: ${fmt(figures[label]!.processPerFileCeiling as number, 2)} (a bare Node process per file costs ${fmt(await processFloorMs(), 0)} ms)`,
  );
}

async function benchOcr(): Promise<void> {
  // Scanned pages: text rendered to images with no text layer (the same generator the OCR tests use).
  const paragraphs = [
    'Quarterly safety inspection found three blocked exits near the north loading dock.',
    'Two fire extinguishers in the basement workshop had expired and were replaced.',
  ];
  const doc = { name: 'scanned.pdf', bytes: await makeScannedPdf([paragraphs, paragraphs, paragraphs]) };
  try {
    // Isolated: the real path (pdf.js renders through its worker, which runs in the parser child).
    const run = await timed(() => extractChunks({ bytes: doc.bytes, fileName: doc.name, ocr: true }));
    const ocrPages = run.value.document.stats.ocrPages ?? 0;
    if (ocrPages > 0) figures.OCR = { pages: ocrPages, secondsPerPage: round(run.ms / 1000 / ocrPages) };
    if (ocrPages === 0) log("OCR: no page was OCR'd");
    else
      log(`OCR: ${fmt(run.ms / 1000 / ocrPages, 2)} s/page (${ocrPages} pages, including loading the OCR engine once)`);
  } catch (err) {
    log(`OCR: n/a (${err instanceof Error ? err.message : String(err)})`);
  }
}

async function benchSheets(label: string, docs: Doc[]): Promise<void> {
  let cells = 0;
  let inMs = 0;
  let isoMs = 0;
  let failed = 0;
  for (const doc of docs) {
    try {
      const ours = await best(() => extractInProcess({ bytes: doc.bytes, fileName: doc.name }));
      const iso = await best(() => isolated(doc));
      cells += ours.value.document.stats.cells ?? 0;
      inMs += ours.ms;
      isoMs += iso.ms;
    } catch {
      failed++;
    }
  }
  if (cells === 0) {
    log(`${label}: no spreadsheet parsed (${failed} failed)`);
    return;
  }
  figures[label] = {
    workbooks: docs.length - failed,
    cells,
    inProcessCellsPerS: Math.round((cells / inMs) * 1000),
    isolatedCellsPerS: Math.round((cells / isoMs) * 1000),
    isolatedToInProcess: round(inMs / isoMs, 3),
    processPerFileCeiling: await ceilingRatio(inMs, docs.length - failed),
  };
  log(
    `${label}: ${docs.length - failed} workbooks, ${cells} cells${failed ? ` (${failed} failed)` : ''}\n` +
      `  in process : ${fmt((cells / inMs) * 1000, 0)} cells/s\n` +
      `  isolated   : ${fmt((cells / isoMs) * 1000, 0)} cells/s (${fmt(inMs / isoMs, 2)}x in process; ceiling of one process per file ${fmt(figures[label]!.processPerFileCeiling as number, 2)})`,
  );
}

async function benchText(doc: Doc): Promise<void> {
  const ours = await best(() => extractInProcess({ bytes: doc.bytes, fileName: doc.name }));
  const iso = await best(() => isolated(doc));
  const size = doc.bytes.length / 1048576;
  figures['Plain text'] = {
    megabytes: round(size, 1),
    inProcessMBPerS: round(size / (ours.ms / 1000)),
    isolatedMBPerS: round(size / (iso.ms / 1000)),
    isolatedToInProcess: round(ours.ms / iso.ms, 3),
  };
  log(
    `Plain text ${fmt(size)} MB -> ${ours.value.chunks.length} chunks\n` +
      `  in process : ${fmt(size / (ours.ms / 1000), 2)} MB/s\n` +
      `  isolated   : ${fmt(size / (iso.ms / 1000), 2)} MB/s`,
  );
}

async function main(): Promise<void> {
  const folder = folderArg;
  if (noWarm) configureWarmPool({ enabled: false });
  if (perProfile !== undefined) {
    if (!Number.isInteger(perProfile) || perProfile < 1) throw new Error('--per-profile needs a positive integer');
    configureWarmPool({ perProfile, maxWarm: Math.max(3, perProfile) });
  }
  log(
    `bench-ingest (best of ${REPEATS} after a warm-up; node ${process.version}; ${noWarm ? 'no pre-spawned child' : 'pre-spawned parse child'})\n`,
  );
  if (folder) {
    const docs = await filesIn(path.resolve(folder));
    await benchPdfs(`PDFs in ${folder}`, docs.filter(isPdf));
    await benchSheets(`Spreadsheets in ${folder}`, docs.filter(isSheet));
  } else {
    await benchPdfs('Generated text PDFs', await generatedPdfs());
    await benchOcr();
    await benchSheets('Generated spreadsheet', [generatedWorkbook(20_000, 10)]);
    await benchText(generatedText(5));
    const corpus = path.resolve(__dirname, '..', '..', 'shared', 'corpus');
    if (existsSync(corpus)) {
      const docs = await filesIn(corpus);
      await benchPdfs('Corpus PDFs (../shared/corpus)', docs.filter(isPdf));
      await benchSheets('Corpus spreadsheets (../shared/corpus)', docs.filter(isSheet));
    }
  }
  const parentPeak = mb(process.resourceUsage().maxRSS * 1024);
  const childPeak = childPeaks.length ? Math.max(...childPeaks) : Number.NaN;
  log(
    `\nPeak RSS: benchmark process ${fmt(parentPeak)} MB (includes in-process runs), isolated child ${fmt(childPeak)} MB` +
      `\nIsolated runs: ${isolatedRuns}, of which on a pre-spawned child: ${warmRuns}`,
  );
  await disposeWarmPool();
  if (json) {
    const run = {
      node: process.version,
      warmPool: !noWarm,
      perProfile: perProfile ?? 1,
      isolatedRuns,
      warmRuns,
      bareProcessMs: round(await processFloorMs(), 1),
    };
    const memory = { benchmarkPeakRssMb: parentPeak, childPeakRssMb: childPeak };
    process.stdout.write(`${JSON.stringify({ run, ...figures, memory })}\n`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
