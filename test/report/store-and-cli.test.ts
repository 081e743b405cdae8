// Run records and reports on a real data dir: saveEvaluation (through MockActivityEnvironment) keeps each run's
// record and writes <dataDir>/evaluations/<tenant>/reports/<runId>.html; `groundwork eval report` writes the page
// from the same records, with the cost per query from the usage ledger.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createEvaluationActivities } from '../../activities/evaluation';
import { EvaluationStore } from '../../activities/evaluation-store';
import { UsageLedger } from '../../activities/ledger';
import { writeEvaluationReport } from '../../client/cli-eval-report';
import { main } from '../../client/cli';
import { metrics, report, result } from './fixtures';

let dataDir: string;
let store: EvaluationStore;
beforeEach(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'groundwork-report-'));
  store = new EvaluationStore(path.join(dataDir, 'evaluations'));
});
afterEach(async () => fs.rm(dataDir, { recursive: true, force: true }));

const env = (runId = 'activity-run'): MockActivityEnvironment =>
  new MockActivityEnvironment(
    { workflowExecution: { workflowId: 'evaluate:acme', runId } },
    { logger: new DefaultLogger('ERROR') },
  );

const polylinePoints = (html: string): number[] =>
  [...html.matchAll(/<polyline[^>]* points="([^"]*)"/g)].map((m) => (m[1] ?? '').trim().split(/\s+/).length);

test('each saved evaluation keeps its record and writes its report, which charts every run so far', async () => {
  const acts = createEvaluationActivities({ store });
  const runs = [
    {
      key: 'run-a',
      day: '01',
      results: [result('q1', 0.9, true), result('q2', 0.8, true), result('<b>q3</b>', 0.3, false)],
    },
    {
      key: 'run-b',
      day: '02',
      results: [result('q1', 0.9, true), result('q2', 0.7, false), result('<b>q3</b>', 0.6, false)],
    },
  ];
  for (const r of runs) {
    // The pages keep every result under the run key; the report lists the failures only.
    await store.appendRunResults('acme', r.key, r.results);
    const failures = r.results.filter((x) => !x.correct);
    const correct = r.results.length - failures.length;
    await env().run(acts.saveEvaluation, {
      report: report({
        runAt: `2026-01-${r.day}T00:00:00.000Z`,
        metrics: metrics({ questions: 3, answerAccuracy: correct / 3 }),
        results: failures,
        ...(r.key === 'run-b' ? { baseline: metrics({ questions: 3, answerAccuracy: 2 / 3 }) } : {}),
      }),
      setBaseline: r.key === 'run-a',
      run: { runKey: r.key, threshold: 0.5, driftTolerance: 0.1 },
    });
  }
  const records = await store.runRecords('acme');
  expect(records.map((r) => r.runId)).toEqual(['run-a', 'run-b']);
  // Served (≥ 0.5) and wrong: q2 and q3 of run b.
  expect(records[1]?.servedWrongRate).toBeCloseTo(2 / 3);
  expect(records[1]?.outcomes).toHaveLength(3);
  expect(records[1]?.worst.map((q) => q.question)).toEqual(['q2', '<b>q3</b>']);

  const first = await fs.readFile(path.join(dataDir, 'evaluations', 'acme', 'reports', 'run-a.html'), 'utf8');
  const second = await fs.readFile(path.join(dataDir, 'evaluations', 'acme', 'reports', 'run-b.html'), 'utf8');
  // Run a's report had one run: dots, no lines, and its risk–coverage curve (three confidences).
  expect(polylinePoints(first)).toEqual([3]);
  // Run b's: five metrics over two runs, and its curve.
  expect(polylinePoints(second)).toEqual([2, 2, 2, 2, 2, 3]);
  expect(second).toContain('&lt;b&gt;q3&lt;/b&gt;');
  expect(second).not.toContain('<b>q3');
  expect(second).toMatch(/<tr class="drift"><td>Accuracy<\/td>/);
});

test('a run started before reports (no run context) is kept under the activity run id, from its report', async () => {
  const acts = createEvaluationActivities({ store });
  await env('legacy-run').run(acts.saveEvaluation, {
    // The unpaged path: the report lists every result.
    report: report({
      metrics: metrics({ questions: 2 }),
      results: [result('a', 0.9, true), result('b', 0.1, false)],
      resultsScope: undefined,
    }),
    setBaseline: true,
  });
  const [record] = await store.runRecords('acme');
  expect(record?.runId).toBe('legacy-run');
  // Threshold unknown: served-wrong cannot be said; the outcomes are known, the report listing every result.
  expect(record?.servedWrongRate).toBeNull();
  expect(record?.outcomes).toEqual([
    [0.9, 1],
    [0.1, 0],
  ]);
  expect(record?.threshold).toBeNull();
  await expect(fs.stat(path.join(dataDir, 'evaluations', 'acme', 'reports', 'legacy-run.html'))).resolves.toBeTruthy();
});

test('writeEvaluationReport writes a page for a tenant without runs, with the cost per query from the ledger', async () => {
  const ledger = UsageLedger.inDataDir(dataDir);
  const now = new Date('2026-03-10T00:00:00.000Z');
  for (const [wf, cost] of [
    ['answer:1', 0.002],
    ['answer:1', 0.001],
    ['answer:2', 0.003],
  ] as const)
    await ledger.record({
      at: '2026-03-09T00:00:00.000Z',
      tenantId: 'acme',
      kind: 'chat',
      model: 'm',
      tokens: { embedding: 0, prompt: 10, completion: 5 },
      latencyMs: 5,
      costUsd: cost,
      priced: true,
      workflowId: wf,
      workflowType: 'answerQuestion',
    });
  const out = path.join(dataDir, 'out', 'report.html');
  const r = await writeEvaluationReport({ dataDir, tenantId: 'acme', out, driftTolerance: 0.1, now });
  expect(r).toMatchObject({ file: out, runs: 0 });
  const html = await fs.readFile(out, 'utf8');
  expect(r.bytes).toBe(Buffer.byteLength(html));
  expect(html).toContain('No evaluation runs are recorded for this tenant yet');
  // (0.002 + 0.001 + 0.003) / 2 answers.
  expect(html).toContain('$0.003000');
  const other = await writeEvaluationReport({ dataDir, tenantId: 'beta', out, driftTolerance: 0.1, now });
  expect(other.runs).toBe(0);
  expect(await fs.readFile(out, 'utf8')).toContain('not recorded — the usage ledger has no model calls');
});

test('with a limit, the latest runs (by run time) are read, oldest first', async () => {
  for (const [i, day] of ['03', '01', '02'].entries()) {
    await store.saveRunRecord({
      runId: `r${i}`,
      tenantId: 'acme',
      runAt: `2026-01-${day}T00:00:00.000Z`,
      metrics: metrics(),
      drift: { detected: false, reasons: [] },
      threshold: 0.5,
      driftTolerance: 0.1,
      servedWrongRate: 0,
      outcomes: null,
      worst: [],
    });
  }
  expect((await store.runRecords('acme')).map((r) => r.runId)).toEqual(['r1', 'r2', 'r0']);
  expect((await store.runRecords('acme', { limit: 2 })).map((r) => r.runId)).toEqual(['r2', 'r0']);
});

test('a bad tenant id is refused with INVALID_TENANT', async () => {
  await expect(
    writeEvaluationReport({ dataDir, tenantId: '../etc', out: path.join(dataDir, 'x.html'), driftTolerance: 0.1 }),
  ).rejects.toMatchObject({ code: 'INVALID_TENANT' });
});

test('groundwork eval report --tenant --out writes the file and says where', async () => {
  const previous = process.env.GROUNDWORK_DATA_DIR;
  process.env.GROUNDWORK_DATA_DIR = dataDir;
  const writes: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    writes.push(String(chunk));
    return true;
  });
  const out = path.join(dataDir, 'cli.html');
  try {
    const code = await main(['node', 'groundwork', '--json', 'eval', 'report', '--tenant', 'acme', '--out', out]);
    expect(code).toBe(0);
  } finally {
    spy.mockRestore();
    process.exitCode = 0;
    if (previous === undefined) delete process.env.GROUNDWORK_DATA_DIR;
    else process.env.GROUNDWORK_DATA_DIR = previous;
  }
  expect(JSON.parse(writes.join(''))).toMatchObject({ file: out, runs: 0 });
  expect(await fs.readFile(out, 'utf8')).toContain('<!doctype html>');
});
