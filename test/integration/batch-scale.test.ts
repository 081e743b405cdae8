// A large batch on the real dev server: the document list travels by reference (a manifest in the blob store, read a
// page per run), each run continues as new after its page, and the failures it lists are bounded. Every run of the
// chain stays far below Temporal's history limits. GROUNDWORK_BATCH_SCALE sets the size (default 1,000; the README's
// 20,000 figure is this test with GROUNDWORK_BATCH_SCALE=20000).
import { temporal } from '@temporalio/proto';
import { MAX_BATCH_FAILURES_LISTED, batchFailures } from '../../workflows/definitions';
import { startHarness, writeTemp } from './harness';
import type { Harness } from './harness';

const DOCUMENTS = Number(process.env.GROUNDWORK_BATCH_SCALE ?? 1000);
const REAL = 10;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ GROUNDWORK_INGEST_CONCURRENCY: '32' });
});
afterAll(async () => h?.stop());

test(`a batch of ${DOCUMENTS} documents keeps every run under 10k events and every payload under 2 MB`, async () => {
  const files: string[] = [];
  for (let i = 0; i < REAL; i++)
    files.push(await writeTemp(h.dataDir, `scale/real-${i}.md`, `# Real ${i}\n\nText ${i}.\n`));
  // The rest name files that do not exist: each fails fast with SOURCE_NOT_FOUND, which is what a batch of this size
  // on a small test machine can afford, and what fills the failure list the batch must bound.
  const missing = `${files[0]!.slice(0, files[0]!.lastIndexOf('/'))}/missing`;
  for (let i = REAL; i < DOCUMENTS; i++) files.push(`${missing}-${i}.md`);

  const handle = await h.client.startIngestBatch('scale', files, 32);
  const result = await handle.result();
  expect(result.total).toBe(DOCUMENTS);
  expect(result.ingested).toBe(REAL);
  expect(batchFailures(result)).toBe(DOCUMENTS - REAL);
  expect(result.failed.length).toBe(Math.min(MAX_BATCH_FAILURES_LISTED, DOCUMENTS - REAL));
  expect(result.failed[0]?.code).toBe('SOURCE_NOT_FOUND');

  // Every run of the chain: its events and its largest payload.
  const runs: { events: number; largestPayload: number }[] = [];
  for await (const wf of h.client.temporal.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) {
    const history = await h.client.temporal.workflow.getHandle(handle.workflowId, wf.runId).fetchHistory();
    const events = history.events ?? [];
    let largestPayload = 0;
    for (const e of events) {
      const bytes = temporal.api.history.v1.HistoryEvent.encode(e).finish().length;
      largestPayload = Math.max(largestPayload, bytes);
    }
    runs.push({ events: events.length, largestPayload });
  }
  expect(runs.length).toBe(Math.ceil(DOCUMENTS / 100));
  const maxEvents = Math.max(...runs.map((r) => r.events));
  const maxPayload = Math.max(...runs.map((r) => r.largestPayload));
  process.stdout.write(
    `[batch-scale] ${DOCUMENTS} documents: ${runs.length} runs, at most ${maxEvents} events per run, largest event ${(maxPayload / 1024).toFixed(1)} KB\n`,
  );
  expect(maxEvents).toBeLessThan(10_000);
  expect(maxPayload).toBeLessThan(2 * 1024 * 1024);
  // The list itself never enters history: the first run's input is a reference, not the documents.
  expect(maxPayload).toBeLessThan(256 * 1024);
}, 1_800_000);
