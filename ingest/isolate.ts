// Runs every parse of untrusted bytes in a short-lived child process under a wall-clock limit, a V8 heap cap and an
// RSS watchdog, so a hostile file can crash, hang or pollute only that child, never the worker that started it.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { deserialize } from 'node:v8';
import { INGEST_ERROR_CODES, IngestError } from './errors';
import type { IngestErrorCode } from './errors';
import { prepareChild } from './sandbox';
import type { SniffResult } from './sniff';
import type { ChunkingOptions, ExtractResult, IngestLimits } from './types';

/** Everything about one extraction except the bytes. Plain data: it crosses the IPC channel by structured clone. */
export interface ExtractJob {
  sniffed: SniffResult;
  password?: string;
  ocr?: boolean;
  includeHiddenSheets?: boolean;
  limits: IngestLimits;
  chunking: ChunkingOptions;
}

/**
 * Test-only behaviours of the child, so tests can provoke a memory blow-up, a hang, a crash, a pollution attempt or
 * a read of a file it should not see (`readFile`, and `readFileInWorker` from a worker thread it starts, of
 * `testHookPath`) without a parser bug. They travel beside the job, never inside the bytes, and the child honours
 * them only when this module started it with GROUNDWORK_INGEST_TEST_HOOKS=1, which happens only when `testHook` is
 * passed here: extractChunks never passes it, so no file can trigger one.
 */
export type TestHook = 'allocate' | 'hang' | 'crash' | 'pollute' | 'readFile' | 'readFileInWorker';

/** Bytes and result travel as files (see child.ts for why); the IPC channel carries only these small messages. */
export type ParentMessage = {
  type: 'extract';
  job: ExtractJob;
  inputPath: string;
  outputPath: string;
  testHook?: TestHook;
  testHookPath?: string;
};

export type WireError = { code: IngestErrorCode; message: string; retryable: boolean };

export type ChildMessage = { type: 'done'; peakRssMb: number } | { type: 'error'; error: WireError; peakRssMb: number };

/** What the child's guard thread writes to stderr before it stops a child that ran past its own deadline (child.ts). */
export const CHILD_DEADLINE_MESSAGE = 'ingest child: the parse passed its own deadline; stopping.';

/** How the child ended, for benchmarks and the corpus check. */
export interface IsolationReport {
  /** The child's process id, for logs. */
  pid?: number;
  ms: number;
  /** Peak resident memory of the child in MB: reported by the child, or the watchdog's highest sample. */
  peakRssMb?: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export interface IsolateOptions {
  signal?: AbortSignal;
  onReport?: (report: IsolationReport) => void;
  testHook?: TestHook;
  /** The file the `readFile` hooks try to read. */
  testHookPath?: string;
}

/** How often the watchdog samples the child's RSS (Linux /proc; elsewhere only the V8 heap cap applies). */
const RSS_POLL_MS = 100;
/** Node, tsx and the parser libraries before any input: the RSS cap is the heap cap doubled plus this baseline. */
const RSS_BASELINE_MB = 256;
/** After the result arrives the child exits by itself; past this grace it is killed. */
const EXIT_GRACE_MS = 2000;
const STDERR_TAIL_BYTES = 16 * 1024;

/**
 * Only what Node and the parsers need: a compromised parser must not find API keys or database URLs in its
 * environment (nor read the worker's, see sandbox.ts). NODE_OPTIONS is dropped so the limits and the permission model
 * cannot be overridden from outside; no proxy variables, so nothing routes the child's traffic anywhere on our behalf
 * (Node 20's permission model does not cover the network).
 */
function childEnv(testHooks: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { GROUNDWORK_INGEST_CHILD: '1' };
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'TMP', 'TEMP', 'LANG', 'LC_ALL', 'TZ', 'NODE_ENV', 'SYSTEMROOT']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  if (testHooks) env.GROUNDWORK_INGEST_TEST_HOOKS = '1';
  return env;
}

/**
 * Runs the extraction of `bytes` in a fresh child process. Resolves with the result or rejects with an IngestError
 * (or the abort reason of `options.signal`). The temporary directory holding input and output is always removed.
 */
export async function extractIsolated(
  bytes: Uint8Array,
  job: ExtractJob,
  options: IsolateOptions = {},
): Promise<ExtractResult> {
  if (options.signal?.aborted) throw abortReason(options.signal);
  // mkdtemp creates the directory readable by this user only; the bytes never sit anywhere more public.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'groundwork-ingest-'));
  try {
    const inputPath = path.join(dir, 'input');
    const outputPath = path.join(dir, 'result');
    await writeFile(inputPath, bytes);
    const hooks = options.testHook
      ? { testHook: options.testHook, ...(options.testHookPath ? { testHookPath: options.testHookPath } : {}) }
      : {};
    await runChild({ type: 'extract', job, inputPath, outputPath, ...hooks }, dir, options);
    // The result size is bounded before reading, so a document that explodes into text cannot exhaust the worker.
    const maxResultBytes = Math.max(64 * 1048576, 4 * job.limits.maxBytes);
    const size = await stat(outputPath).then(
      (s) => s.size,
      () => -1,
    );
    if (size < 0) throw new IngestError('PARSE_CRASHED', 'The parser reported success but wrote no result.');
    if (size > maxResultBytes) {
      throw new IngestError(
        'PARSE_MEMORY',
        `The document yields more than ${Math.round(maxResultBytes / 1048576)} MB of extracted text.`,
      );
    }
    let result: unknown;
    try {
      result = deserialize(await readFile(outputPath));
    } catch {
      result = undefined;
    }
    if (!isExtractResult(result)) throw new IngestError('PARSE_CRASHED', 'The parser returned a malformed result.');
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type KillReason = 'timeout' | 'memory' | 'abort';

/** What the parent learns about one child while it runs. */
interface ChildRun {
  outcome: { ok: true } | { ok: false; error: unknown } | undefined;
  /** Set when this module killed the child, which decides the error whatever the child said or how it exited. */
  killedFor: KillReason | undefined;
  /** As reported by the child with its answer. */
  peakRssMb: number | undefined;
  watchdogPeakMb: number;
  stderrTail: string;
  /** Kills a child that answered but does not exit by itself. */
  graceTimer: NodeJS.Timeout | undefined;
}

async function runChild(message: ParentMessage, dir: string, options: IsolateOptions): Promise<void> {
  const limits = message.job.limits;
  const heapMb = Math.max(16, Math.floor(limits.maxMemoryMb));
  const rssCapMb = heapMb * 2 + RSS_BASELINE_MB;
  const launch = await prepareChild(message.job, dir).catch((err: unknown) => {
    const name = err instanceof Error ? err.name : typeof err;
    throw new IngestError('PARSE_CRASHED', `The parser process could not be prepared (${name}).`, true);
  });
  const started = Date.now();

  return new Promise<void>((resolve, reject) => {
    const child = fork(launch.modulePath, [], {
      execArgv: [...launch.execArgv, `--max-old-space-size=${heapMb}`],
      env: childEnv(options.testHook !== undefined),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const run: ChildRun = {
      outcome: undefined,
      killedFor: undefined,
      peakRssMb: undefined,
      watchdogPeakMb: 0,
      stderrTail: '',
      graceTimer: undefined,
    };
    collectOutput(child, run);
    const stopLimits = enforceLimits(child, run, limits.timeoutMs, rssCapMb, options.signal);
    child.on('message', (raw: unknown) => receiveAnswer(child, run, raw));

    let settled = false;
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void => {
      if (settled) return;
      settled = true;
      stopLimits();
      if (run.graceTimer) clearTimeout(run.graceTimer);
      options.onReport?.({
        pid: child.pid,
        ms: Date.now() - started,
        peakRssMb: run.peakRssMb ?? (run.watchdogPeakMb || undefined),
        exitCode,
        signal,
      });
      const failure = runFailure(run, exitCode, signal, spawnError, {
        limits,
        heapMb,
        rssCapMb,
        abortSignal: options.signal,
      });
      if (failure) reject(failure.error);
      else resolve();
    };
    // 'close', not 'exit': 'exit' can come before the child's last IPC message is delivered, and a child that sent
    // its answer and exited 0 was then taken for a crash (seen with 32 parse children on 2 cores).
    child.on('close', (code, signal) => finish(code, signal));
    child.on('error', (err) => {
      // 'error' without 'exit' means the process never started; with 'exit' the close handler settles first.
      if (child.pid === undefined) finish(null, null, err);
    });

    child.send(message, (err) => {
      // The child died before reading its job; the exit handler classifies the crash.
      if (err) child.kill('SIGKILL');
    });
  });
}

/** Parser libraries print warnings; they must not reach our stdout (the corpus check prints JSON lines there). */
function collectOutput(child: ChildProcess, run: ChildRun): void {
  child.stdout?.resume();
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    run.stderrTail = (run.stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
  });
}

/**
 * Kills the child (SIGKILL: SIGTERM could be ignored by a busy or hostile child) when the time limit passes, when its
 * RSS passes the cap, or when `signal` aborts, recording why. Returns the function that stops watching.
 */
function enforceLimits(
  child: ChildProcess,
  run: ChildRun,
  timeoutMs: number,
  rssCapMb: number,
  signal: AbortSignal | undefined,
): () => void {
  const kill = (reason: KillReason): void => {
    if (run.killedFor === undefined && child.exitCode === null && child.signalCode === null) {
      run.killedFor = reason;
      child.kill('SIGKILL');
    }
  };
  const timer = setTimeout(() => kill('timeout'), timeoutMs);
  const watchdog = setInterval(() => {
    void sampleRssMb(child.pid).then((mb) => {
      if (mb === undefined) return;
      run.watchdogPeakMb = Math.max(run.watchdogPeakMb, mb);
      if (mb > rssCapMb) kill('memory');
    });
  }, RSS_POLL_MS);
  const onAbort = (): void => kill('abort');
  signal?.addEventListener('abort', onAbort, { once: true });
  return () => {
    clearTimeout(timer);
    clearInterval(watchdog);
    signal?.removeEventListener('abort', onAbort);
  };
}

/** The child's one answer; after it the child has EXIT_GRACE_MS to exit by itself. */
function receiveAnswer(child: ChildProcess, run: ChildRun, raw: unknown): void {
  if (run.outcome) return;
  const reply = raw as Partial<ChildMessage> | null;
  run.peakRssMb = typeof reply?.peakRssMb === 'number' ? reply.peakRssMb : undefined;
  if (reply?.type === 'done') run.outcome = { ok: true };
  else if (reply?.type === 'error') run.outcome = { ok: false, error: fromWire(reply.error) };
  else run.outcome = { ok: false, error: new IngestError('PARSE_CRASHED', 'The parser sent an unexpected message.') };
  run.graceTimer = setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS);
}

/**
 * Why the run failed, once the child is gone; undefined when it succeeded. Our own kills come first (abort, time,
 * memory), then the child's answer, then how it ended without one.
 */
function runFailure(
  run: ChildRun,
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  spawnError: Error | undefined,
  context: { limits: IngestLimits; heapMb: number; rssCapMb: number; abortSignal: AbortSignal | undefined },
): { error: unknown } | undefined {
  if (run.killedFor === 'abort' && context.abortSignal) return { error: abortReason(context.abortSignal) };
  if (run.killedFor === 'timeout') {
    return {
      error: new IngestError(
        'PARSE_TIMEOUT',
        `Parsing took longer than ${formatSeconds(context.limits.timeoutMs)} and was stopped.`,
      ),
    };
  }
  if (run.killedFor === 'memory') {
    return {
      error: new IngestError(
        'PARSE_MEMORY',
        `Parsing used more than ${context.rssCapMb} MB of memory and was stopped.`,
      ),
    };
  }
  const outcome = run.outcome;
  if (outcome?.ok) return undefined;
  if (outcome) return { error: outcome.error };
  if (spawnError)
    return {
      error: new IngestError('PARSE_CRASHED', `The parser process could not start (${spawnError.name}).`, true),
    };
  return { error: classifyCrash(exitCode, signal, run.stderrTail, context.heapMb) };
}

function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

/** An exit without a result: the V8 heap limit (abort with its tell-tale message), the kernel, or a plain crash. */
function classifyCrash(
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  stderr: string,
  heapMb: number,
): IngestError {
  if (
    /heap out of memory|Reached heap limit|Allocation failed|ERR_WORKER_OUT_OF_MEMORY|Array buffer allocation failed/i.test(
      stderr,
    )
  ) {
    return new IngestError('PARSE_MEMORY', `Parsing needed more than the ${heapMb} MB memory limit.`);
  }
  if (signal === 'SIGKILL' && stderr.includes(CHILD_DEADLINE_MESSAGE)) {
    // The child's second line (child.ts startGuard) stopped it: our own timer should have, but could not run in time.
    return new IngestError('PARSE_TIMEOUT', 'Parsing took longer than the time limit and was stopped.');
  }
  if (signal === 'SIGKILL') {
    // Not ours (we record our own kills): most likely the kernel's OOM killer under memory pressure; may pass later.
    return new IngestError(
      'PARSE_MEMORY',
      'The parser process was killed by the system, probably for lack of memory.',
      true,
    );
  }
  if (signal === 'SIGTERM' || signal === 'SIGINT' || signal === 'SIGHUP') {
    return new IngestError('PARSE_CRASHED', `The parser process was stopped from outside (${signal}).`, true);
  }
  // A clean exit without an answer is a lost message, not the input's fault: worth another attempt.
  if (exitCode === 0 && !signal)
    return new IngestError('PARSE_CRASHED', 'The parser process ended without an answer (exit code 0).', true);
  const how = signal ? `signal ${signal}` : `exit code ${exitCode ?? 'unknown'}`;
  return new IngestError('PARSE_CRASHED', `The parser process crashed (${how}).`);
}

function fromWire(error: WireError | undefined): IngestError {
  const code = error?.code;
  if (code && (INGEST_ERROR_CODES as readonly string[]).includes(code) && typeof error.message === 'string') {
    return new IngestError(code, error.message.slice(0, 500), error.retryable === true);
  }
  return new IngestError('PARSE_CRASHED', 'The parser failed without a usable error.');
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? Object.assign(new Error('The parse was aborted.'), { name: 'AbortError' });
}

/** Resident set size of a process in MB from /proc (Linux); undefined elsewhere or once the process is gone. */
async function sampleRssMb(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined || process.platform !== 'linux') return undefined;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** A shape check of what chunking produced: the worker trusts nothing from the child beyond what it uses. */
function isExtractResult(value: unknown): value is ExtractResult {
  if (typeof value !== 'object' || value === null) return false;
  const { document, chunks } = value as Partial<ExtractResult>;
  return (
    typeof document === 'object' &&
    document !== null &&
    typeof document.kind === 'string' &&
    typeof document.mediaType === 'string' &&
    Array.isArray(document.warnings) &&
    typeof document.stats === 'object' &&
    document.stats !== null &&
    Array.isArray(chunks) &&
    chunks.every(
      (c, i) =>
        typeof c === 'object' &&
        c !== null &&
        c.index === i &&
        typeof c.text === 'string' &&
        typeof c.tokens === 'number' &&
        typeof c.locator === 'object' &&
        c.locator !== null,
    )
  );
}
