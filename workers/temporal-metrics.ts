// The Temporal SDK's own metrics (workflow task latency, polls, slots…) in the worker's /metrics: the Temporal
// Runtime exports them with its Prometheus exporter on 127.0.0.1:<a free port>, and each scrape appends that text to
// the registry's. The Runtime is process-wide and takes its telemetry options only when it is created, so it is
// (re)installed here before the worker's first NativeConnection. A Runtime created elsewhere (installLogging) is
// replaced while nothing uses it yet, keeping its options (the logger); one already in use is left alone and the SDK
// series are then missing from /metrics (logged once).
import net from 'node:net';
import { Runtime } from '@temporalio/worker';
import type { RuntimeOptions } from '@temporalio/worker';
import { addMetricsSource } from '../common/metrics';

interface Installed {
  runtime: Runtime;
  url: string;
}

let installed: Installed | undefined;
let queue: Promise<unknown> = Promise.resolve();
let warned = false;
const SCRAPE_TIMEOUT_MS = 2_000;

/** A port free right now on 127.0.0.1. */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** The Runtime's protected idle check: no connection or worker registered, none being created. */
function isIdle(runtime: Runtime): boolean {
  return (runtime as unknown as { isIdle(): boolean }).isIdle();
}

async function install(log: (msg: string) => void): Promise<string | undefined> {
  const current = Runtime._instance;
  if (installed && current === installed.runtime) return installed.url;
  if (current) {
    if (!isIdle(current)) {
      if (!warned) log('Temporal SDK metrics are off: the Temporal runtime was created in use before the worker.');
      warned = true;
      return undefined;
    }
    await current.shutdown();
  }
  const port = await freeLocalPort();
  // The options of the last install (e.g. installLogging's logger), with the Prometheus exporter added.
  const base: RuntimeOptions = Runtime.defaultOptions ?? {};
  const runtime = Runtime.install({
    ...base,
    telemetryOptions: {
      ...base.telemetryOptions,
      metrics: {
        prometheus: { bindAddress: `127.0.0.1:${port}`, useSecondsForDurations: true, countersTotalSuffix: true },
      },
    },
  });
  installed = { runtime, url: `http://127.0.0.1:${port}/metrics` };
  return installed.url;
}

/**
 * Makes sure the Runtime exports the SDK's metrics; call before the first NativeConnection. Returns the exporter's
 * local URL, or undefined when the Runtime was already in use. Calls are serialised (workers starting together).
 */
export function installTemporalMetrics(log: (msg: string) => void = () => undefined): Promise<string | undefined> {
  const next = queue.then(() => install(log));
  queue = next.catch(() => undefined);
  return next;
}

/** The SDK's exposition text, while the Runtime that exports it is the current one; '' otherwise. */
export async function temporalMetricsText(): Promise<string> {
  const current = installed;
  if (!current || Runtime._instance !== current.runtime) return '';
  const res = await fetch(current.url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
  if (!res.ok) return '';
  return res.text();
}

addMetricsSource(temporalMetricsText);
