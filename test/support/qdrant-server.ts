// A real Qdrant for tests: QDRANT_URL when set, else the server binary beside the repository (../shared/bin/qdrant,
// or GROUNDWORK_QDRANT_BIN) started on free ports with its own storage in a temp folder, telemetry off.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../workers/dev-server';

export const QDRANT_BIN =
  process.env.GROUNDWORK_QDRANT_BIN ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'bin', 'qdrant');

/** Whether a Qdrant can be had at all: configured, or a binary to start. Decided when the test file loads. */
export const qdrantAvailable = (): boolean => Boolean(process.env.QDRANT_URL) || existsSync(QDRANT_BIN);

export interface QdrantServer {
  url: string;
  stop(): Promise<void>;
}

/** The Qdrant binary on these ports with its storage under `dir` (loopback only, telemetry off). */
export function spawnQdrant(dir: string, httpPort: number, grpcPort: number): ChildProcess {
  return spawn(QDRANT_BIN, [], {
    cwd: dir,
    stdio: 'ignore',
    env: {
      ...process.env,
      QDRANT__SERVICE__HOST: '127.0.0.1',
      QDRANT__SERVICE__HTTP_PORT: String(httpPort),
      QDRANT__SERVICE__GRPC_PORT: String(grpcPort),
      QDRANT__STORAGE__STORAGE_PATH: path.join(dir, 'storage'),
      QDRANT__STORAGE__SNAPSHOTS_PATH: path.join(dir, 'snapshots'),
      QDRANT__TELEMETRY_DISABLED: 'true',
    },
  });
}

export async function startQdrant(): Promise<QdrantServer> {
  if (process.env.QDRANT_URL) return { url: process.env.QDRANT_URL, stop: async () => undefined };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'groundwork-qdrant-'));
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const child = spawnQdrant(dir, httpPort, grpcPort);
  const url = `http://127.0.0.1:${httpPort}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url, stop };
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`The Qdrant server at ${QDRANT_BIN} did not become ready.`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
