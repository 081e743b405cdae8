// The workflow interceptor module (WorkerOptions.interceptors.workflowModules, or bundleWorkflowCode's
// workflowInterceptorModules): records the run's trace id (trace-context.ts) and traces the run with the
// @temporalio/interceptors-opentelemetry interceptors, but only when its starter propagated a trace context. An
// untraced start (tracing off in the client, a Schedule) costs nothing here but the header look-up.
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
import type { Headers, WorkflowInterceptors } from '@temporalio/workflow';
import { recordRunTrace, runTraceId, traceIdFromHeaders } from './trace-context';

export const interceptors = (): WorkflowInterceptors => {
  // Made on first use: constructing them sets up the isolate's tracer, which an untraced run does not need.
  let otel:
    | {
        inbound: OpenTelemetryInboundInterceptor;
        outbound: OpenTelemetryOutboundInterceptor;
        internals: OpenTelemetryInternalsInterceptor;
      }
    | undefined;
  const tracing = () =>
    (otel ??= {
      inbound: new OpenTelemetryInboundInterceptor(),
      outbound: new OpenTelemetryOutboundInterceptor(),
      internals: new OpenTelemetryInternalsInterceptor(),
    });
  // The run is traced when its start carried a trace context; its activities and children then carry it on.
  const traced = () => runTraceId() !== undefined;
  // A message (signal, update) is traced when it carries a valid trace context of its own.
  const carries = (headers: Headers) => traceIdFromHeaders(headers) !== undefined;

  return {
    inbound: [
      {
        execute: (input, next) => {
          recordRunTrace(input.headers);
          return traced() ? tracing().inbound.execute(input, next) : next(input);
        },
        handleSignal: (input, next) =>
          carries(input.headers) ? tracing().inbound.handleSignal(input, next) : next(input),
        handleUpdate: (input, next) =>
          carries(input.headers) ? tracing().inbound.handleUpdate(input, next) : next(input),
        validateUpdate: (input, next) =>
          carries(input.headers) ? tracing().inbound.validateUpdate(input, next) : next(input),
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => (traced() ? tracing().outbound.scheduleActivity(input, next) : next(input)),
        scheduleLocalActivity: (input, next) =>
          traced() ? tracing().outbound.scheduleLocalActivity(input, next) : next(input),
        startChildWorkflowExecution: (input, next) =>
          traced() ? tracing().outbound.startChildWorkflowExecution(input, next) : next(input),
        continueAsNew: (input, next) => (traced() ? tracing().outbound.continueAsNew(input, next) : next(input)),
        signalWorkflow: (input, next) => (traced() ? tracing().outbound.signalWorkflow(input, next) : next(input)),
        getLogAttributes: (input, next) => (traced() ? tracing().outbound.getLogAttributes(input, next) : next(input)),
      },
    ],
    internals: [{ dispose: (input, next) => (otel ? otel.internals.dispose(input, next) : next(input)) }],
  };
};
