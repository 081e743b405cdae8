// Prometheus metrics end to end: a real worker (its /metrics on a free port) and the HTTP API against the shared dev
// server; one document ingested, one question asked through the API (it escalates: the tenant's threshold is 0.99),
// the review decided; then both /metrics endpoints are read and the series checked.
import { KeyStore } from '../../client/auth/key-store';
import { startHttpApi } from '../../client/http';
import type { HttpApi } from '../../client/http';
import { makeTextPdf } from '../support/documents';
import { eventually, startHarness, writeTemp } from './harness';
import type { Harness } from './harness';

const TENANT = 'metricsco';
let h: Harness;
let api: HttpApi;
let rootKey: string;

beforeAll(async () => {
  h = await startHarness({ GROUNDWORK_TENANT_THRESHOLDS: `${TENANT}=0.99` });
  api = await startHttpApi(h.config, { port: 0 });
  rootKey = (await KeyStore.forDataDir(h.dataDir).create({ tenant: '*', role: 'admin', name: 'prometheus' })).key;
});
afterAll(async () => {
  await api?.close();
  await h?.stop();
});

// A question the document does not answer: the draft's confidence stays under the tenant's 0.99, so it escalates.
/** The value of one series in Prometheus text: name{labels} value (labels in the order prom-client writes them). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function workerMetrics(): Promise<string> {
  const url = h.worker.metrics.url;
  if (!url) throw new Error('the worker serves no /metrics');
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return res.text();
}

test('after one ingest and one question, the worker and the HTTP API serve the series on /metrics', async () => {
  expect(h.worker.metrics.port).toBeGreaterThan(0);
  expect(h.worker.metrics.port).not.toBe(9464);

  const pdf = await makeTextPdf([
    ['Policy', 'Parking spaces are assigned by the facilities team.'],
    ['The office closes at 19:00 on Fridays.'],
  ]);
  const file = await writeTemp(h.dataDir, `${TENANT}/handbook.pdf`, pdf);
  const ingested = await h.client.ingest({
    tenantId: TENANT,
    documentId: 'handbook.pdf',
    source: { kind: 'path', path: file },
  });
  expect(ingested.status).toBe('ingested');

  const res = await fetch(`${api.url}/v1/tenants/${TENANT}/questions?wait=true`, {
    method: 'POST',
    headers: { authorization: `Bearer ${rootKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ question: 'Who cleans the parking spaces on Sundays?' }),
  });
  expect(res.status).toBe(200);
  const asked = (await res.json()) as { status: string; reviewTaskId?: string };
  expect(asked.status).toBe('escalated');

  // The review backlog is counted through visibility, which lags the start of the task a little.
  const scraped = await eventually(
    async () => {
      const text = await workerMetrics();
      const open = sample(text, 'groundwork_review_backlog{status="open"}');
      // The task's opening notice (counted as the escalation) is an activity of its own, started, not awaited.
      return open === 1 && sample(text, 'groundwork_escalations_total{reason="low_confidence"}') === 1
        ? text
        : undefined;
    },
    30_000,
    'the open review task in groundwork_review_backlog and groundwork_escalations_total',
  );
  expect(sample(scraped, 'groundwork_ingest_documents_total{status="ingested",code=""}')).toBe(1);
  expect(sample(scraped, 'groundwork_ingest_pages_total')).toBe(2);
  expect(sample(scraped, 'groundwork_ingest_seconds_count')).toBe(1);
  const answers = scraped
    .split('\n')
    .filter((l) => /^groundwork_answers_total\{status="(answered|not_found)"\} /.test(l));
  expect(answers.reduce((n, l) => n + Number(l.split(' ')[1]), 0)).toBeGreaterThanOrEqual(1);
  expect(sample(scraped, 'groundwork_answer_seconds_count')).toBeGreaterThanOrEqual(1);
  expect(sample(scraped, 'groundwork_answer_seconds_sum')).toBeGreaterThan(0);
  expect(sample(scraped, 'groundwork_answer_confidence_count')).toBeGreaterThanOrEqual(1);
  expect(sample(scraped, 'groundwork_escalations_total{reason="low_confidence"}')).toBe(1);
  expect(sample(scraped, 'groundwork_review_backlog{status="claimed"}')).toBe(0);
  // No tenant label unless GROUNDWORK_METRICS_TENANT_LABEL=true.
  expect(scraped).not.toContain(TENANT);
  // Process metrics, and the Temporal SDK's own series through the same endpoint.
  expect(sample(scraped, 'groundwork_process_resident_memory_bytes')).toBeGreaterThan(0);
  expect(h.worker.metrics.temporalSdk).toBe(true);
  expect(scraped).toMatch(/^temporal_workflow_task_execution_latency_bucket\{.*\} \d+/m);
  expect(scraped).toMatch(/^temporal_activity_execution_latency_count\{.*activity_type="generateDraft".*\} [1-9]/m);

  // The decision's time from the task opening.
  await h.client.approve(TENANT, asked.reviewTaskId ?? '', 'rita');
  const decided = await eventually(
    async () => {
      const text = await workerMetrics();
      return sample(text, 'groundwork_review_decision_seconds_count{decision="approved"}') === 1 ? text : undefined;
    },
    30_000,
    'the decision in groundwork_review_decision_seconds',
  );
  expect(sample(decided, 'groundwork_review_decision_seconds_sum{decision="approved"}')).toBeGreaterThan(0);

  // The HTTP API: admin-only, the ask counted by its route template, never by its raw path.
  expect((await fetch(`${api.url}/metrics`)).status).toBe(401);
  const http = await fetch(`${api.url}/metrics`, { headers: { authorization: `Bearer ${rootKey}` } });
  expect(http.status).toBe(200);
  const httpText = await http.text();
  expect(
    sample(
      httpText,
      'groundwork_http_requests_total{method="POST",route="/v1/tenants/{tenantId}/questions",status="200"}',
    ),
  ).toBe(1);
  expect(httpText).toMatch(
    /^groundwork_http_request_seconds_count\{method="POST",route="\/v1\/tenants\/\{tenantId\}\/questions"\} 1$/m,
  );
  expect(sample(httpText, 'groundwork_http_requests_total{method="GET",route="/metrics",status="401"}')).toBe(1);
  expect(httpText).not.toContain(`/v1/tenants/${TENANT}`);
  expect(sample(httpText, 'groundwork_process_cpu_seconds_total')).toBeGreaterThan(0);
});
