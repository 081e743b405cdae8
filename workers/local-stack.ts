// Everything a laptop needs in one call: a reachable Temporal (existing, or a dev server we start) and a worker.
import path from 'node:path';
import type { Config } from '../common/config';
import { isTemporalReachable, startDevServer } from './dev-server';
import type { DevServer } from './dev-server';
import { startWorker } from './worker';
import type { RunningWorker } from './worker';

export interface LocalStackOptions {
  port?: number;
  uiPort?: number;
  /** Keep the dev server's state in <dataDir>/temporal/dev.db across restarts. */
  persist?: boolean;
  log?: (msg: string) => void;
}

export interface LocalStack {
  config: Config;
  uiUrl?: string;
  startedServer: boolean;
  /** The process id of the dev server this stack started (for CPU figures in benchmarks). */
  serverPid?: number;
  worker: RunningWorker;
  stop(): Promise<void>;
}

export async function startLocalStack(config: Config, options: LocalStackOptions = {}): Promise<LocalStack> {
  const log = options.log ?? (() => undefined);
  let server: DevServer | undefined;
  let address = config.temporal.address;
  let uiUrl = config.temporal.uiUrl;
  if (address) {
    if (!(await isTemporalReachable(address)))
      throw new Error('TEMPORAL_ADDRESS is set but no Temporal server answers there.');
  } else {
    const wanted = `127.0.0.1:${options.port ?? 7233}`;
    if (options.port && (await isTemporalReachable(wanted, 1500))) {
      address = wanted;
      log(`using the Temporal server already running at ${wanted}`);
    } else {
      log('starting the Temporal dev server …');
      server = await startDevServer({
        port: options.port,
        uiPort: options.uiPort,
        dbFile: options.persist ? path.join(config.dataDir, 'temporal', 'dev.db') : undefined,
        logFile: path.join(config.dataDir, 'temporal', 'server.log'),
        cliPath: config.temporal.cliPath,
        log,
      });
      address = server.address;
      uiUrl = server.uiUrl;
    }
  }
  const effective: Config = { ...config, temporal: { ...config.temporal, address, uiUrl } };
  let worker: RunningWorker;
  try {
    worker = await startWorker(effective);
  } catch (err) {
    await server?.stop();
    throw err;
  }
  return {
    config: effective,
    uiUrl,
    startedServer: server !== undefined,
    ...(server ? { serverPid: server.pid } : {}),
    worker,
    stop: async () => {
      await worker.shutdown();
      await server?.stop();
    },
  };
}
