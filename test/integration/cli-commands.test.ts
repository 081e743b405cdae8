// The CLI as users run it: `node bin/groundwork.js …` from the compiled build (dist/, `npm run build`), as child
// processes against the shared dev server. Every command's --help is run, found by walking the command tree, so a
// new command is covered without editing this file.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Command } from 'commander';
import { buildCli } from '../../client/cli';
import { eventually, temporalAddress } from './harness';

const root = path.resolve(__dirname, '..', '..');
const bin = path.join(root, 'bin', 'groundwork.js');
const DEAD_ADDRESS = '127.0.0.1:9';

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();
let dataDir: string;

beforeAll(async () => {
  if (!existsSync(path.join(root, 'dist', 'client', 'cli.js')))
    throw new Error('dist/ is missing: run `npm run build` before these tests (`npm test` does).');
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-cli-'));
});
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});
afterAll(async () => {
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
});

/** Resolves with `wanted` unless the process exits first, which fails with its output. */
async function whileRunning<T>(p: ReturnType<typeof start>, wanted: Promise<T>): Promise<T> {
  const early = p.exited.then((r) =>
    Promise.reject(new Error(`the command exited (code ${r.code}) too early: ${r.stderr.slice(-2000)}`)),
  );
  early.catch(() => undefined);
  return Promise.race([wanted, early]);
}

/** Starts the CLI; `exited` resolves with its exit code and output. */
function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: dataDir,
    env: { ...process.env, GROUNDWORK_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, ...out });
    }),
  );
  return { child, out, exited };
}

async function run(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<Exit> {
  const { child, exited } = start(args, env);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}

test('every command and subcommand prints its usage with --help and exits 0', async () => {
  const paths = commandPaths(buildCli());
  expect(paths.length).toBeGreaterThanOrEqual(13);
  // A few at a time: two dozen Node start-ups at once on a two-core machine can outlast any per-command limit.
  const queue: string[][] = [[], ...paths];
  const results: { p: string[]; r: Exit }[] = [];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let p = queue.shift(); p; p = queue.shift())
        results.push({ p, r: await run([...p, '--help'], { TEMPORAL_ADDRESS: DEAD_ADDRESS }) });
    }),
  );
  for (const { p, r } of results) {
    expect({ command: p.join(' '), code: r.code, stderr: r.stderr }).toEqual({
      command: p.join(' '),
      code: 0,
      stderr: '',
    });
    expect(r.stdout).toMatch(new RegExp(`^Usage: ${['groundwork', ...p].join(' ')} `, 'm'));
  }
});

test('`worker` polls its task queue and exits 0 on SIGTERM', async () => {
  const taskQueue = `cli-worker-${path.basename(dataDir)}`;
  const worker = start(['worker'], {
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_TASK_QUEUE: taskQueue,
    LOG_LEVEL: 'warn',
  });
  const connection = await Connection.connect({ address: temporalAddress() });
  try {
    const polled = eventually(
      async () => {
        const r = await connection.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: taskQueue },
          taskQueueType: 1 /* WORKFLOW */,
        });
        return r.pollers.length > 0;
      },
      60_000,
      'the worker to poll its task queue',
    );
    await whileRunning(worker, polled);
  } finally {
    await connection.close();
  }
  expect(worker.out.stderr).toContain(`worker running on task queue "${taskQueue}"`);
  worker.child.kill('SIGTERM');
  const r = await worker.exited;
  expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
});

test('`http --port 0` prints its URL, serves /healthz and exits 0 on SIGTERM', async () => {
  const api = start(['http', '--port', '0'], { TEMPORAL_ADDRESS: temporalAddress() });
  const url = await whileRunning(
    api,
    eventually(async () => /HTTP API on (http:\/\/\S+)/.exec(api.out.stderr)?.[1], 30_000, 'the HTTP API URL'),
  );
  const res = await fetch(`${url}/healthz`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ ok: true });
  api.child.kill('SIGTERM');
  const r = await api.exited;
  expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
});

test('`worker` against an address where no server answers exits non-zero with one error line, quickly', async () => {
  const started = Date.now();
  const r = await run(['worker'], { TEMPORAL_ADDRESS: DEAD_ADDRESS }, 20_000);
  expect(Date.now() - started).toBeLessThan(15_000);
  expect(r.signal).toBeNull();
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/^error: Cannot connect to Temporal at 127\.0\.0\.1:9/m);
  expect(r.stderr).not.toContain('Cannot find module');
});

test('an unknown command exits non-zero and says so', async () => {
  const r = await run(['frobnicate']);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain("unknown command 'frobnicate'");
  const json = await run(['--json', 'frobnicate']);
  expect(json.code).not.toBe(0);
  expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'INVALID_USAGE' } });
});

test('`ask` with an invalid tenant exits non-zero before connecting to Temporal', async () => {
  // The dead address proves the check runs first: connecting would fail differently (and slowly).
  const r = await run(['ask', '--tenant', 'bad tenant!', 'What is the policy?'], { TEMPORAL_ADDRESS: DEAD_ADDRESS });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/^error: tenant: tenant ids are/m);
  const json = await run(['--json', 'ask', '--tenant', 'bad tenant!', 'What is the policy?'], {
    TEMPORAL_ADDRESS: DEAD_ADDRESS,
  });
  expect(json.code).not.toBe(0);
  expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'INVALID_INPUT' } });
});
