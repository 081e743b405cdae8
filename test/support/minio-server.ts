// A real MinIO for tests: the pinned server built into .tools/ with `go install` on first use (workers/minio.ts) and
// started on free ports with its own storage in a temp folder. Without Go (and no build yet), test files skip and say so.
import { existsSync } from 'node:fs';
import { MINIO_BIN, goAvailable, installMinio, startMinio } from '../../workers/minio';
import type { MinioServer } from '../../workers/minio';

export type { MinioServer };

/** Why MinIO cannot be had here, or undefined when it can (built already, or Go to build it). Decided at file load. */
export function minioUnavailableReason(): string | undefined {
  if (existsSync(MINIO_BIN) || goAvailable()) return undefined;
  return 'go is not on PATH and the MinIO server is not built yet (.tools/minio); install Go to run these tests';
}

/** The first MinIO build takes minutes (warm Go caches: seconds): the timeout for a beforeAll that starts one. */
export const MINIO_START_TIMEOUT_MS = 20 * 60_000;

/**
 * Builds MinIO if needed and starts it; undefined (with a console.warn saying why) only when Go is absent. With Go
 * present a failed build or start is an error, not a skip: the tests must not pass by silently running nothing.
 */
export async function startTestMinio(): Promise<MinioServer | undefined> {
  const reason = minioUnavailableReason();
  if (reason) {
    console.warn(`[minio] skipped: ${reason}`);
    return undefined;
  }
  const log: string[] = [];
  const binary = installMinio((msg) => log.push(msg));
  if (!binary) throw new Error(`The MinIO server could not be built: ${log.join('; ')}`);
  return startMinio({ binary });
}
