// One trace per ask: the HTTP request's server span is the root; the workflow start and run, the activities, the
// model and vector-store calls are its descendants (by parent links), and the answer carries the trace id. The
// worker, the HTTP API and its client run in this process, exporting to an in-memory exporter.
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { KeyStore } from '../../client/auth/key-store';
import { startHttpApi } from '../../client/http';
import type { HttpApi } from '../../client/http';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { installTestExporter, processTracing, shutdownTracing } from '../../common/tracing';
import { withTracing } from '../../workers/tracing';
import { eventually, startHarness, workflowBundle, writeTemp } from './harness';
import type { Harness } from './harness';

const exporter = new InMemorySpanExporter();
let h: Harness;
let api: HttpApi;
/** The traced ask's workflow, replayed by the last test. */
let tracedWorkflowId: string | undefined;

const QUESTION = 'When does the bike shed open?';
const TEXT = 'The bike shed opens at seven thirty every weekday.';

beforeAll(async () => {
  // Before the worker and the HTTP API start: they find this process's provider and add nothing else.
  installTestExporter(exporter);
  h = await startHarness({ GROUNDWORK_TRACING: 'on' });
  api = await startHttpApi(h.config, { port: 0 });
});

afterAll(async () => {
  await api?.close();
  await h?.stop();
  await shutdownTracing();
});

function parentOf(span: ReadableSpan, byId: Map<string, ReadableSpan>): ReadableSpan | undefined {
  return span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
}

/** The names from `span` up to the root, following parent links; fails on a link to a span that is not there. */
function ancestry(span: ReadableSpan, byId: Map<string, ReadableSpan>): string[] {
  const names = [span.name];
  let s: ReadableSpan | undefined = span;
  while (s?.parentSpanId) {
    const p = parentOf(s, byId);
    if (!p) throw new Error(`${s.name}: its parent ${s.parentSpanId} is not among the trace's spans`);
    names.push(p.name);
    s = p;
  }
  return names;
}

test('an HTTP ask is one trace: server span at the root, workflow, activities, model and store calls below it', async () => {
  const file = await writeTemp(h.dataDir, 'traceco/shed.md', `# Bike shed\n\n${TEXT}\n`);
  await h.client.ingest({ tenantId: 'traceco', documentId: 'shed.md', source: { kind: 'path', path: file } });
  const admin = (await KeyStore.forDataDir(h.dataDir).create({ tenant: 'traceco', role: 'admin' })).key;

  const res = await fetch(`${api.url}/v1/tenants/traceco/questions?wait=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
    body: JSON.stringify({ question: QUESTION, escalate: false }),
  });
  expect(res.status).toBe(200);
  const answer = (await res.json()) as { status: string; answer: string; traceId?: string; workflowId: string };
  tracedWorkflowId = answer.workflowId;
  expect(answer.status).toBe('answered');
  expect(answer.answer).toContain('seven thirty');

  const server = exporter
    .getFinishedSpans()
    .find((s) => s.name === 'POST /v1/tenants/{tenantId}/questions' && s.kind === SpanKind.SERVER);
  expect(server).toBeDefined();
  const traceId = server!.spanContext().traceId;
  expect(server!.parentSpanId).toBeUndefined();
  expect(server!.attributes).toMatchObject({
    'http.request.method': 'POST',
    'http.route': '/v1/tenants/{tenantId}/questions',
    'http.response.status_code': 200,
  });
  expect(answer.traceId).toBe(traceId);

  // Workflow spans reach the exporter through the worker's sink, after the workflow task that made them.
  const spans = await eventually(
    async () => {
      const inTrace = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
      return inTrace.some((s) => s.name === 'RunWorkflow:answerQuestion') ? inTrace : undefined;
    },
    15_000,
    'the workflow run span',
  );
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  if (process.env.TRACE_DUMP) for (const s of spans) process.stderr.write(`${ancestry(s, byId).join(' < ')}\n`);
  const named = (name: string) => spans.filter((s) => s.name === name);
  const one = (name: string) => {
    const found = named(name);
    expect(found.map((s) => s.name)).toEqual([name]);
    return found[0]!;
  };

  // Every span of the trace leads up to the HTTP server span, by parent links that all resolve.
  for (const s of spans) expect(ancestry(s, byId).at(-1)).toBe(server!.name);

  // The client starts the run with Update-with-Start (the span is named after the update), or a plain start.
  const starts = spans.filter((x) => /^(StartWorkflow:answerQuestion|UpdateWithStartWorkflow:\w+)$/.test(x.name));
  expect(starts).toHaveLength(1);
  const start = starts[0]!;
  expect(parentOf(start, byId)).toBe(server);
  const run = one('RunWorkflow:answerQuestion');
  expect(parentOf(run, byId)).toBe(start);

  const retrieve = one('RunActivity:retrieveChunks');
  expect(ancestry(retrieve, byId)).toEqual([
    'RunActivity:retrieveChunks',
    'StartActivity:retrieveChunks',
    'RunWorkflow:answerQuestion',
    start.name,
    server!.name,
  ]);
  const draft = one('RunActivity:generateDraft');
  expect(ancestry(draft, byId).slice(2)).toEqual(ancestry(retrieve, byId).slice(2));

  // The question is embedded and searched inside retrieveChunks; the draft's model call inside generateDraft.
  const embed = named('model.embed').find((s) => s.attributes['model.embed_kind'] === 'query');
  expect(embed).toBeDefined();
  expect(parentOf(embed!, byId)).toBe(retrieve);
  const search = one('store.search');
  expect(parentOf(search, byId)).toBe(retrieve);
  expect(search.attributes).toMatchObject({ 'store.kind': 'lancedb', 'tenant.id': 'traceco' });
  expect(search.attributes['store.results']).toBeGreaterThan(0);
  const modelAnswer = one('model.answer');
  expect(parentOf(modelAnswer, byId)).toBe(draft);

  // Neither the question nor the document's text is on any span of the trace.
  const everything = JSON.stringify(spans.map((s) => ({ n: s.name, a: s.attributes, e: s.events, st: s.status })));
  expect(everything).not.toContain('bike shed');
  expect(everything).not.toContain('seven thirty');
});

test('an ask started without a trace context (tracing off in the client) carries no trace id', async () => {
  const { GroundworkClient } = await import('../../client/groundwork-client');
  const plain = await GroundworkClient.fromConfig({ ...h.config, tracing: { enabled: false } });
  try {
    // Another question: the same one would start a new run under the traced run's workflow id (a business key).
    const question = 'At what time does the bike shed open on weekdays?';
    const result = await plain.ask({ tenantId: 'traceco', question, escalate: false });
    expect(result.status).toBe('answered');
    expect(result.traceId).toBeUndefined();
  } finally {
    await plain.close();
  }
});

test('the traced run replays without nondeterminism, with the tracing interceptors and without them', async () => {
  expect(tracedWorkflowId).toBeDefined();
  const history = await h.client.temporal.workflow.getHandle(tracedWorkflowId!).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  expect(Object.keys(started?.header?.fields ?? {})).toContain('_tracer-data');
  // As the traced worker ran it: the bundle with the interceptor module and the workflow-span sink.
  const traced = withTracing(processTracing(), {}, await workflowBundle());
  await Worker.runReplayHistory(
    { workflowBundle: await workflowBundle(), sinks: traced.sinks, replayName: 'traced' },
    history,
    tracedWorkflowId,
  );
  // A worker without tracing (no interceptor module in its bundle) replays the same history.
  const plain = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  });
  await Worker.runReplayHistory({ workflowBundle: plain, replayName: 'untraced' }, history, tracedWorkflowId);
});

test('the CLI with an OTLP endpoint sends its spans as groundwork-client, and its ask continues in the worker', async () => {
  const bodies: string[] = [];
  const sink = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      if (req.url === '/v1/traces') bodies.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = sink.address() as AddressInfo;
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: h.config.temporal.address,
      TEMPORAL_TASK_QUEUE: h.taskQueue,
      GROUNDWORK_DATA_DIR: h.dataDir,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    };
    const root = path.resolve(__dirname, '..', '..');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        require.resolve('tsx/cli'),
        'client/cli.ts',
        '--json',
        'ask',
        '--tenant',
        'traceco',
        '--no-escalate',
        'Is the bike shed open on weekdays?',
      ],
      { env, cwd: root, timeout: 120_000 },
    );
    const answer = JSON.parse(stdout) as { status: string; traceId?: string };
    expect(answer.status).toBe('answered');
    expect(answer.traceId).toMatch(/^[0-9a-f]{32}$/);

    // The CLI's own span (the workflow start) reached the OTLP endpoint, under the client's service name.
    const exported = bodies.map((b) => JSON.parse(b) as OtlpBody);
    const cliSpans = exported.flatMap((b) =>
      b.resourceSpans.flatMap((rs) =>
        rs.scopeSpans.flatMap((ss) => ss.spans.map((sp) => ({ ...sp, service: serviceOf(rs) }))),
      ),
    );
    const start = cliSpans.find((sp) => sp.traceId === answer.traceId);
    expect(start).toMatchObject({ service: 'groundwork-client' });
    expect(start!.name).toMatch(/^(StartWorkflow:answerQuestion|UpdateWithStartWorkflow:\w+)$/);
    // The worker (this process) ran the workflow as a child of that span.
    const run = await eventually(
      async () =>
        exporter
          .getFinishedSpans()
          .find((sp) => sp.name === 'RunWorkflow:answerQuestion' && sp.spanContext().traceId === answer.traceId),
      15_000,
      'the workflow run span of the CLI ask',
    );
    expect(run.parentSpanId).toBe(start!.spanId);
  } finally {
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  }
});

interface OtlpBody {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: { name: string; traceId: string; spanId: string }[] }[];
  }[];
}

function serviceOf(rs: OtlpBody['resourceSpans'][number]): string | undefined {
  return rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
}
