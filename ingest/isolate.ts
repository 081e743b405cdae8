// Runs every parse of untrusted bytes in a short-lived child process under a wall-clock limit, a V8 heap cap and an
// RSS watchdog, so a hostile file can crash, hang or pollute only that child, never the worker that started it.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { deserialize } from 'node:v8';
import { INGEST_ERROR_CODES, IngestError } from './errors';
import type { IngestErrorCode } from './errors';
import { launchProfile, prepareChild } from './sandbox';
import type { ChildLaunch, LaunchProfile } from './sandbox';
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

/**
 * 'ready': the child has booted and loaded its parsers; 'started': it has the job and reads its input next (see
 * extractIsolated for why the parent needs to know); then one answer.
 */
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'started' }
  | { type: 'done'; peakRssMb: number }
  | { type: 'error'; error: WireError; peakRssMb: number };

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
  /** The child was pre-spawned: started, and its parsers loaded, before this job was sent. */
  warm: boolean;
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
 * Runs the extraction of `bytes` in a child process that serves this one job: a pre-spawned one when the pool has one
 * ready for the job's launch profile, else a fresh one. Resolves with the result or rejects with an IngestError (or
 * the abort reason of `options.signal`). The job folder holding input and output is always removed.
 */
export async function extractIsolated(
  bytes: Uint8Array,
  job: ExtractJob,
  options: IsolateOptions = {},
): Promise<ExtractResult> {
  if (options.signal?.aborted) throw abortReason(options.signal);
  const spec = launchSpec(job, options.testHook !== undefined);
  const pooled = options.testHook === undefined && poolSettings.enabled;
  const warm = pooled ? takeWarm(spec) : undefined;
  const child = warm ?? (await spawnChild(spec));
  // The next job's child boots while this one parses; started once this job is sent, so its fork does not delay it.
  const onSent = pooled ? (): void => prespawn(spec) : undefined;
  try {
    return await extractIn(child, bytes, job, options, onSent);
  } catch (err) {
    if (!(err instanceof JobNotDelivered)) throw err;
    // A warm child that died before it took the job (between our check and our message): the job never started.
    return extractIn(await spawnChild(spec), bytes, job, options, onSent);
  }
}

/** The one job of `child`, in its folder; the child is stopped and the folder removed whatever happens. */
async function extractIn(
  child: ParseChild,
  bytes: Uint8Array,
  job: ExtractJob,
  options: IsolateOptions,
  onSent?: () => void,
): Promise<ExtractResult> {
  try {
    const inputPath = path.join(child.dir, 'input');
    const outputPath = path.join(child.dir, 'result');
    await writeFile(inputPath, bytes, { mode: 0o600 });
    const hooks = options.testHook
      ? { testHook: options.testHook, ...(options.testHookPath ? { testHookPath: options.testHookPath } : {}) }
      : {};
    await runJob(child, { type: 'extract', job, inputPath, outputPath, ...hooks }, options, onSent);
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
    await child.dispose();
  }
}

// ---------- the warm pool ----------

/**
 * Pre-spawned children: booting Node and loading pdf.js, xlsx and the tokenizer took most of a small file's parse, so
 * the child for the next job boots while the current one parses. Decisions:
 * - Job folder: the permission flags name the job folder, so a pre-spawned child gets its folder (mkdtemp) when it is
 *   spawned, and the job's input and result files are written into that folder when the job comes.
 * - Profiles: the grants depend on the format (addons and the PDF packages for PDFs, xlsx for spreadsheets and CSV,
 *   nothing more for text) and the heap cap on the job's limits. A child is pre-spawned for a launch profile
 *   (sandbox.ts LaunchProfile, plus the heap cap) once a job of that profile was seen, and only a job of that profile
 *   takes it: no format gets grants it did not have before. At most `perProfile` idle children per profile (default
 *   one) and `maxWarm` overall (the child parked longest gives way).
 * - One file per child: a child taken for a job leaves the pool, serves that job and exits; it is never given back.
 * - No leaks: an idle child is unref'd (the worker can exit while one waits), killed on process exit, killed after
 *   `idleMs` without a job, and exits by itself when its parent disappears (child.ts). One that died while idle is
 *   dropped, and the job forks a fresh child. The child acknowledges its job before reading any input, so one that
 *   died between being taken and receiving its job (a race) is known never to have started it: the job then runs in a
 *   fresh child, once.
 * - Limits: the wall clock, the RSS watchdog and the abort signal start when the job is sent (runJob); the heap cap is
 *   part of the profile. Exactly as for a child forked for the job.
 * - Test hooks bypass the pool: they need GROUNDWORK_INGEST_TEST_HOOKS in the child's environment at spawn.
 * - Concurrency: every parse takes an idle child of its profile or forks its own, and taking one starts its
 *   replacement; parallel parses never share a child, and the pool holds at most `perProfile` per profile.
 */
export interface WarmPoolSettings {
  /** Off: every parse forks its own child after the job arrives (as before the pool). */
  enabled: boolean;
  /** An idle child is killed after this long without a job. */
  idleMs: number;
  /**
   * Idle (or booting) children kept per launch profile. Two let back-to-back small files each find a child that has
   * booted, as the next child boots beside the current parse instead of after it; each idle child costs about
   * 90-130 MB of RSS (measured: text ~90, PDF ~125).
   */
  perProfile: number;
  /** Idle children across all profiles. */
  maxWarm: number;
  /**
   * Parse children alive at once (parsing, idle or booting) past which none is pre-spawned: a worker with N parse
   * slots sets N + 1, so a burst costs one child beyond its slots at most. Parses themselves are never refused here.
   */
  maxChildren: number;
}

const DEFAULT_POOL_SETTINGS: WarmPoolSettings = {
  enabled: true,
  idleMs: 60_000,
  perProfile: 1,
  maxWarm: 3,
  maxChildren: Number.POSITIVE_INFINITY,
};
let poolSettings: WarmPoolSettings = { ...DEFAULT_POOL_SETTINGS };

interface IdleChild {
  child: ParseChild;
  parkedAt: number;
  stop: () => void;
}

/** Idle children by launch key (profile and heap cap), oldest first. */
const idle = new Map<string, IdleChild[]>();
/** Children being prepared (folder, code) and forked, by launch key. */
const spawning = new Map<string, Set<Promise<void>>>();
/** Bumped by disposeWarmPool: a child whose spawn began before is not added to the pool. */
let poolGeneration = 0;
let exitHookInstalled = false;

/** Parse children forked and not yet closed, whatever they are doing. */
let liveChildren = 0;

/** Pre-spawns under way (a child forked a moment ago may be counted in liveChildren too: erring on the safe side). */
function spawningCount(): number {
  let n = 0;
  for (const set of spawning.values()) n += set.size;
  return n;
}

function idleChildren(): IdleChild[] {
  return [...idle.values()].flat();
}

/** Changes the pool's settings (tests, benchmarks); idle children beyond the new limits are stopped. */
export function configureWarmPool(settings: Partial<WarmPoolSettings>): void {
  poolSettings = { ...poolSettings, ...settings };
  if (!poolSettings.enabled) {
    void disposeWarmPool();
    return;
  }
  for (const [key, entries] of idle) {
    while (entries.length > poolSettings.perProfile) unpark(key, entries[0] as IdleChild);
  }
  while (idleChildren().length > poolSettings.maxWarm) evictOldest();
}

/** The ids of the idle pre-spawned children, for tests and benchmarks. */
export function warmChildPids(): number[] {
  return idleChildren().flatMap(({ child }) => (child.pid === undefined ? [] : [child.pid]));
}

/**
 * Stops every idle child and waits until they are gone and their folders removed, as well as any child being
 * spawned. A later parse starts the pool again.
 */
export async function disposeWarmPool(): Promise<void> {
  poolGeneration++;
  const pending = [...spawning.values()].flatMap((set) => [...set]);
  const children = idleChildren();
  idle.clear();
  for (const { stop } of children) stop();
  await Promise.all([...pending, ...children.map(({ child }) => child.dispose())]);
}

/**
 * The idle child for `spec` that was parked first (it had longest to boot), now out of the pool and holding the event
 * loop again; undefined when there is none alive.
 */
function takeWarm(spec: LaunchSpec): ParseChild | undefined {
  for (let entry = idle.get(spec.key)?.[0]; entry; entry = idle.get(spec.key)?.[0]) {
    unpark(spec.key, entry);
    if (entry.child.alive) {
      entry.child.ref();
      return entry.child;
    }
    void entry.child.dispose();
  }
  return undefined;
}

/** Starts, in the background, the children the next jobs of `spec` will take, up to `perProfile` idle or on the way. */
function prespawn(spec: LaunchSpec): void {
  if (!poolSettings.enabled || spec.testHooks) return;
  installExitHook();
  const pending = spawning.get(spec.key) ?? new Set<Promise<void>>();
  spawning.set(spec.key, pending);
  const generation = poolGeneration;
  while (
    (idle.get(spec.key)?.length ?? 0) + pending.size < poolSettings.perProfile &&
    liveChildren + spawningCount() < poolSettings.maxChildren
  ) {
    const spawned: Promise<void> = spawnChild(spec).then(
      (child) => {
        pending.delete(spawned);
        child.warm = true;
        const full = (idle.get(spec.key)?.length ?? 0) >= poolSettings.perProfile;
        if (generation !== poolGeneration || !poolSettings.enabled || full) return child.dispose();
        while (idleChildren().length >= poolSettings.maxWarm) evictOldest();
        park(child);
        return undefined;
      },
      () => {
        pending.delete(spawned); // the job that needs it will fork its own and report the failure
      },
    );
    pending.add(spawned);
  }
}

/** Puts `child` in the pool until a job takes it, it dies, or it idles too long. */
function park(child: ParseChild): void {
  const key = child.spec.key;
  child.unref();
  const entry: IdleChild = { child, parkedAt: Date.now(), stop: () => undefined };
  const entries = idle.get(key) ?? [];
  entries.push(entry);
  idle.set(key, entries);
  const drop = (): void => {
    unpark(key, entry);
    void child.dispose();
  };
  const timer = setTimeout(drop, poolSettings.idleMs);
  timer.unref();
  const removeListener = child.onGone(drop); // at once if it is already gone
  entry.stop = () => {
    clearTimeout(timer);
    removeListener();
  };
  if (!idle.get(key)?.includes(entry)) entry.stop();
}

/** Takes `entry` out of the pool and stops its timers; the child itself is left as it is. */
function unpark(key: string, entry: IdleChild): void {
  entry.stop();
  const entries = idle.get(key);
  const at = entries?.indexOf(entry) ?? -1;
  if (!entries || at < 0) return;
  entries.splice(at, 1);
  if (entries.length === 0) idle.delete(key);
}

function evictOldest(): void {
  let oldest: { key: string; entry: IdleChild } | undefined;
  for (const [key, entries] of idle) {
    for (const entry of entries) if (!oldest || entry.parkedAt < oldest.entry.parkedAt) oldest = { key, entry };
  }
  if (!oldest) return;
  unpark(oldest.key, oldest.entry);
  void oldest.entry.child.dispose();
}

/** An idle child must not outlive the worker: killed, and its folder removed, when the process exits normally. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const { child } of idleChildren()) {
      child.kill();
      rmSync(child.dir, { recursive: true, force: true });
    }
  });
}

type KillReason = 'timeout' | 'memory' | 'abort';

/** What the parent learns about one child's job while it runs. */
interface ChildRun {
  outcome: { ok: true } | { ok: false; error: unknown } | undefined;
  /** Set when this module killed the child, which decides the error whatever the child said or how it exited. */
  killedFor: KillReason | undefined;
  /** As reported by the child with its answer. */
  peakRssMb: number | undefined;
  watchdogPeakMb: number;
  /** Kills a child that answered but does not exit by itself. */
  graceTimer: NodeJS.Timeout | undefined;
}

/** How a child is launched: its profile (grants), heap cap and whether test hooks are on. */
interface LaunchSpec {
  key: string;
  profile: LaunchProfile;
  heapMb: number;
  testHooks: boolean;
}

function launchSpec(job: ExtractJob, testHooks: boolean): LaunchSpec {
  const profile = launchProfile(job.sniffed.format);
  const heapMb = heapCapMb(job.limits);
  return { key: `${profile}:${heapMb}${testHooks ? ':hooks' : ''}`, profile, heapMb, testHooks };
}

function heapCapMb(limits: IngestLimits): number {
  return Math.max(16, Math.floor(limits.maxMemoryMb));
}

/** Thrown by runJob when a pre-spawned child ended without acknowledging its job: the job can run elsewhere. */
class JobNotDelivered extends Error {
  override name = 'JobNotDelivered';
}

/**
 * One parse child from fork to exit: its job folder (the permission model names it at spawn, so it is made first), the
 * tail of its stderr, and what it said. It serves at most one job.
 */
class ParseChild {
  readonly process: ChildProcess;
  readonly spawnedAt = Date.now();
  /** The child loaded its parsers and waits for its job. */
  ready = false;
  /** The child acknowledged its job, before reading any input. */
  jobStarted = false;
  /** Spawned before its job was known (a pool child). */
  warm = false;
  stderrTail = '';
  spawnError: Error | undefined;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Resolves once the process is gone and its pipes are closed. */
  readonly closed: Promise<void>;
  /** Receives the job's answer once a job was sent; before that any other message ends the child. */
  onAnswer: ((raw: unknown) => void) | undefined;
  private readonly closeListeners = new Set<() => void>();

  constructor(
    readonly dir: string,
    readonly spec: LaunchSpec,
    launch: ChildLaunch,
  ) {
    this.process = fork(launch.modulePath, [spec.profile], {
      execArgv: [...launch.execArgv, `--max-old-space-size=${spec.heapMb}`],
      env: childEnv(spec.testHooks),
      // Parser libraries print warnings; they must not reach our stdout (the corpus check prints JSON lines there).
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.process.stderr?.setEncoding('utf8');
    this.process.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
    });
    this.process.on('message', (raw: unknown) => {
      const type = (raw as { type?: unknown } | null)?.type;
      if (type === 'ready') this.ready = true;
      else if (type === 'started') this.jobStarted = true;
      else if (this.onAnswer) this.onAnswer(raw);
      else this.kill(); // nothing was asked of it
    });
    liveChildren++;
    let counted = true;
    const uncount = (): void => {
      if (counted) liveChildren--;
      counted = false;
    };
    this.closeListeners.add(uncount);
    this.closed = new Promise((resolve) => {
      // 'close', not 'exit': 'exit' can come before the child's last IPC message is delivered, and a child that sent
      // its answer and exited 0 was then taken for a crash (seen with 32 parse children on 2 cores).
      this.process.on('close', (code, signal) => {
        this.exit = { code, signal };
        resolve();
        for (const listener of this.closeListeners) listener();
      });
    });
    this.process.on('error', (err) => {
      // 'error' without 'exit' means the process never started; with 'exit' the close handler settles.
      if (this.process.pid === undefined) {
        this.spawnError = err;
        this.exit = { code: null, signal: null };
        for (const listener of this.closeListeners) listener();
      }
    });
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Not exited and still connected: a job sent now will be read. */
  get alive(): boolean {
    return (
      this.exit === undefined &&
      this.spawnError === undefined &&
      this.process.exitCode === null &&
      this.process.signalCode === null &&
      this.process.connected
    );
  }

  /** Calls `listener` once the child is gone (at once if it already is); returns the function that removes it. */
  onGone(listener: () => void): () => void {
    if (this.exit !== undefined) {
      listener();
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Idle in the pool: none of its handles keeps the worker's event loop alive. */
  unref(): void {
    this.process.unref();
    this.process.channel?.unref();
    (this.process.stderr as Socket | null)?.unref(); // a pipe: a net.Socket
  }

  ref(): void {
    this.process.ref();
    this.process.channel?.ref();
    (this.process.stderr as Socket | null)?.ref();
  }

  /** SIGKILL: SIGTERM could be ignored by a busy or hostile child. */
  kill(): void {
    if (this.process.exitCode === null && this.process.signalCode === null && this.process.pid !== undefined) {
      this.process.kill('SIGKILL');
    }
  }

  /** Stops the child if it still runs, waits for it, and removes its job folder. */
  async dispose(): Promise<void> {
    this.ref(); // an idle child was unref'd: whoever awaits this must not see the event loop end first
    this.kill();
    if (this.spawnError === undefined && this.process.pid !== undefined) await this.closed;
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A child of `spec` with its own job folder, forked now; its job is sent later (runJob). */
async function spawnChild(spec: LaunchSpec): Promise<ParseChild> {
  // mkdtemp creates the directory readable by this user only; the bytes never sit anywhere more public.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'groundwork-ingest-'));
  try {
    const launch = await prepareChild(spec.profile, dir).catch((err: unknown) => {
      const name = err instanceof Error ? err.name : typeof err;
      throw new IngestError('PARSE_CRASHED', `The parser process could not be prepared (${name}).`, true);
    });
    return new ParseChild(dir, spec, launch);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Sends `message` to `child` and waits until the child is gone. The wall clock, the RSS watchdog and the abort signal
 * apply from the moment the job is sent, whether the child was started for it or before it.
 */
function runJob(
  child: ParseChild,
  message: ParentMessage,
  options: IsolateOptions,
  onSent?: () => void,
): Promise<void> {
  const limits = message.job.limits;
  const heapMb = child.spec.heapMb;
  const rssCapMb = heapMb * 2 + RSS_BASELINE_MB;
  const started = Date.now();
  const run: ChildRun = {
    outcome: undefined,
    killedFor: undefined,
    peakRssMb: undefined,
    watchdogPeakMb: 0,
    graceTimer: undefined,
  };
  return new Promise<void>((resolve, reject) => {
    child.onAnswer = (raw) => receiveAnswer(child, run, raw);
    const stopLimits = enforceLimits(child, run, limits.timeoutMs, rssCapMb, options.signal);
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      stopLimits();
      if (run.graceTimer) clearTimeout(run.graceTimer);
      const exitCode = child.exit?.code ?? null;
      const signal = child.exit?.signal ?? null;
      if (child.warm && !child.jobStarted && run.killedFor === undefined && run.outcome === undefined) {
        reject(new JobNotDelivered('The pre-spawned parser process ended before it took its job.'));
        return;
      }
      options.onReport?.({
        pid: child.pid,
        ms: Date.now() - started,
        peakRssMb: run.peakRssMb ?? (run.watchdogPeakMb || undefined),
        exitCode,
        signal,
        warm: child.warm,
      });
      const failure = runFailure(run, child, {
        limits,
        heapMb,
        rssCapMb,
        abortSignal: options.signal,
      });
      if (failure) reject(failure.error);
      else resolve();
    };
    child.onGone(finish);
    if (settled) return;
    child.process.send(message, (err) => {
      // The child died before reading its job; the close handler classifies the crash.
      if (err) child.kill();
    });
    onSent?.();
  });
}

/**
 * Kills the child (SIGKILL: SIGTERM could be ignored by a busy or hostile child) when the time limit passes, when its
 * RSS passes the cap, or when `signal` aborts, recording why. Returns the function that stops watching.
 */
function enforceLimits(
  child: ParseChild,
  run: ChildRun,
  timeoutMs: number,
  rssCapMb: number,
  signal: AbortSignal | undefined,
): () => void {
  const kill = (reason: KillReason): void => {
    if (run.killedFor === undefined && child.alive) {
      run.killedFor = reason;
      child.kill();
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
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return () => {
    clearTimeout(timer);
    clearInterval(watchdog);
    signal?.removeEventListener('abort', onAbort);
  };
}

/** The child's one answer; after it the child has EXIT_GRACE_MS to exit by itself. */
function receiveAnswer(child: ParseChild, run: ChildRun, raw: unknown): void {
  if (run.outcome) return;
  const reply = raw as { type?: unknown; peakRssMb?: unknown; error?: WireError } | null;
  run.peakRssMb = typeof reply?.peakRssMb === 'number' ? reply.peakRssMb : undefined;
  if (reply?.type === 'done') run.outcome = { ok: true };
  else if (reply?.type === 'error') run.outcome = { ok: false, error: fromWire(reply.error) };
  else run.outcome = { ok: false, error: new IngestError('PARSE_CRASHED', 'The parser sent an unexpected message.') };
  run.graceTimer = setTimeout(() => child.kill(), EXIT_GRACE_MS);
}

/**
 * Why the run failed, once the child is gone; undefined when it succeeded. Our own kills come first (abort, time,
 * memory), then the child's answer, then how it ended without one.
 */
function runFailure(
  run: ChildRun,
  child: ParseChild,
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
  const spawnError = child.spawnError;
  if (spawnError)
    return {
      error: new IngestError('PARSE_CRASHED', `The parser process could not start (${spawnError.name}).`, true),
    };
  return {
    error: classifyCrash(child.exit?.code ?? null, child.exit?.signal ?? null, child.stderrTail, context.heapMb),
  };
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
