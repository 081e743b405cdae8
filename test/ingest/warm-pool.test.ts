// The pre-spawned parse child: the next job's child boots while the current one parses, serves exactly one job, and
// never outlives its usefulness (taken, idle timeout, dispose, process exit). Real child processes throughout.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { extractChunks } from '../../ingest';
import type { IsolationReport } from '../../ingest';
import { configureWarmPool, disposeWarmPool, warmChildPids } from '../../ingest/isolate';
import { makeTextPdf } from '../support/documents';
import { isRunning, killQuietly, waitFor } from '../support/processes';

jest.setTimeout(60_000);

const TEXT = new Uint8Array(Buffer.from('# Note\n\nThe filter is cleaned monthly.\n'));

async function parse(bytes: Uint8Array = TEXT, fileName = 'note.md'): Promise<IsolationReport> {
  let report: IsolationReport | undefined;
  const result = await extractChunks({ bytes, fileName }, { onReport: (r) => (report = r) });
  expect(result.chunks.length).toBeGreaterThan(0);
  if (!report) throw new Error('no isolation report');
  return report;
}

/** The one idle child of the pool, once it has been spawned. */
function waitForWarmChild(except: number[] = []): Promise<number> {
  return waitFor('a pre-spawned child', 20_000, () => warmChildPids().find((pid) => !except.includes(pid)));
}

/** The job folder of a running child, from its permission grants (the first --allow-fs-write). */
function jobFolderOf(pid: number): string | undefined {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return args.find((a) => a.startsWith('--allow-fs-write='))?.slice('--allow-fs-write='.length);
  } catch {
    return undefined;
  }
}

beforeEach(() =>
  configureWarmPool({ enabled: true, idleMs: 60_000, perProfile: 1, maxWarm: 3, maxChildren: Number.POSITIVE_INFINITY }),
);
afterEach(() => disposeWarmPool());

describe('the warm parse child', () => {
  it('serves the second parse with a child spawned before its job was sent, and never reuses a child', async () => {
    const first = await parse();
    expect(first.warm).toBe(false);
    const ready = await waitForWarmChild();
    expect(ready).not.toBe(first.pid);

    const second = await parse();
    expect(second).toMatchObject({ warm: true, pid: ready, exitCode: 0, signal: null });
    await waitFor('the used child to exit', 5000, () => (isRunning(ready) ? undefined : true));

    // Its replacement is another process.
    const third = await parse();
    expect(third.warm).toBe(true);
    expect([first.pid, second.pid]).not.toContain(third.pid);
  });

  it('replaces a warm child killed while idle; the job still succeeds in a fresh child', async () => {
    await parse();
    const victim = await waitForWarmChild();
    process.kill(victim, 'SIGKILL');
    // Straight away, before the pool may have seen the exit: the job must not be lost either way.
    const report = await parse();
    expect(report.pid).not.toBe(victim);
    expect(report.exitCode).toBe(0);

    const next = await waitForWarmChild([victim]);
    process.kill(next, 'SIGKILL');
    await waitFor('the pool to drop the dead child', 5000, () => (warmChildPids().includes(next) ? undefined : true));
    const fresh = await parse();
    expect(fresh).toMatchObject({ warm: false, exitCode: 0 });
  });

  it('gives parallel parses each their own child and keeps one idle child per launch profile', async () => {
    await parse();
    await waitForWarmChild();
    const reports = await Promise.all([parse(), parse(), parse()]);
    const pids = reports.map((r) => r.pid);
    expect(new Set(pids).size).toBe(3);
    expect(reports.filter((r) => r.warm).length).toBeGreaterThanOrEqual(1);
    await waitForWarmChild(pids as number[]);
    expect(warmChildPids()).toHaveLength(1);

    // A PDF needs other grants (addons, the PDF packages): it neither takes the text child nor shares its own.
    const pdf = await makeTextPdf([['A page of text for the profile test.']]);
    const textChild = warmChildPids()[0] as number;
    const pdfReport = await parse(pdf, 'page.pdf');
    expect(pdfReport.pid).not.toBe(textChild);
    await waitFor('one idle child per profile', 20_000, () => (warmChildPids().length === 2 ? true : undefined));
    expect(warmChildPids()).toContain(textChild);
  });

  it('keeps up to perProfile children ready for a profile, and at most maxWarm in all', async () => {
    configureWarmPool({ perProfile: 2 });
    await parse();
    await waitFor('two idle children', 20_000, () => (warmChildPids().length === 2 ? true : undefined));
    const ready = warmChildPids();
    const [a, b] = [await parse(), await parse()];
    expect([a.warm, b.warm]).toEqual([true, true]);
    expect(ready).toEqual([a.pid, b.pid]); // the one parked first, which had longest to boot, goes first
    await waitFor('the pool to refill', 20_000, () => (warmChildPids().length === 2 ? true : undefined));
    expect(warmChildPids()).not.toContain(a.pid);

    configureWarmPool({ maxWarm: 1 });
    expect(warmChildPids()).toHaveLength(1);
  });

  it('pre-spawns no child while maxChildren parse children are alive', async () => {
    configureWarmPool({ maxChildren: 1 });
    // The parse's own child fills the bound: it starts no replacement.
    await parse();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(warmChildPids()).toEqual([]);
    // A bound of two leaves room for one more beside it.
    configureWarmPool({ maxChildren: 2 });
    await parse();
    await waitForWarmChild();
  });

  it('leaves nothing running and no job folder behind once the pool is disposed', async () => {
    await parse();
    const pid = await waitForWarmChild();
    const folder = process.platform === 'linux' ? jobFolderOf(pid) : undefined;
    if (process.platform === 'linux') expect(folder && existsSync(folder)).toBe(true);
    await disposeWarmPool();
    expect(warmChildPids()).toEqual([]);
    expect(isRunning(pid)).toBe(false);
    if (folder) expect(existsSync(folder)).toBe(false);
  });

  it('stops an idle child after the idle timeout', async () => {
    // Long enough that a loaded machine's test loop still sees the parked child before it is stopped.
    configureWarmPool({ idleMs: 2500 });
    await parse();
    const pid = await waitForWarmChild();
    await waitFor('the idle child to be stopped', 10_000, () => (isRunning(pid) ? undefined : true));
    expect(warmChildPids()).toEqual([]);
    expect((await parse()).warm).toBe(false);
  });

  it('forks per job, with no idle child, when the pool is off', async () => {
    configureWarmPool({ enabled: false });
    const reports = [await parse(), await parse()];
    expect(reports.map((r) => r.warm)).toEqual([false, false]);
    expect(warmChildPids()).toEqual([]);
  });

  /**
   * Runs, in a process of its own standing in for the worker, one parse, waits for the pool's idle child, and then
   * `then` (a statement); returns the exit code and what the process printed (the idle child's pid first).
   */
  async function inWorkerProcess(then: string): Promise<{ code: number | null; out: string; warm: number }> {
    const ingest = JSON.stringify(path.join(__dirname, '../../ingest'));
    const script = `
      const { extractChunks } = require(${ingest});
      const { disposeWarmPool, warmChildPids } = require(${ingest} + '/isolate');
      (async () => {
        await extractChunks({ bytes: new Uint8Array(Buffer.from('# Note\\n\\nText.\\n')), fileName: 'n.md' });
        while (warmChildPids().length === 0) await new Promise((r) => setTimeout(r, 20));
        process.stdout.write(String(warmChildPids()[0]));
        ${then}
      })();
    `;
    const worker = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    worker.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => worker.on('close', resolve));
    return { code, out, warm: Number.parseInt(out, 10) };
  }

  (process.platform === 'linux' ? it : it.skip)(
    'lets the worker process exit while a child waits, and the child does not outlive it',
    async () => {
      const { code, warm } = await inWorkerProcess('');
      try {
        expect(code).toBe(0); // it ended by itself: the idle child did not hold its event loop
        expect(warm).toBeGreaterThan(0);
        await waitFor('the idle child to go with its parent', 5000, () => (isRunning(warm) ? undefined : true));
      } finally {
        killQuietly(warm);
      }
    },
  );

  it('finishes disposing in a process that has nothing else to wait for', async () => {
    // The idle child does not hold the event loop; disposing must still wait for it to be gone.
    const { code, out, warm } = await inWorkerProcess(
      "await disposeWarmPool(); process.stdout.write(' disposed ' + warmChildPids().length);",
    );
    try {
      expect(code).toBe(0);
      expect(out).toBe(`${warm} disposed 0`);
      expect(isRunning(warm)).toBe(false);
    } finally {
      killQuietly(warm);
    }
  });
});
