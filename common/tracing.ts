// OpenTelemetry tracing: one tracer provider per process (AsyncLocalStorage context, W3C trace-context propagation),
// exporting over OTLP HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set; tests attach an in-memory exporter instead. Nothing
// here runs, and no span is made, until a process entry (worker, HTTP API) or a test starts tracing.
import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan, SpanExporter, SpanProcessor, Span as SdkSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** What common/config.ts derives from GROUNDWORK_TRACING, OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME. */
export interface TracingConfig {
  /** On when GROUNDWORK_TRACING=on, or when OTEL_EXPORTER_OTLP_ENDPOINT is set (unless GROUNDWORK_TRACING=off). */
  enabled: boolean;
  /** OTLP HTTP base URL (spans go to <endpoint>/v1/traces); unset: spans are made (trace ids, tests) but not sent. */
  endpoint?: string;
  /**
   * OTEL_SERVICE_NAME; unset: groundwork-worker, groundwork-http or groundwork-client (the CLI), after the part of the
   * process that starts tracing first.
   */
  serviceName?: string;
}

export const TRACER_NAME = 'groundwork';

/** Forwards to a list that can grow after the provider is registered (the OTLP exporter, a test's exporter). */
class FanOutSpanProcessor implements SpanProcessor {
  readonly processors: SpanProcessor[] = [];
  onStart(span: SdkSpan, parent: Context): void {
    for (const p of this.processors) p.onStart(span, parent);
  }
  onEnd(span: ReadableSpan): void {
    for (const p of this.processors) p.onEnd(span);
  }
  async forceFlush(): Promise<void> {
    await Promise.all(this.processors.map((p) => p.forceFlush()));
  }
  async shutdown(): Promise<void> {
    await Promise.all(this.processors.map((p) => p.shutdown()));
  }
}

export interface ProcessTracing {
  provider: NodeTracerProvider;
  resource: Resource;
  /** Every span of the process goes through it; the worker's workflow-span sink feeds it too. */
  spanProcessor: SpanProcessor;
  /** True when spans are sent to an OTLP endpoint. */
  exporting: boolean;
}

let current: (ProcessTracing & { fanOut: FanOutSpanProcessor }) | undefined;

/** Whether this process makes spans: cheap enough to ask on every request. */
export function tracingActive(): boolean {
  return current !== undefined;
}

export function processTracing(): ProcessTracing | undefined {
  return current;
}

export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

function ensureProvider(serviceName: string): ProcessTracing & { fanOut: FanOutSpanProcessor } {
  if (current) return current;
  const resource = new Resource({ 'service.name': serviceName });
  const fanOut = new FanOutSpanProcessor();
  const provider = new NodeTracerProvider({ resource, spanProcessors: [fanOut] });
  // Registers the AsyncLocalStorage context manager and the W3C trace-context propagator globally.
  provider.register();
  current = { provider, resource, spanProcessor: fanOut, exporting: false, fanOut };
  return current;
}

/** The OTLP HTTP traces URL for a base endpoint, as the OpenTelemetry specification builds it. */
export function otlpTracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * Starts tracing for this process when the configuration turns it on; idempotent (a worker and the HTTP API in one
 * process share the provider, named after the first). Returns undefined when tracing is off.
 */
export function startTracing(config: TracingConfig, role: 'worker' | 'http' | 'client'): ProcessTracing | undefined {
  if (!config.enabled) return current;
  const t = ensureProvider(config.serviceName ?? `groundwork-${role}`);
  if (config.endpoint && !t.exporting) {
    t.fanOut.processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: otlpTracesUrl(config.endpoint) })));
    t.exporting = true;
  }
  return t;
}

/** Tests: make spans in this process and hand each one, when it ends, to `exporter` (e.g. an InMemorySpanExporter). */
export function installTestExporter(exporter: SpanExporter, serviceName = 'groundwork-test'): ProcessTracing {
  const t = ensureProvider(serviceName);
  t.fanOut.processors.push(new SimpleSpanProcessor(exporter));
  return t;
}

/** Sends what is buffered (batch export); a no-op when tracing is off. */
export async function flushTracing(): Promise<void> {
  await current?.provider.forceFlush();
}

/** Flushes, stops the exporters and unregisters the provider, so a later startTracing begins afresh. */
export async function shutdownTracing(): Promise<void> {
  const t = current;
  if (!t) return;
  current = undefined;
  await t.provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
}

/** Ends `span` with the outcome of `fn`: an error is recorded (its class and message) and the status set to ERROR. */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return tracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      recordError(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** The error's class, code and message on the span; messages of our errors never hold tenant text. */
export function recordError(span: Span, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (err as { code?: unknown } | null)?.code;
  span.recordException({ name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) });
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
  if (typeof code === 'string') span.setAttribute('error.type', code);
  else span.setAttribute('error.type', e.name);
}

/** The server span of one HTTP request, named and finished by the server as it learns the route and the status. */
export interface RequestSpan {
  route(template: string): void;
  status(code: number): void;
}

/**
 * Runs one HTTP request's handling inside a server span (so the workflows it starts are its children), honouring a
 * W3C `traceparent` from the caller. Without tracing, `fn` runs as is, with no span.
 */
export async function traceHttpRequest(
  method: string,
  headers: Record<string, string | string[] | undefined>,
  fn: (span: RequestSpan | undefined) => Promise<void>,
): Promise<void> {
  if (!current) return fn(undefined);
  const parent = propagation.extract(context.active(), headers);
  const span = tracer().startSpan(
    method,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } },
    parent,
  );
  const handle: RequestSpan = {
    route: (template) => {
      span.updateName(`${method} ${template}`);
      span.setAttribute('http.route', template);
    },
    status: (code) => {
      span.setAttribute('http.response.status_code', code);
      if (code >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    },
  };
  try {
    await context.with(trace.setSpan(parent, span), () => fn(handle));
  } catch (err) {
    recordError(span, err);
    throw err;
  } finally {
    span.end();
  }
}
