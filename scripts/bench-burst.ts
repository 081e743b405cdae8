// A burst of documents arriving at once: do memory and the number of parse children stay bounded? N documents (corpus
// files, repeated as needed) are all handed over at the same moment and parsed through the worker's bound: its parse
// slots (GROUNDWORK_INGEST_CONCURRENCY, lowered to what GROUNDWORK_PARSE_MEMORY_BUDGET_MB holds at
// GROUNDWORK_PARSE_MEMORY_MB per child) with the worker's parse limits. In the worker that bound is the parse task
// queue's activity slots, reachable only through Temporal; here a semaphore of the same size calls the same isolated
// extraction (extractChunks) the parse activity calls. Every 100 ms the RSS of this process and of each of its child
// processes is read from /proc (Linux). Prints figures; asserts nothing.
// Usage: npm run bench:burst [-- <folder>] [--docs N] [--json] [--no-warm] [--max-children N]
//   (default folder: ../shared/corpus; --max-children: the pool's bound on parse children alive at once, beyond which
//   it pre-spawns none, see ingest/isolate.ts WarmPoolSettings; default the parse slots plus one, as in the worker)
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../common/config';
import { extractChunks, IngestError } from '../ingest';
import type { IsolationReport } from '../ingest';
import { configureWarmPool, disposeWarmPool, warmChildPids } from '../ingest/isolate';

interface Options {
  folder: string;
  docs: number;
  json: boolean;
  warm: boolean;
  maxChildren: number | undefined;
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    folder: path.resolve(__dirname, '..', '..', 'shared', 'corpus'),
    docs: 50,
    json: false,
    warm: true,
    maxChildren: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json') options.json = true;
    else if (arg === '--no-warm') options.warm = false;
    else if (arg === '--max-children') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error('--max-children needs a positive integer');
      options.maxChildren = n;
    } else if (arg === '--docs') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error('--docs needs a positive integer');
      options.docs = n;
    } else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}`);
    else options.folder = path.resolve(arg);
  }
  return options;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out.sort();
}

/** At most `size` holders at a time; the others wait in arrival order. */
function semaphore(size: number): <T>(task: () => Promise<T>) => Promise<T> {
  let free = size;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (free > 0) free--;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

// ---------- memory sampling (/proc) ----------

async function rssMb(pid: number | 'self'): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0; // gone meanwhile
  }
}

/** This process's parse children. */
async function childPids(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      // Parse children only (compiled or bundled ingest/child.js), not the esbuild process that bundles their code.
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(path.join('ingest', 'child'))) pids.push(Number(entry));
    } catch {
      // ended meanwhile
    }
  }
  return pids;
}

interface Peaks {
  samples: number;
  totalRssMb: number;
  parentRssMb: number;
  childrenRssMb: number;
  children: number;
  /** Children not idling in the warm pool: the ones parsing (or starting to). */
  busyChildren: number;
}

function startSampler(): { stop: () => Promise<Peaks> } {
  const peaks: Peaks = { samples: 0, totalRssMb: 0, parentRssMb: 0, childrenRssMb: 0, children: 0, busyChildren: 0 };
  let running: Promise<void> = Promise.resolve();
  const sample = async (): Promise<void> => {
    const pids = await childPids();
    const [parent, ...children] = await Promise.all([rssMb('self'), ...pids.map((pid) => rssMb(pid))]);
    const childrenSum = children.reduce((a, b) => a + b, 0);
    const idle = new Set(warmChildPids());
    peaks.samples++;
    peaks.parentRssMb = Math.max(peaks.parentRssMb, parent ?? 0);
    peaks.childrenRssMb = Math.max(peaks.childrenRssMb, childrenSum);
    peaks.totalRssMb = Math.max(peaks.totalRssMb, (parent ?? 0) + childrenSum);
    peaks.children = Math.max(peaks.children, pids.length);
    peaks.busyChildren = Math.max(peaks.busyChildren, pids.filter((pid) => !idle.has(pid)).length);
  };
  const timer = setInterval(() => {
    running = running.then(sample); // never two samples at once
  }, 100);
  return {
    stop: async () => {
      clearInterval(timer);
      await running.then(sample);
      return peaks;
    },
  };
}

// ---------- the burst ----------

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (!options.warm) configureWarmPool({ enabled: false });
  const config = loadConfig(process.env);
  const slots = config.ingest.parseSlots;
  // As the worker does (workers/worker.ts): the parse slots plus one pre-spawned child.
  const maxChildren = options.maxChildren ?? slots + 1;
  configureWarmPool({ maxChildren });
  const limits = {
    maxBytes: config.ingest.maxFileBytes,
    timeoutMs: config.ingest.parseTimeoutMs,
    maxMemoryMb: config.ingest.parseMemoryMb,
  };
  const files = await listFiles(options.folder);
  if (files.length === 0) throw new Error(`no files under ${options.folder}`);
  const docs = Array.from({ length: options.docs }, (_, i) => files[i % files.length] as string);

  const slot = semaphore(slots);
  const codes: Record<string, number> = {};
  let ok = 0;
  let warmRuns = 0;
  let chunks = 0;
  const sampler = startSampler();
  const started = Date.now();
  // All documents arrive at once; each reads its bytes only once it holds a slot, as the parse activity does.
  await Promise.all(
    docs.map((file) =>
      slot(async () => {
        try {
          const bytes = new Uint8Array(await readFile(file));
          const result = await extractChunks(
            { bytes, fileName: path.basename(file), limits },
            { onReport: (r: IsolationReport) => (warmRuns += r.warm ? 1 : 0) },
          );
          ok++;
          chunks += result.chunks.length;
        } catch (err) {
          const code = err instanceof IngestError ? err.code : 'UNEXPECTED';
          codes[code] = (codes[code] ?? 0) + 1;
        }
      }),
    ),
  );
  const ms = Date.now() - started;
  const peaks = await sampler.stop();
  await disposeWarmPool();

  const round1 = (n: number): number => Math.round(n * 10) / 10;
  const report = {
    docs: options.docs,
    distinctFiles: Math.min(files.length, options.docs),
    parseSlots: slots,
    parseMemoryMb: limits.maxMemoryMb,
    warmPool: options.warm,
    maxChildren,
    warmRuns,
    ok,
    errors: options.docs - ok,
    errorCodes: codes,
    chunks,
    seconds: round1(ms / 1000),
    docsPerSecond: Math.round((options.docs / ms) * 1000 * 100) / 100,
    peakTotalRssMb: round1(peaks.totalRssMb),
    peakParentRssMb: round1(peaks.parentRssMb),
    peakChildrenRssMb: round1(peaks.childrenRssMb),
    peakChildren: peaks.children,
    peakBusyChildren: peaks.busyChildren,
    samples: peaks.samples,
  };
  if (options.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  console.log(
    `bench-burst: ${report.docs} documents at once (${report.distinctFiles} distinct files), ${slots} parse slots of ${limits.maxMemoryMb} MB, ${options.warm ? 'pre-spawned child' : 'no pre-spawned child'}\n` +
      `  ${ok} ok, ${report.errors} errors; ${report.seconds} s, ${report.docsPerSecond} documents/s (${warmRuns} on a pre-spawned child)\n` +
      `  peak RSS: ${report.peakTotalRssMb} MB in all (this process ${report.peakParentRssMb} MB, children ${report.peakChildrenRssMb} MB)\n` +
      `  peak child processes: ${report.peakChildren} (${report.peakBusyChildren} not idle in the pool)`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
