// Parsing on its own task queue: at most the worker's parse slots run at once (the memory budget lowers
// GROUNDWORK_INGEST_CONCURRENCY), and a single upload is dispatched before a batch's backlog (priority), each task
// carrying its tenant as fairness key.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { temporal } from '@temporalio/proto';
import { ingestWorkflowId } from '../../common/ids';
import { parseTaskQueue } from '../../workflows/definitions';
import { startHarness, writeTemp } from './harness';
import type { Harness } from './harness';

let h: Harness;
const starts: { tenantId: string; documentId: string }[] = [];
let running = 0;
let maxRunning = 0;

beforeAll(async () => {
  h = await startHarness(
    {
      // Two children's worth of budget at 1 GB each, though four may run by concurrency: two slots.
      GROUNDWORK_INGEST_CONCURRENCY: '4',
      GROUNDWORK_PARSE_MEMORY_MB: '1024',
      GROUNDWORK_PARSE_MEMORY_BUDGET_MB: '2048',
    },
    (acts) => ({
      ...acts,
      prepareDocument: async (input: Parameters<typeof acts.prepareDocument>[0]) => {
        starts.push({ tenantId: input.tenantId, documentId: input.documentId });
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        try {
          const out = await acts.prepareDocument(input);
          // A slow parse, so that a backlog forms behind the slots.
          await new Promise((r) => setTimeout(r, 700));
          return out;
        } finally {
          running -= 1;
        }
      },
    }),
  );
});
afterAll(async () => h?.stop());

test('the parse slots follow the memory budget', () => {
  expect(h.config.ingest.parseSlots).toBe(2);
});

/** Batch documents queued before the single upload. */
const BACKLOG = 20;

test('parsing runs on its own queue within its slots, and a single upload goes before a batch backlog', async () => {
  const dir = path.join(h.dataDir, 'sources', 'bulk');
  const files: string[] = [];
  for (let i = 0; i < BACKLOG; i++)
    files.push(await writeTemp(h.dataDir, `bulk/doc-${i}.md`, `# Doc ${i}\n\nBulk text ${i}.\n`));
  await fs.access(dir);
  const batch = await h.client.startIngestBatch('bulk', files, BACKLOG);
  // Once the batch's backlog has formed, another tenant uploads one document.
  for (let i = 0; i < 100 && starts.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
  const solo = await writeTemp(h.dataDir, 'solo/one.md', '# One\n\nA single upload.\n');
  const single = await h.client.ingest({
    tenantId: 'solo',
    documentId: 'one.md',
    source: { kind: 'path', path: solo },
  });
  expect(single.status).toBe('ingested');
  const result = await batch.result();
  expect(result.ingested).toBe(BACKLOG);

  expect(maxRunning).toBeLessThanOrEqual(2);
  expect(maxRunning).toBe(2);
  // Dispatched ahead of most of the batch, though it was queued after all of it (by priority alone it would be last:
  // the bound leaves room for a loaded machine, where the solo run takes a while to reach the queue).
  const soloAt = starts.findIndex((s) => s.tenantId === 'solo');
  expect(soloAt).toBeGreaterThanOrEqual(0);
  expect(soloAt).toBeLessThan(BACKLOG / 2);

  // The parse task went to the parse queue with the upload's priority and its tenant as fairness key.
  const handle = h.client.temporal.workflow.getHandle(ingestWorkflowId('solo', 'one.md'));
  const events = (await handle.fetchHistory()).events ?? [];
  const parse = events
    .map((e) => e.activityTaskScheduledEventAttributes)
    .find(
      (a) => a?.activityType?.name === 'prepareDocument',
    ) as temporal.api.history.v1.IActivityTaskScheduledEventAttributes;
  expect(parse.taskQueue?.name).toBe(parseTaskQueue(h.taskQueue));
  expect(parse.priority?.priorityKey).toBe(2);
  expect(parse.priority?.fairnessKey).toBe('solo');
});
