// Evaluation reports end to end: real evaluations on the dev server (two on demand, one from the tenant's Schedule)
// each store <dataDir>/evaluations/<tenant>/reports/<runId>.html; `groundwork eval report` writes the tenant's page;
// the system Chromium (headless, playwright-core, every non-file request aborted) opens it and finds the charts
// drawn, the drift flagged, a hostile golden question inert, and no console error. Screenshot in test-artifacts/.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { EvaluationStore } from '../../activities/evaluation-store';
import { KeyStore } from '../../client/auth/key-store';
import { startHttpApi } from '../../client/http';
import { writeEvaluationReport } from '../../client/cli-eval-report';
import { riskCoverageOf } from '../../client/report/model';
import type { GoldenQuestion } from '../../workflows/definitions';
import { eventually, startHarness, writeTemp } from './harness';
import type { Harness } from './harness';

const CHROMIUM = process.env.GROUNDWORK_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts', 'evaluation-report');
const TENANT = 'reportco';
const HOSTILE = 'When are expenses due <script>alert("x")</script><img src=x onerror=alert(2)>?';

const golden: GoldenQuestion[] = [
  {
    question: 'How many days do employees have to submit expense reports?',
    expectedDocuments: ['expenses.md'],
    expectedAnswerContains: '30 days',
  },
  { question: 'What colour are the meeting room chairs?', expectAnswer: false },
  // Cites a document the tenant does not have: always wrong, so it is listed among the worst questions.
  { question: HOSTILE, expectedDocuments: ['missing.md'] },
];

let h: Harness;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`No Chromium at ${CHROMIUM}: install Debian's chromium package (apt-get install -y chromium).`);
  await fs.mkdir(ARTIFACTS, { recursive: true });
  h = await startHarness();
  const file = await writeTemp(
    h.dataDir,
    `${TENANT}/expenses.md`,
    '# Expenses\n\nExpense reports must be submitted within 30 days of purchase.\n',
  );
  await h.client.ingest({ tenantId: TENANT, documentId: 'expenses.md', source: { kind: 'path', path: file } });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

/** The run ids of the tenant's completed evaluations (their first run ids: none of these continue as new). */
async function completedRuns(): Promise<{ workflowId: string; runId: string }[]> {
  const out: { workflowId: string; runId: string }[] = [];
  for await (const wf of h.client.temporal.workflow.list({
    query: `WorkflowType = 'evaluateTenant' AND TenantId = '${TENANT}' AND ExecutionStatus = 'Completed'`,
  }))
    out.push({ workflowId: wf.workflowId, runId: wf.runId });
  return out;
}

const reportsDir = (): string => path.join(h.dataDir, 'evaluations', TENANT, 'reports');

test('every evaluation run stores its HTML report; the CLI writes the page; Chromium draws it offline', async () => {
  // Run 1 sets the baseline; then the source stops answering the question, and runs 2 (on demand) and 3 (from the
  // Schedule) drift.
  const first = await h.client.runEvaluation({ tenantId: TENANT, golden, setBaseline: true });
  expect(first.drift.detected).toBe(false);
  const file = await writeTemp(
    h.dataDir,
    `${TENANT}/expenses.md`,
    '# Expenses\n\nThe kitchen is cleaned every evening.\n',
  );
  await h.client.ingest({ tenantId: TENANT, documentId: 'expenses.md', source: { kind: 'path', path: file } });
  const second = await h.client.runEvaluation({ tenantId: TENANT, golden });
  expect(second.drift.detected).toBe(true);

  await h.client.scheduleEvaluation({ tenantId: TENANT, golden, every: '1h' });
  let scheduled: { workflowId: string; runId: string };
  try {
    await h.client.triggerEvaluation(TENANT);
    scheduled = await eventually(
      async () => (await completedRuns()).find((r) => r.workflowId.startsWith(`evaluate:${TENANT}:scheduled`)),
      90_000,
      'the scheduled evaluation run to complete',
    );
  } finally {
    await h.client.deleteEvaluationSchedule(TENANT);
  }

  // Each run stored its own report, named by its run id.
  const runs = await completedRuns();
  expect(runs).toHaveLength(3);
  const stored = (await fs.readdir(reportsDir())).sort();
  expect(stored).toEqual(runs.map((r) => `${r.runId}.html`).sort());
  const store = new EvaluationStore(path.join(h.dataDir, 'evaluations'));
  const records = await store.runRecords(TENANT);
  expect(records.map((r) => r.runId).at(-1)).toBe(scheduled.runId);
  expect(records.map((r) => r.drift.detected)).toEqual([false, true, true]);
  for (const r of records) {
    expect(r.outcomes).toHaveLength(3);
    expect(r.threshold).not.toBeNull();
  }
  // The scheduled run's report charts all three runs (five metrics, three points each) and its curve.
  const scheduledHtml = await fs.readFile(path.join(reportsDir(), `${scheduled.runId}.html`), 'utf8');
  expect(scheduledHtml.match(/<polyline class="series" data-points="3"/g)?.length).toBeGreaterThanOrEqual(5);

  // The CLI's function writes the tenant's page.
  const out = path.join(h.dataDir, 'out', 'report.html');
  const written = await writeEvaluationReport({ dataDir: h.dataDir, tenantId: TENANT, out, driftTolerance: 0.1 });
  expect(written.runs).toBe(3);
  const last = records.at(-1)!;
  const curvePoints = riskCoverageOf(last.outcomes!).length;

  // In the browser, with the network off: every request but the file itself is aborted.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const blocked: string[] = [];
  const consoleErrors: string[] = [];
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  try {
    await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
    const lines = await page.$$eval('svg polyline.series', (els) =>
      els.map((el) => {
        // The DOM types are not in this project's lib: the parts used here.
        const line = el as unknown as {
          points: { numberOfItems: number };
          getBoundingClientRect(): { width: number; height: number };
          closest(selector: string): { getAttribute(name: string): string | null } | null;
        };
        const box = line.getBoundingClientRect();
        const metric = line.closest('figure')?.getAttribute('data-metric') ?? 'risk-coverage';
        return { metric, points: line.points.numberOfItems, width: box.width, height: box.height };
      }),
    );
    expect(lines.map((l) => [l.metric, l.points])).toEqual([
      ['answerAccuracy', 3],
      ['abstentionAccuracy', 3],
      ['servedWrongRate', 3],
      ['escalationRate', 3],
      ['meanConfidence', 3],
      ['risk-coverage', curvePoints],
    ]);
    // Every line is laid out across the chart; accuracy fell, so its line also has height.
    for (const l of lines.slice(0, 5)) expect(l.width).toBeGreaterThan(100);
    expect(lines[0]?.height).toBeGreaterThan(0);
    if (curvePoints > 1) expect(lines[5]!.width + lines[5]!.height).toBeGreaterThan(0);
    // The drift is flagged in the banner and the baseline table.
    expect(await page.locator('#drift').textContent()).toMatch(/Drift detected.*answerAccuracy fell/);
    expect(await page.locator('table.baseline tr.drift td').first().textContent()).toBe('Accuracy');
    // The hostile question is text in the worst-questions table, not markup.
    expect(await page.locator('table.worst td.question', { hasText: '<script>' }).count()).toBe(1);
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('main img').count()).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report.png'), fullPage: true });
  } finally {
    await context.close();
  }
  expect(blocked).toEqual([]);
  expect(consoleErrors).toEqual([]);
  expect(pageErrors).toEqual([]);
  expect(dialogs).toEqual([]);

  // The same page over HTTP, for an admin of the tenant only, under a CSP that lets nothing load.
  const api = await startHttpApi(h.config, { port: 0 });
  try {
    const keys = KeyStore.forDataDir(h.dataDir);
    const admin = (await keys.create({ tenant: TENANT, role: 'admin', name: 'ops' })).key;
    const reader = (await keys.create({ tenant: TENANT, role: 'reader', name: 'rae' })).key;
    const url = `${api.url}/v1/tenants/${TENANT}/evaluations/report`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${admin}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    );
    const html = await res.text();
    expect([...html.matchAll(/<polyline class="series" data-points="(\d+)"/g)].map((m) => Number(m[1]))).toEqual([
      3,
      3,
      3,
      3,
      3,
      curvePoints,
    ]);
    expect(html).not.toMatch(/<script/i);
    expect((await fetch(url, { headers: { authorization: `Bearer ${reader}` } })).status).toBe(403);
  } finally {
    await api.close();
  }
});
