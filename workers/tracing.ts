// The worker's part of tracing (common/tracing.ts): the OpenTelemetry activity interceptors, the workflow interceptor
// module and the sink that carries the workflow isolate's spans to the process's span processor.
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry/lib/worker';
import type { OpenTelemetryWorkflowExporter } from '@temporalio/interceptors-opentelemetry/lib/workflow';
import type { ActivityInterceptorsFactory, InjectedSink, WorkerInterceptors, WorkerOptions } from '@temporalio/worker';
import type { ProcessTracing } from '../common/tracing';

/**
 * Workflow interceptor modules: give them to bundleWorkflowCode (workflowInterceptorModules) when a test or a
 * deployment builds the bundle itself; the worker adds them when it bundles (workflowsPath) with tracing on.
 */
export const WORKFLOW_INTERCEPTOR_MODULES: string[] = [require.resolve('../workflows/trace-interceptors')];

// A bundle with the interceptor module may run traced starts on a worker with tracing off: their spans are dropped.
const dropSpans: InjectedSink<OpenTelemetryWorkflowExporter> = { export: { fn: () => undefined } };

const otelActivity: ActivityInterceptorsFactory = (ctx) => ({
  inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
  outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
});

/**
 * The worker's interceptors and sinks: `interceptors` as given when tracing is off (`tracing` undefined); with it, the
 * OpenTelemetry activity interceptors first, the workflow module (unless the bundle is prebuilt: it must hold it) and
 * the sink feeding workflow spans to the process's span processor.
 */
export function withTracing(
  tracing: ProcessTracing | undefined,
  interceptors: WorkerInterceptors,
  workflowBundle?: WorkerOptions['workflowBundle'],
): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  if (!tracing) return { interceptors, sinks: { exporter: dropSpans } };
  return {
    interceptors: {
      ...interceptors,
      // First: the RunActivity span is the outermost, so it sees the failure the mapping interceptor makes.
      activity: [otelActivity, ...(interceptors.activity ?? [])],
      ...(workflowBundle
        ? {}
        : { workflowModules: [...(interceptors.workflowModules ?? []), ...WORKFLOW_INTERCEPTOR_MODULES] }),
    },
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}
