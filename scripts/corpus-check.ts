// Runs the isolated extraction over every file of a folder (recursively) and prints one line per file plus a summary.
// Usage: npm run --silent corpus:check -- <folder> [--json] [--ocr|--no-ocr] [--concurrency N] [--no-warm]
// It always finishes: a file that fails, hangs or crashes its parser is one "error" line, never the end of the run.
//
// Decision: files are parsed as many at once as the worker would (its parse slots: GROUNDWORK_INGEST_CONCURRENCY,
// lowered to what GROUNDWORK_PARSE_MEMORY_BUDGET_MB holds at GROUNDWORK_PARSE_MEMORY_MB per child), so the check's
// time and memory are the worker's; --concurrency overrides it. --no-warm turns off the pre-spawned parse child
// (ingest/isolate.ts), for comparison.
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../common/config';
import { extractChunks, IngestError } from '../ingest';
import type { IsolationReport } from '../ingest';
import { configureWarmPool, disposeWarmPool } from '../ingest/isolate';

interface FileLine {
  file: string;
  status: 'ok' | 'error';
  code: string | null;
  pages: number | null;
  sheets: number | null;
  chunks: number;
  chars: number;
  ocrPages: number | null;
  warnings: number;
  ms: number;
  peakRssMb: number;
  /** Parsed in a pre-spawned child. */
  warm: boolean;
}

interface Summary {
  files: number;
  ok: number;
  errors: number;
  byCode: Record<string, number>;
  slowestMs: number;
  slowestFile: string | null;
  /** Wall-clock time of the whole run. */
  totalMs: number;
  concurrency: number;
  warmChildren: number;
}

interface Options {
  folder: string;
  json: boolean;
  ocr: boolean | undefined;
  concurrency: number;
  warm: boolean;
}

function parseArgs(argv: string[]): Options | string {
  let folder: string | undefined;
  let json = false;
  let ocr: boolean | undefined;
  let concurrency = workerParseSlots();
  let warm = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json') json = true;
    else if (arg === '--ocr') ocr = true;
    else if (arg === '--no-ocr') ocr = false;
    else if (arg === '--no-warm') warm = false;
    else if (arg === '--concurrency') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) return '--concurrency needs a positive integer';
      concurrency = n;
    } else if (arg.startsWith('--')) return `unknown option ${arg}`;
    else if (folder === undefined) folder = arg;
    else return `unexpected argument ${arg}`;
  }
  if (folder === undefined) return 'missing <folder>';
  return { folder, json, ocr, concurrency, warm };
}

/** The worker's parse slots from this environment's configuration; half the cores if it does not load. */
function workerParseSlots(): number {
  try {
    return loadConfig(process.env).ingest.parseSlots;
  } catch {
    return Math.max(1, Math.min(4, Math.floor(os.availableParallelism() / 2)));
  }
}

/** Regular files under `root`, sorted so runs are comparable; unreadable directories are skipped, not fatal. */
async function listFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) found.push(full);
    }
  };
  await walk(root);
  return found.sort();
}

function parentRssMb(): number {
  return round1(process.resourceUsage().maxRSS / 1024);
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

async function checkFile(root: string, file: string, options: Options): Promise<FileLine> {
  const started = Date.now();
  let report: IsolationReport | undefined;
  const line: FileLine = {
    file: path.relative(root, file),
    status: 'error',
    code: null,
    pages: null,
    sheets: null,
    chunks: 0,
    chars: 0,
    ocrPages: null,
    warnings: 0,
    ms: 0,
    peakRssMb: 0,
    warm: false,
  };
  try {
    const bytes = await readFile(file);
    const result = await extractChunks(
      { bytes, fileName: path.basename(file), ...(options.ocr !== undefined ? { ocr: options.ocr } : {}) },
      { onReport: (r) => (report = r) },
    );
    const { stats, warnings } = result.document;
    Object.assign(line, {
      // No chunks is what ingestion rejects as NO_TEXT (activities/index.ts); report it the same way.
      status: result.chunks.length > 0 ? 'ok' : 'error',
      code: result.chunks.length > 0 ? null : 'NO_TEXT',
      pages: stats.pages ?? null,
      sheets: stats.sheets ?? null,
      chunks: result.chunks.length,
      chars: stats.chars,
      ocrPages: stats.ocrPages ?? null,
      warnings: warnings.length,
    });
  } catch (err) {
    line.code = err instanceof IngestError ? err.code : `UNEXPECTED_${err instanceof Error ? err.name : 'THROW'}`;
  }
  line.ms = Date.now() - started;
  line.peakRssMb = round1(report?.peakRssMb ?? parentRssMb());
  line.warm = report?.warm ?? false;
  return line;
}

function summarise(lines: FileLine[], totalMs: number, concurrency: number): Summary {
  const byCode: Record<string, number> = {};
  let slowest: FileLine | undefined;
  for (const line of lines) {
    if (line.code) byCode[line.code] = (byCode[line.code] ?? 0) + 1;
    if (!slowest || line.ms > slowest.ms) slowest = line;
  }
  const ok = lines.filter((l) => l.status === 'ok').length;
  return {
    files: lines.length,
    ok,
    errors: lines.length - ok,
    byCode,
    slowestMs: slowest?.ms ?? 0,
    slowestFile: slowest?.file ?? null,
    totalMs,
    concurrency,
    warmChildren: lines.filter((l) => l.warm).length,
  };
}

const COLUMNS: [keyof FileLine, string][] = [
  ['file', 'file'],
  ['status', 'status'],
  ['code', 'code'],
  ['pages', 'pages'],
  ['sheets', 'sheets'],
  ['chunks', 'chunks'],
  ['chars', 'chars'],
  ['ocrPages', 'ocr'],
  ['warnings', 'warn'],
  ['ms', 'ms'],
  ['peakRssMb', 'rssMB'],
];

function printTable(lines: FileLine[], summary: Summary): void {
  const cells = lines.map((l) => COLUMNS.map(([key]) => (l[key] === null ? '-' : String(l[key]))));
  const header = COLUMNS.map(([, label]) => label);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] as string).length)));
  const format = (row: string[]): string =>
    row.map((cell, i) => (i <= 2 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join('  ');
  process.stdout.write(`${format(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of cells) process.stdout.write(`${format(row)}\n`);
  const codes = Object.entries(summary.byCode)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, n]) => `${code}=${n}`)
    .join(', ');
  process.stdout.write(
    `\n${summary.files} files: ${summary.ok} ok, ${summary.errors} errors${codes ? ` (${codes})` : ''}; slowest ${summary.slowestMs} ms (${summary.slowestFile ?? '-'})\n` +
      `${(summary.totalMs / 1000).toFixed(1)} s in all, ${summary.concurrency} at a time, ${summary.warmChildren} in a pre-spawned child\n`,
  );
}

async function main(): Promise<number> {
  const parsed = parseArgs(process.argv.slice(2));
  if (typeof parsed === 'string') {
    process.stderr.write(
      `corpus-check: ${parsed}\nusage: npm run --silent corpus:check -- <folder> [--json] [--ocr|--no-ocr] [--concurrency N] [--no-warm]\n`,
    );
    return 2;
  }
  if (!parsed.warm) configureWarmPool({ enabled: false });
  const started = Date.now();
  const root = path.resolve(parsed.folder);
  const files = await listFiles(root);
  if (files.length === 0) process.stderr.write(`corpus-check: no files under ${root}\n`);

  // A small ordered pool: files run concurrently, lines print in file order as soon as their turn comes.
  const results: (FileLine | undefined)[] = new Array<FileLine | undefined>(files.length);
  let printed = 0;
  let next = 0;
  const flush = (): void => {
    while (printed < files.length && results[printed]) {
      if (parsed.json) process.stdout.write(`${JSON.stringify(results[printed])}\n`);
      printed++;
    }
  };
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      results[i] = await checkFile(root, files[i] as string, parsed);
      flush();
    }
  };
  await Promise.all(Array.from({ length: Math.min(parsed.concurrency, Math.max(1, files.length)) }, worker));
  await disposeWarmPool();
  const lines = results.filter((l): l is FileLine => l !== undefined);
  const summary = summarise(lines, Date.now() - started, parsed.concurrency);
  if (parsed.json) process.stdout.write(`${JSON.stringify({ summary })}\n`);
  else printTable(lines, summary);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`corpus-check: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
