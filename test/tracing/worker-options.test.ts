// The worker's tracing options: nothing but an inert sink when off; with tracing, the OpenTelemetry activity
// interceptors come first (outermost), the workflow module is added unless the bundle is prebuilt, and workflow spans
// reach the process's span processor through the sink.
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { installTestExporter, shutdownTracing } from '../../common/tracing';
import { WORKFLOW_INTERCEPTOR_MODULES, withTracing } from '../../workers/tracing';

const mine: ActivityInterceptorsFactory = () => ({});

afterEach(() => shutdownTracing());

test('without tracing the interceptors are unchanged and workflow spans go nowhere', () => {
  const o = withTracing(undefined, { activity: [mine] });
  expect(o.interceptors).toEqual({ activity: [mine] });
  expect(Object.keys(o.sinks ?? {})).toEqual(['exporter']);
});

test('with tracing the OpenTelemetry interceptors wrap the others and the workflow module is bundled', async () => {
  const exporter = new InMemorySpanExporter();
  const tracing = installTestExporter(exporter);
  const o = withTracing(tracing, { activity: [mine] });
  expect(o.interceptors?.activity).toHaveLength(2);
  expect(o.interceptors?.activity?.[1]).toBe(mine);
  expect(o.interceptors?.workflowModules).toEqual(WORKFLOW_INTERCEPTOR_MODULES);
  expect(WORKFLOW_INTERCEPTOR_MODULES[0]).toMatch(/workflows[\\/]trace-interceptors\.(ts|js)$/);
  // A prebuilt bundle must already hold the module: the worker would ignore workflowModules (with a warning).
  const bundled = withTracing(tracing, { activity: [mine] }, { code: '' });
  expect(bundled.interceptors?.workflowModules).toBeUndefined();

  // A span the workflow isolate hands to the sink reaches the process's exporter.
  const sink = o.sinks?.exporter as unknown as { export: { fn: (info: unknown, spans: unknown[]) => void } };
  sink.export.fn({}, [
    {
      name: 'RunWorkflow:answerQuestion',
      kind: 0,
      spanContext: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 },
      parentSpanId: '00f067aa0ba902b7',
      startTime: [1, 0],
      endTime: [2, 0],
      status: { code: 1 },
      attributes: {},
      links: [],
      events: [],
      duration: [1, 0],
      ended: true,
      droppedAttributesCount: 0,
      droppedLinksCount: 0,
      droppedEventsCount: 0,
      instrumentationLibrary: { name: '@temporalio/interceptor-workflow' },
    },
  ]);
  const [span] = exporter.getFinishedSpans();
  expect(span?.name).toBe('RunWorkflow:answerQuestion');
  expect(span?.parentSpanId).toBe('00f067aa0ba902b7');
});
