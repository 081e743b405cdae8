// `npm run worker`: a long-running worker process for deployments (TEMPORAL_ADDRESS must point at a server).
import { loadConfig } from './config';
import { startWorker } from './worker';
import { installLogging } from './logging';

async function main(): Promise<void> {
  installLogging('info');
  const config = loadConfig();
  const running = await startWorker(config);
  process.stderr.write(`worker ready on task queue "${config.temporal.taskQueue}" at ${config.temporal.address}\n`);
  await running.done;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
