// Tracing setup: when configuration turns it on, what a process exports over OTLP HTTP (to an endpoint served by this
// test), the HTTP request span, and the trace id a workflow reads from its start's header.
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SpanKind, context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { defaultPayloadConverter } from '@temporalio/common';
import { ConfigError, loadConfig } from '../../common/config';
import {
  flushTracing,
  inSpan,
  installTestExporter,
  otlpTracesUrl,
  shutdownTracing,
  startTracing,
  traceHttpRequest,
  tracingActive,
} from '../../common/tracing';
import { TRACE_HEADER, traceIdFromHeaders } from '../../workflows/trace-context';

afterEach(() => shutdownTracing());

interface Received {
  path: string;
  contentType: string;
  body: string;
}

async function otlpReceiver(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        contentType: String(req.headers['content-type']),
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('configuration', () => {
  // loadConfig only resolves the data dir; nothing is written there.
  const base = { GROUNDWORK_DATA_DIR: path.join(os.tmpdir(), 'gw-tracing-test') };
  test('tracing is off by default, on with an OTLP endpoint or GROUNDWORK_TRACING=on, and off wins', () => {
    expect(loadConfig(base).tracing).toEqual({ enabled: false, endpoint: undefined, serviceName: undefined });
    expect(loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' }).tracing).toEqual({
      enabled: true,
      endpoint: 'http://jaeger:4318',
      serviceName: undefined,
    });
    expect(loadConfig({ ...base, GROUNDWORK_TRACING: 'on', OTEL_SERVICE_NAME: 'gw-a' }).tracing).toMatchObject({
      enabled: true,
      serviceName: 'gw-a',
    });
    expect(
      loadConfig({ ...base, GROUNDWORK_TRACING: 'off', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' }).tracing
        .enabled,
    ).toBe(false);
  });

  test('a bad tracing setting is a ConfigError naming the variable', () => {
    expect(() => loadConfig({ ...base, GROUNDWORK_TRACING: 'yes' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, GROUNDWORK_TRACING: 'yes' })).toThrow(/GROUNDWORK_TRACING must be on or off/);
    expect(() => loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'jaeger:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT must be an http\(s\) URL/,
    );
  });
});

test('with tracing off nothing is set up and a request is handled without a span', async () => {
  expect(startTracing({ enabled: false, endpoint: 'http://127.0.0.1:1' }, 'worker')).toBeUndefined();
  expect(tracingActive()).toBe(false);
  let seen: unknown = 'not called';
  await traceHttpRequest('GET', {}, async (span) => {
    seen = span;
  });
  expect(seen).toBeUndefined();
  expect(trace.getSpan(context.active())).toBeUndefined();
});

test('spans go to <endpoint>/v1/traces over OTLP HTTP, under the default service name', async () => {
  const otlp = await otlpReceiver();
  try {
    const t = startTracing({ enabled: true, endpoint: `${otlp.url}/` }, 'worker');
    expect(t?.exporting).toBe(true);
    // A second start (the HTTP API in the same process) shares the provider and adds no second exporter.
    expect(startTracing({ enabled: true, endpoint: otlp.url, serviceName: 'ignored' }, 'http')).toBe(t);
    await inSpan('unit.work', { 'work.items': 3 }, async () => undefined);
    await flushTracing();
    expect(otlp.received).toHaveLength(1);
    const [req] = otlp.received;
    expect(req!.path).toBe('/v1/traces');
    expect(req!.contentType).toContain('application/json');
    const body = JSON.parse(req!.body) as {
      resourceSpans: {
        resource: { attributes: { key: string; value: { stringValue?: string } }[] };
        scopeSpans: { spans: { name: string; traceId: string }[] }[];
      }[];
    };
    const rs = body.resourceSpans[0]!;
    expect(rs.resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'groundwork-worker' } });
    expect(rs.scopeSpans.flatMap((s) => s.spans.map((sp) => sp.name))).toEqual(['unit.work']);
  } finally {
    await otlp.close();
  }
});

test('OTEL_SERVICE_NAME names the service', async () => {
  const otlp = await otlpReceiver();
  try {
    startTracing({ enabled: true, endpoint: otlp.url, serviceName: 'groundwork-api-eu' }, 'http');
    await inSpan('unit.work', {}, async () => undefined);
    await flushTracing();
    expect(otlp.received.map((r) => r.body).join('')).toContain('"groundwork-api-eu"');
  } finally {
    await otlp.close();
  }
});

test('otlpTracesUrl appends the signal path once', () => {
  expect(otlpTracesUrl('http://c:4318')).toBe('http://c:4318/v1/traces');
  expect(otlpTracesUrl('http://c:4318/otlp/')).toBe('http://c:4318/otlp/v1/traces');
});

test('an HTTP request span is named by its route, carries the status, continues a caller traceparent and is active inside', async () => {
  const exporter = new InMemorySpanExporter();
  installTestExporter(exporter);
  const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
  let inner: string | undefined;
  await traceHttpRequest('POST', { traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` }, async (span) => {
    span?.route('/v1/tenants/{tenantId}/questions');
    await inSpan('child', {}, async () => undefined);
    inner = trace.getSpan(context.active())?.spanContext().spanId;
    span?.status(200);
  });
  const [child, server] = exporter.getFinishedSpans();
  expect(server!.name).toBe('POST /v1/tenants/{tenantId}/questions');
  expect(server!.kind).toBe(SpanKind.SERVER);
  expect(server!.attributes).toEqual({
    'http.request.method': 'POST',
    'http.route': '/v1/tenants/{tenantId}/questions',
    'http.response.status_code': 200,
  });
  expect(server!.spanContext().traceId).toBe(callerTrace);
  expect(server!.parentSpanId).toBe('00f067aa0ba902b7');
  expect(child!.parentSpanId).toBe(server!.spanContext().spanId);
  expect(inner).toBe(server!.spanContext().spanId);
});

test('a workflow reads its trace id from the W3C context in the interceptor header, and nothing from a bad one', () => {
  const header = (carrier: unknown) => ({ [TRACE_HEADER]: defaultPayloadConverter.toPayload(carrier) });
  const id = '0af7651916cd43dd8448eb211c80319c';
  expect(traceIdFromHeaders(header({ traceparent: `00-${id}-b7ad6b7169203331-01` }))).toBe(id);
  expect(traceIdFromHeaders({})).toBeUndefined();
  expect(traceIdFromHeaders(header({}))).toBeUndefined();
  expect(traceIdFromHeaders(header({ traceparent: 'garbage' }))).toBeUndefined();
  expect(traceIdFromHeaders(header({ traceparent: `00-${'0'.repeat(32)}-b7ad6b7169203331-01` }))).toBeUndefined();
});
