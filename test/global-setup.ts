// Integration tests share one real Temporal dev server (the official CLI, installed by the project's own
// script when missing), started on free ports and torn down afterwards.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServer } from '../workers/dev-server';
import type { DevServer } from '../workers/dev-server';

export const SERVER_FILE = path.join(os.tmpdir(), `groundwork-test-temporal-${process.pid}.json`);

declare global {
  var __GROUNDWORK_DEV_SERVER__: DevServer | undefined;
}

export default async function globalSetup(): Promise<void> {
  // Workers the tests start (in process or as CLI children) serve /metrics on a free port, never on the shared 9464.
  process.env.GROUNDWORK_METRICS_PORT ??= '0';
  const existing = process.env.GROUNDWORK_TEST_TEMPORAL_ADDRESS;
  if (existing) {
    process.env.GROUNDWORK_TEST_TEMPORAL_ADDRESS = existing;
    return;
  }
  const started = Date.now();
  const server = await startDevServer({ uiPort: null, log: (m) => process.stderr.write(`[temporal] ${m}\n`) });
  globalThis.__GROUNDWORK_DEV_SERVER__ = server;
  process.env.GROUNDWORK_TEST_TEMPORAL_ADDRESS = server.address;
  writeFileSync(SERVER_FILE, JSON.stringify({ address: server.address }));
  process.stderr.write(`\n[temporal] dev server ready at ${server.address} in ${Date.now() - started} ms\n`);
}
