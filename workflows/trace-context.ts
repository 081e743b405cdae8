// The trace a workflow run belongs to: read from the OpenTelemetry header its starter sent (the client interceptor's
// `_tracer-data`), which the start event records, so a replay reads the same id. Set by the interceptors of
// workflows/trace-interceptors.ts; undefined when the run was started without a trace context.
import { defaultPayloadConverter } from '@temporalio/workflow';
import type { Headers } from '@temporalio/workflow';

/** The header @temporalio/interceptors-opentelemetry propagates the W3C trace context in. */
export const TRACE_HEADER = '_tracer-data';

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

// Module state is per workflow run: the SDK gives every run its own module instances.
let runTrace: string | undefined;

/** The trace id in a set of Temporal headers, when they carry a valid W3C trace context. */
export function traceIdFromHeaders(headers: Headers): string | undefined {
  const payload = headers[TRACE_HEADER];
  if (!payload) return undefined;
  let carrier: unknown;
  try {
    carrier = defaultPayloadConverter.fromPayload(payload);
  } catch {
    return undefined;
  }
  const traceparent = (carrier as { traceparent?: unknown } | null)?.traceparent;
  const id = typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent)?.[1] : undefined;
  return id && !/^0+$/.test(id) ? id : undefined;
}

/** Called once, as the run starts, with the headers of its start. */
export function recordRunTrace(headers: Headers): void {
  runTrace = traceIdFromHeaders(headers);
}

/** The trace id of this run's starter, or undefined (tracing off, or not started by a traced client). */
export function runTraceId(): string | undefined {
  return runTrace;
}
