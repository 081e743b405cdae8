// Runs the real worker (real activities, LanceDB on a temp dir, offline models) against the shared dev
// server, on a task queue of its own so test files can run side by side.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { GroundworkClient } from '../../client/groundwork-client';
import { loadConfig } from '../../common/config';
import type { Config } from '../../common/config';
import { startWorker } from '../../workers/worker';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../workers/tracing';
import { installLogging } from '../../workers/logging';
import type { RunningWorker } from '../../workers/worker';
import type { Activities } from '../../activities';

// Test output shows warnings and errors only; LOG_LEVEL=info brings the worker's logs back.
installLogging('warn');

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundled once per test file (each jest file has its own module registry). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  // With the tracing interceptor module, as the worker bundles it with tracing on (inert for untraced starts).
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger: quietLogger,
  });
  return bundle;
}

const noop = (): void => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

export function temporalAddress(): string {
  const address = process.env.GROUNDWORK_TEST_TEMPORAL_ADDRESS;
  if (!address)
    throw new Error(
      'GROUNDWORK_TEST_TEMPORAL_ADDRESS is not set: run integration tests through jest (global setup starts the dev server).',
    );
  return address;
}

export interface Harness {
  config: Config;
  client: GroundworkClient;
  worker: RunningWorker;
  dataDir: string;
  taskQueue: string;
  stop(): Promise<void>;
}

export async function startHarness(
  env: Record<string, string> = {},
  wrap?: (acts: Activities) => object,
): Promise<Harness> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-it-'));
  const taskQueue = `test-${path.basename(dataDir)}`;
  const config = loadConfig({
    GROUNDWORK_DATA_DIR: dataDir,
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_TASK_QUEUE: taskQueue,
    GROUNDWORK_PARSE_TIMEOUT: '60s',
    // `path` sources are read below <root>/<tenant>/ only: writeTemp(dir, '<tenant>/<file>') puts files there.
    GROUNDWORK_INGEST_ROOTS: path.join(dataDir, 'sources'),
    // Each worker's /metrics on a free port: test files and other runs on this machine would collide on 9464.
    GROUNDWORK_METRICS_PORT: '0',
    ...env,
  });
  const worker = await startWorker(config, { workflowBundle: await workflowBundle(), shutdownGraceTime: '1s' }, wrap);
  const client = await GroundworkClient.fromConfig(config);
  return {
    config,
    client,
    worker,
    dataDir,
    taskQueue,
    stop: async () => {
      await client.close();
      await worker.shutdown();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function eventually<T>(
  fn: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function writeTemp(dir: string, name: string, content: Uint8Array | string): Promise<string> {
  const file = path.join(dir, 'sources', name);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content);
  return file;
}
