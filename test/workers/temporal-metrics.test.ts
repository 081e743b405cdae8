// How the Temporal Runtime gets its Prometheus exporter (workers/temporal-metrics.ts), over a stand-in Runtime class:
// installed once with the earlier options kept, an idle Runtime replaced, one already in use left alone (logged once).
// The real Runtime is exercised by the metrics integration test (temporal_* series on the worker's /metrics).
interface FakeRuntime {
  options: Record<string, unknown>;
  idle: boolean;
  shutdown: jest.Mock;
  isIdle(): boolean;
}

const Runtime: {
  _instance: FakeRuntime | undefined;
  defaultOptions: Record<string, unknown>;
  install: jest.Mock<FakeRuntime, [Record<string, unknown>]>;
} = {
  _instance: undefined,
  defaultOptions: {},
  install: jest.fn((options: Record<string, unknown>): FakeRuntime => {
    if (Runtime._instance) throw new Error('Runtime singleton has already been installed');
    Runtime.defaultOptions = options;
    Runtime._instance = make(options);
    return Runtime._instance;
  }),
};
function make(options: Record<string, unknown>, idle = true): FakeRuntime {
  const r: FakeRuntime = {
    options,
    idle,
    shutdown: jest.fn(async () => {
      if (Runtime._instance === r) Runtime._instance = undefined;
    }),
    isIdle: () => r.idle,
  };
  return r;
}
jest.mock('@temporalio/worker', () => ({ Runtime }));

// eslint-disable-next-line @typescript-eslint/consistent-type-imports -- loaded after the mock, per test
type Module = typeof import('../../workers/temporal-metrics');
let mod: Module;
beforeEach(() => {
  jest.resetModules();
  Runtime._instance = undefined;
  Runtime.defaultOptions = {};
  Runtime.install.mockClear();
  mod = require('../../workers/temporal-metrics') as Module;
});

const bindAddress = (r: FakeRuntime | undefined): string =>
  (r?.options.telemetryOptions as { metrics: { prometheus: { bindAddress: string } } }).metrics.prometheus.bindAddress;

test('without a Runtime: installs one exporting Prometheus on a local free port, once', async () => {
  const url = await mod.installTemporalMetrics();
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  expect(bindAddress(Runtime._instance)).toBe(new URL(url!).host);
  expect(await mod.installTemporalMetrics()).toBe(url);
  expect(Runtime.install).toHaveBeenCalledTimes(1);
});

test('an idle Runtime (installLogging) is replaced, keeping its options', async () => {
  const logger = { info: () => undefined };
  Runtime.install({ logger });
  const before = Runtime._instance!;
  const url = await mod.installTemporalMetrics();
  expect(url).toBeDefined();
  expect(before.shutdown).toHaveBeenCalled();
  expect(Runtime._instance).not.toBe(before);
  expect(Runtime._instance!.options.logger).toBe(logger);
});

test('a Runtime already in use is left alone: no SDK metrics, one log line, no throw', async () => {
  Runtime._instance = make({}, false);
  const log = jest.fn();
  expect(await mod.installTemporalMetrics(log)).toBeUndefined();
  expect(await mod.installTemporalMetrics(log)).toBeUndefined();
  expect(log).toHaveBeenCalledTimes(1);
  expect(Runtime._instance.shutdown).not.toHaveBeenCalled();
  expect(await mod.temporalMetricsText()).toBe('');
});

test('after the Runtime shut down (its last worker stopped), the next worker installs a new one', async () => {
  const first = await mod.installTemporalMetrics();
  await Runtime._instance!.shutdown();
  expect(await mod.temporalMetricsText()).toBe('');
  const second = await mod.installTemporalMetrics();
  expect(second).toBeDefined();
  expect(Runtime.install).toHaveBeenCalledTimes(2);
  expect(typeof first).toBe('string');
});

test('workers starting together install one Runtime', async () => {
  const urls = await Promise.all([mod.installTemporalMetrics(), mod.installTemporalMetrics()]);
  expect(urls[0]).toBe(urls[1]);
  expect(Runtime.install).toHaveBeenCalledTimes(1);
});
