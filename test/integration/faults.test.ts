// What production does to ingestion: a batch cancelled mid-write, and a worker killed (SIGKILL) while it parses.
// Nothing staged may be left behind, and a killed worker's document must run again elsewhere within a minute.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { loadConfig } from '../../common/config';
import { startWorker } from '../../workers/worker';
import type { RunningWorker } from '../../workers/worker';
import { ingestDocument } from '../../workflows';
import type { IngestDocumentInput } from '../../workflows/definitions';
import { eventually, startHarness, temporalAddress, workflowBundle, writeTemp } from './harness';
import type { Harness } from './harness';

const ROOT = path.resolve(__dirname, '..', '..');

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

describe('a cancelled batch', () => {
  let h: Harness;
  const held = new Set<string>();

  beforeAll(async () => {
    // After the real write, the embed step of each held document waits (heartbeating) until it is cancelled, so the
    // cancellation is certain to arrive while staged points exist.
    h = await startHarness({}, (acts) => ({
      ...acts,
      embedAndUpsert: async (input: Parameters<typeof acts.embedAndUpsert>[0]) => {
        const result = await acts.embedAndUpsert(input);
        held.add(input.documentId);
        const ctx = Context.current();
        for (;;) {
          ctx.heartbeat({ next: Number.MAX_SAFE_INTEGER });
          await ctx.sleep(200); // rejects with CancelledFailure once the cancellation arrives
        }
        return result;
      },
    }));
  });
  afterAll(async () => h?.stop());

  test('leaves no staged points and no staging files', async () => {
    const files = await Promise.all(
      ['a', 'b', 'c'].map((n) =>
        writeTemp(
          h.dataDir,
          `cancelco/${n}.md`,
          `# ${n}\n\nDocument ${n} says the canteen opens at ${n === 'a' ? 7 : 8}.\n`,
        ),
      ),
    );
    const batch = await h.client.startIngestBatch('cancelco', files, 3);
    await eventually(async () => held.size === 3 || undefined, 60_000, 'three documents staged');
    expect(await h.worker.vectors.count('cancelco', { state: 'staged' })).toBeGreaterThanOrEqual(3);
    expect((await filesUnder(path.join(h.dataDir, 'staging'))).length).toBe(3);

    await batch.cancel();
    await expect(batch.result()).rejects.toThrow();
    for (const documentId of ['a.md', 'b.md', 'c.md']) {
      const child = h.client.temporal.workflow.getHandle(`ingest:cancelco:${documentId}`);
      await eventually(
        async () => ((await child.describe()).status.name === 'CANCELLED' ? true : undefined),
        60_000,
        `${documentId} cancelled`,
      );
    }
    expect(await h.worker.vectors.count('cancelco')).toBe(0);
    expect(await filesUnder(path.join(h.dataDir, 'staging'))).toEqual([]);
  });
});

describe('a worker killed while parsing', () => {
  test('has its document running again on another worker within 60 s, and nothing is duplicated', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-kill-'));
    const taskQueue = `kill-${path.basename(dataDir)}`;
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_TASK_QUEUE: taskQueue,
      GROUNDWORK_DATA_DIR: dataDir,
      GROUNDWORK_INGEST_ROOTS: path.join(dataDir, 'sources'),
      LOG_LEVEL: 'warn',
    };
    // Worker A runs in a process of its own, so that it can really be killed.
    const a = spawn(
      process.execPath,
      ['--require', require.resolve('tsx/cjs'), path.join(ROOT, 'client', 'cli.ts'), 'worker'],
      {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderrA = '';
    a.stderr.on('data', (d: Buffer) => (stderrA = (stderrA + d.toString()).slice(-4000)));
    const connection = await Connection.connect({ address: temporalAddress() });
    const client = new Client({ connection });
    let b: RunningWorker | undefined;
    try {
      await eventually(() => hasPoller(connection, taskQueue), 60_000, 'worker A polling').catch((err: Error) => {
        throw new Error(`${err.message}; its stderr: ${stderrA}`);
      });
      // A spreadsheet large enough that parsing takes several seconds.
      const rows = ['Region,Product,Quarter,Units,Revenue,Owner'];
      for (let i = 0; i < 100_000; i++)
        rows.push(`R${i % 7},P${i % 13},Q${(i % 4) + 1},${i % 97},${(i * 31) % 10007},owner-${i % 50}`);
      const file = await writeTemp(dataDir, 'killco/big.csv', rows.join('\n'));
      const input: IngestDocumentInput = {
        tenantId: 'killco',
        documentId: 'big.csv',
        source: { kind: 'path', path: file },
      };
      const handle = await client.workflow.start(ingestDocument, {
        taskQueue,
        workflowId: `ingest:killco:big-${path.basename(dataDir)}`,
        args: [input],
      });

      const identityA = (
        await eventually(
          () => pendingActivity(handle, (act) => act.activityType?.name === 'prepareDocument'),
          60_000,
          'parse on A',
        )
      ).lastWorkerIdentity;
      a.kill('SIGKILL');
      const killedAt = Date.now();

      b = await startWorker(loadConfig(env as Record<string, string>), {
        workflowBundle: await workflowBundle(),
        shutdownGraceTime: '1s',
      });
      const rerun = await eventually(
        () => pendingActivity(handle, (act) => (act.attempt ?? 0) >= 2),
        90_000,
        'parse running again',
      );
      const secondsToRerun = (Date.now() - killedAt) / 1000;
      process.stderr.write(
        `[faults] prepareDocument running again on another worker ${secondsToRerun.toFixed(1)} s after SIGKILL\n`,
      );
      expect(rerun.activityType?.name).toBe('prepareDocument');
      expect(rerun.lastWorkerIdentity).not.toBe(identityA);
      expect(secondsToRerun).toBeLessThan(60);

      const result = await handle.result();
      expect(result.status).toBe('ingested');
      expect(await b.vectors.count('killco', { documentId: 'big.csv' })).toBe(result.chunks);
      expect(await b.vectors.count('killco', { state: 'staged' })).toBe(0);
    } finally {
      a.kill('SIGKILL');
      await b?.shutdown();
      await connection.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});

async function hasPoller(connection: Connection, taskQueue: string): Promise<true | undefined> {
  const res = await connection.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return (res.pollers ?? []).length > 0 || undefined;
}

type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;

/** The workflow's pending activity once it is running (started on a worker) and matches. */
async function pendingActivity(
  handle: WorkflowHandle,
  matches: (act: PendingActivity) => boolean,
): Promise<PendingActivity | undefined> {
  const act = (await handle.describe()).raw.pendingActivities?.[0];
  const running = act?.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
  return act && running && matches(act) ? act : undefined;
}
