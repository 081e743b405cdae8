// Everything a worker adds for Prometheus, started before its first Temporal connection and stopped with it: the
// /metrics server (GROUNDWORK_METRICS_PORT), the Temporal SDK's exporter behind it, and the review backlog gauge.
import type { Config } from '../common/config';
import { startMetricsServer } from './metrics-server';
import { registerReviewBacklog } from './review-backlog';
import { installTemporalMetrics } from './temporal-metrics';

export interface WorkerMetrics {
  /** The bound port and URL of /metrics; undefined when GROUNDWORK_METRICS_PORT=off. */
  port?: number;
  url?: string;
  /** Whether the Temporal SDK's own series are part of /metrics. */
  temporalSdk: boolean;
  close(): Promise<void>;
}

const warn = (msg: string): void => {
  process.stderr.write(`${JSON.stringify({ level: 'warn', time: new Date().toISOString(), msg })}\n`);
};

export async function startWorkerMetrics(config: Config, log: (msg: string) => void = warn): Promise<WorkerMetrics> {
  if (config.metrics.port === 'off') return { temporalSdk: false, close: async () => undefined };
  // The port first: a port in use fails the start at once, before anything connects.
  const server = await startMetricsServer({ port: config.metrics.port });
  let temporalUrl: string | undefined;
  try {
    temporalUrl = await installTemporalMetrics(log);
  } catch (err) {
    log(`Temporal SDK metrics are off: ${err instanceof Error ? err.message : String(err)}`);
  }
  const unregisterBacklog = registerReviewBacklog(config);
  return {
    port: server.port,
    url: server.url,
    temporalSdk: temporalUrl !== undefined,
    close: async () => {
      await unregisterBacklog();
      await server.close();
    },
  };
}
